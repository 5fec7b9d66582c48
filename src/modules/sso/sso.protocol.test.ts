import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as client from 'openid-client'
import { systemActor } from '../../shared/actor.js'
import { setClock } from '../../shared/clock.js'
import { actorOf, company, reload, TEST_PASSWORD, user, type UserInput } from '../../../test/factories.js'
import { deskMarket, marketAdmin } from '../../../test/desk-factories.js'
import { csrfFrom, testBrowser, useTestApp, type Browser } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'
import { accountState, auditActions, confirmSignOut, discover, follow, setAccount, startAuthorization, storedSubjects } from '../../../test/oidc.js'

const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url }) })
const app = () => testApp().app
const publicUrl = () => testApp().config.publicUrl
const redirectUri = 'http://localhost:3911/callback'
const postLogoutUri = 'http://localhost:3911/'

/** A workshop account of a market of its own (password TEST_PASSWORD). */
async function partnerAccount(input: UserInput = {}) {
  const market = await deskMarket(testApp())
  return user(testApp(), { company: await company(testApp(), { market }), ...input })
}

async function addClient(kind: 'web' | 'public' | 'machine', realm = 'partner', firstParty = true) {
  return app().services.sso.addClient(systemActor('test'), {
    realm, name: `Workshop ${kind}`, kind, firstParty, redirectUris: kind === 'machine' ? [] : [redirectUri], postLogoutRedirectUris: [postLogoutUri],
  })
}

/** The OAuth error code of a failed grant, whether in the body or in a WWW-Authenticate challenge. */
function isOAuthError(code: string) {
  return (error: unknown) => {
    if (error instanceof client.ResponseBodyError) return error.error === code
    if (error instanceof client.WWWAuthenticateChallengeError) return error.cause.some((c) => c.parameters.error === code)
    return false
  }
}

/** Signs in on the portal's own form when the flow asks for it, and returns the app's callback URL. */
async function signInThroughApp(browser: Browser, start: URL, userId: string, password = TEST_PASSWORD): Promise<{ callback?: URL; status: number; body: string }> {
  let step = await follow(browser, start.href, publicUrl())
  if (!step.leftFor && step.path.includes('/login')) {
    const res = await browser.post(step.path.split('?')[0] ?? '', { identifier: userId, password, next: new URL(step.path, publicUrl()).searchParams.get('next') ?? '' }, { fromPage: step.path })
    if (res.statusCode !== 303 || typeof res.headers.location !== 'string') return { status: res.statusCode, body: res.body }
    step = await follow(browser, res.headers.location, publicUrl())
  }
  return step.leftFor ? { callback: new URL(step.leftFor), status: step.status, body: step.body } : { status: step.status, body: step.body }
}

async function codeFlow(userId: string, options: { realm?: string; kind?: 'web' | 'public'; browser?: Browser } = {}) {
  const realm = options.realm ?? 'partner'
  const { client: row, secret } = await addClient(options.kind ?? 'web', realm)
  const issuer = realm === 'partner' ? publicUrl() : `${publicUrl()}/realms/${realm}`
  const config = await discover(app, issuer, row.clientId, secret ?? undefined)
  const auth = await startAuthorization(config, { redirect_uri: redirectUri })
  const browser = options.browser ?? testBrowser(app)
  const result = await signInThroughApp(browser, auth.url, userId)
  assert.ok(result.callback, `the flow returns to the app (${String(result.status)}): ${result.body.slice(0, 300)}`)
  const tokens = await client.authorizationCodeGrant(config, result.callback, { pkceCodeVerifier: auth.verifier, expectedState: auth.state })
  return { config, tokens, browser, callback: result.callback, auth }
}

describe('OpenID Connect provider', () => {
  test('discovery per realm names its issuer, PKCE S256 and published signing keys', async () => {
    const partner = (await app().inject({ url: '/.well-known/openid-configuration' })).json<Record<string, unknown>>()
    assert.equal(partner.issuer, publicUrl())
    assert.equal(partner.authorization_endpoint, `${publicUrl()}/oidc/auth`)
    assert.deepEqual(partner.code_challenge_methods_supported, ['S256'])
    assert.ok((partner.grant_types_supported as string[]).includes('client_credentials'))
    assert.ok((partner.grant_types_supported as string[]).includes('refresh_token'))
    assert.ok(typeof partner.end_session_endpoint === 'string')
    const shop = (await app().inject({ url: '/realms/shop/.well-known/openid-configuration' })).json<Record<string, unknown>>()
    assert.equal(shop.issuer, `${publicUrl()}/realms/shop`)
    assert.equal(shop.token_endpoint, `${publicUrl()}/realms/shop/oidc/token`)
    const jwks = (await app().inject({ url: '/oidc/jwks' })).json<{ keys: ({ kid: string; d?: string; alg: string } | undefined)[] }>()
    assert.equal(jwks.keys.length, 1)
    assert.equal(jwks.keys[0]?.alg, 'RS256')
    assert.ok(jwks.keys.every((k) => k !== undefined && !('d' in k)), 'no private key material is published')
  })

  test('code flow with PKCE signs in through the portal form and returns the claims', async () => {
    const italy = await deskMarket(testApp())
    const rossi = await company(testApp(), { market: italy, name: 'Autofficina Rossi S.r.l.' })
    const mario = await user(testApp(), { firstName: 'Mario', lastName: 'Rossi', locale: 'it', company: rossi })
    const { tokens, config } = await codeFlow(mario.userId)
    const claims = tokens.claims()
    assert.ok(claims)
    assert.match(claims.sub, /^[0-9a-f-]{36}$/, 'the subject is a random identifier, not the user ID')
    assert.notEqual(claims.sub, mario.userId)
    assert.equal(claims.name, 'Mario Rossi')
    assert.equal(claims.email, mario.email)
    assert.equal(claims.email_verified, true)
    assert.equal(claims.locale, 'it')
    assert.deepEqual(claims.company, { number: rossi.companyNumber, name: 'Autofficina Rossi S.r.l.' })
    assert.equal(claims.market, italy.code)
    assert.deepEqual(claims.roles, ['user'])
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
    assert.equal(info.email, mario.email)
    assert.ok((await storedSubjects(testApp().database)).includes(claims.sub))

    // A second app of the realm signs in without asking again (single sign-on), with the same subject.
    const { browser } = await codeFlow(mario.userId)
    const sso = await addClient('public')
    const publicConfig = await discover(app, publicUrl(), sso.client.clientId)
    const again = await startAuthorization(publicConfig, { redirect_uri: redirectUri })
    const silent = await follow(browser, again.url.href, publicUrl())
    assert.ok(silent.leftFor, 'no sign-in page the second time')
    const second = await client.authorizationCodeGrant(publicConfig, new URL(silent.leftFor), { pkceCodeVerifier: again.verifier, expectedState: again.state })
    assert.equal(second.claims()?.sub, claims.sub)

    // prompt=login asks for the password again, even with a portal session.
    const fresh = await startAuthorization(publicConfig, { redirect_uri: redirectUri, prompt: 'login' })
    const asked = await follow(browser, fresh.url.href, publicUrl())
    assert.equal(asked.leftFor, undefined)
    assert.match(asked.path, /^\/(it|en)\/login\?next=/)
    const signedIn = await signInThroughApp(browser, fresh.url, mario.userId)
    assert.ok(signedIn.callback)
    const third = await client.authorizationCodeGrant(publicConfig, signedIn.callback, { pkceCodeVerifier: fresh.verifier, expectedState: fresh.state })
    assert.equal(third.claims()?.sub, claims.sub)
  })

  test('refresh tokens rotate: the new one works, the old one is refused and ends the grant', async () => {
    const { config, tokens } = await codeFlow((await partnerAccount()).userId)
    assert.ok(tokens.refresh_token, 'a refresh token is issued')
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
    assert.ok(refreshed.refresh_token)
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token)
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), isOAuthError('invalid_grant'))
    // Reusing a rotated token is treated as theft: the whole grant, the newer token included, dies.
    await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), isOAuthError('invalid_grant'))
    await assert.rejects(client.refreshTokenGrant(config, 'not-a-token'), isOAuthError('invalid_grant'))
  })

  test('a token issued to an app counts as activity and brings a warned account back to active', async () => {
    const { database } = testApp()
    const james = await partnerAccount()
    const { config, tokens } = await codeFlow(james.userId)
    assert.ok(tokens.refresh_token)
    const later = new Date(Date.now() + 140 * 24 * 3600 * 1000)
    await setAccount(database, james.userId, { status: 'block_warned', lastActivityAt: new Date(Date.now() - 160 * 24 * 3600 * 1000) })
    const restore = setClock(later)
    try {
      await client.refreshTokenGrant(config, tokens.refresh_token)
    } finally {
      restore()
    }
    const state = await accountState(database, james.userId)
    assert.equal(state.status, 'active')
    assert.equal(state.lastActivityAt?.toISOString(), later.toISOString())
  })

  test('client_credentials gives a machine client a token; a wrong secret or unknown client gets invalid_client', async () => {
    const { client: row, secret } = await addClient('machine')
    assert.ok(secret)
    const config = await discover(app, publicUrl(), row.clientId, secret)
    const tokens = await client.clientCredentialsGrant(config)
    assert.ok(tokens.access_token)
    assert.equal(tokens.token_type.toLowerCase(), 'bearer')
    assert.equal(tokens.id_token, undefined)
    const wrong = await discover(app, publicUrl(), row.clientId, `${secret}x`)
    await assert.rejects(client.clientCredentialsGrant(wrong), isOAuthError('invalid_client'))
    const unknown = await discover(app, publicUrl(), 'no-such-client', secret)
    await assert.rejects(client.clientCredentialsGrant(unknown), isOAuthError('invalid_client'))
    // The secret is stored only as its hash.
    const stored = await app().services.sso.listClients(systemActor('test'))
    assert.ok(stored.every((c) => c.secretHash !== secret))
    // A web client cannot use the machine grant.
    const web = await addClient('web')
    const webConfig = await discover(app, publicUrl(), web.client.clientId, web.secret ?? '')
    await assert.rejects(client.clientCredentialsGrant(webConfig), isOAuthError('invalid_request'))
  })

  test('bad requests get the errors the specification names, and nothing is issued', async () => {
    const { client: row, secret } = await addClient('web')
    const config = await discover(app, publicUrl(), row.clientId, secret ?? '')
    const browser = testBrowser(app)
    // Unknown client and unregistered redirect URI: never redirected, an error page in the user's language.
    const unknown = await browser.get(`/oidc/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(redirectUri)}`)
    assert.equal(unknown.statusCode, 400)
    assert.match(unknown.body, /invalid_client/)
    assert.equal(unknown.headers.location, undefined)
    const wrongUri = await browser.get(`/oidc/auth?client_id=${row.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&code_challenge=abc&code_challenge_method=S256`)
    assert.equal(wrongUri.statusCode, 400)
    assert.match(wrongUri.body, /redirect_uri_mismatch|invalid_redirect_uri/)
    assert.equal(wrongUri.headers.location, undefined)
    const german = await testBrowser(app).get(`/oidc/auth?client_id=nobody&response_type=code&scope=openid&ui_locales=de`)
    assert.ok(german.statusCode >= 400 && german.statusCode < 500)
    // Missing PKCE: back to the app with invalid_request.
    const noPkce = await browser.get(`/oidc/auth?client_id=${row.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(redirectUri)}&state=s1`)
    assert.equal(noPkce.statusCode, 303)
    const back = new URL(String(noPkce.headers.location))
    assert.equal(back.origin + back.pathname, redirectUri)
    assert.equal(back.searchParams.get('error'), 'invalid_request')
    assert.match(back.searchParams.get('error_description') ?? '', /PKCE/)
    // Replayed code: the second exchange fails, and the tokens of the first die with it.
    const account = await partnerAccount()
    const auth = await startAuthorization(config, { redirect_uri: redirectUri })
    const result = await signInThroughApp(testBrowser(app), auth.url, account.userId)
    assert.ok(result.callback)
    const tokens = await client.authorizationCodeGrant(config, result.callback, { pkceCodeVerifier: auth.verifier, expectedState: auth.state })
    await assert.rejects(client.authorizationCodeGrant(config, result.callback, { pkceCodeVerifier: auth.verifier, expectedState: auth.state }), isOAuthError('invalid_grant'))
    assert.ok(tokens.refresh_token)
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), isOAuthError('invalid_grant'))
    // A wrong PKCE verifier.
    const auth2 = await startAuthorization(config, { redirect_uri: redirectUri })
    const result2 = await signInThroughApp(testBrowser(app), auth2.url, account.userId)
    assert.ok(result2.callback)
    await assert.rejects(client.authorizationCodeGrant(config, result2.callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: auth2.state }), isOAuthError('invalid_grant'))
    // A tampered ID token is refused as a logout hint.
    const idToken = tokens.id_token ?? ''
    const [header = '', payload = '', signature = ''] = idToken.split('.')
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()) as object, sub: 'someone-else' })).toString('base64url')
    const tampered = await testBrowser(app).get(`/oidc/session/end?id_token_hint=${header}.${forged}.${signature}&client_id=${row.clientId}`)
    assert.equal(tampered.statusCode, 400)
    assert.match(tampered.body, /invalid_request/)
    // A token endpoint call without a grant type, and hostile JSON.
    const noGrant = await app().inject({ method: 'POST', url: '/oidc/token', headers: { authorization: `Basic ${Buffer.from(`${row.clientId}:${secret ?? ''}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'x=1' })
    assert.equal(noGrant.statusCode, 400)
    assert.equal(noGrant.json<{ error: string }>().error, 'invalid_request')
    const junk = await app().inject({ method: 'POST', url: '/oidc/token', headers: { 'content-type': 'application/json' }, payload: '{"grant_type":' })
    assert.ok(junk.statusCode >= 400 && junk.statusCode < 500)
    const huge = await app().inject({ method: 'POST', url: '/oidc/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `grant_type=client_credentials&x=${'a'.repeat(300_000)}` })
    assert.equal(huge.statusCode, 400)
    assert.equal(huge.json<{ error: string }>().error, 'invalid_request')
  })

  test('a blocked account gets no tokens: not at sign-in, not by refresh', async () => {
    const { database } = testApp()
    const giulia = await partnerAccount()
    const { config, tokens } = await codeFlow(giulia.userId)
    assert.ok(tokens.refresh_token)
    await setAccount(database, giulia.userId, { status: 'blocked' })
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), isOAuthError('invalid_grant'))
    const auth = await startAuthorization(config, { redirect_uri: redirectUri })
    const result = await signInThroughApp(testBrowser(app), auth.url, giulia.userId)
    assert.equal(result.callback, undefined, 'no way back to the app with a code')
    assert.equal(result.status, 403)
    assert.match(result.body, /blocc|block/i)
  })

  test('an account still waiting for approval signs in but the app gets access_denied, no code', async () => {
    const waiting = await partnerAccount({ firstName: 'Wera', lastName: 'Warte', locale: 'de', status: 'pending_approval' })
    const { client: row, secret } = await addClient('web')
    const config = await discover(app, publicUrl(), row.clientId, secret ?? '')
    const auth = await startAuthorization(config, { redirect_uri: redirectUri })
    const result = await signInThroughApp(testBrowser(app), auth.url, waiting.userId)
    assert.ok(result.callback)
    assert.equal(result.callback.searchParams.get('error'), 'access_denied')
    assert.equal(result.callback.searchParams.get('code'), null)
  })

  test('a wrong password through an app gets the portal\'s generic answer and counts toward the lockout', async () => {
    const { client: row, secret } = await addClient('web')
    const config = await discover(app, publicUrl(), row.clientId, secret ?? '')
    const auth = await startAuthorization(config, { redirect_uri: redirectUri })
    const admin = await marketAdmin(testApp(), await deskMarket(testApp()))
    // Nine wrong passwords on the portal's own form, the tenth through the app: the account is paused.
    for (let i = 0; i < 9; i++) assert.equal((await testBrowser(app).post('/en/login', { identifier: admin.userId, password: 'wrong password here' })).statusCode, 401)
    assert.equal((await reload(testApp(), admin)).lockedUntil, null, 'nine failures do not lock')
    const result = await signInThroughApp(testBrowser(app), auth.url, admin.userId, 'wrong password here')
    assert.equal(result.callback, undefined)
    assert.equal(result.status, 401)
    assert.ok(((await reload(testApp(), admin)).lockedUntil ?? new Date(0)) > new Date(), 'the failure through the app counted toward the lockout')
    const unknown = await signInThroughApp(testBrowser(app), auth.url, 'nobody-at-all', 'wrong password here')
    assert.equal(unknown.status, 401)
  })

  test('first sign-in through an app asks for a verified email, then returns to the app', async () => {
    const { app: fastify } = testApp()
    const nina = await partnerAccount({ firstName: 'Nina', lastName: 'Neri', email: null, emailVerified: false, locale: 'it' })
    const { client: row, secret } = await addClient('web')
    const config = await discover(app, publicUrl(), row.clientId, secret ?? '')
    const auth = await startAuthorization(config, { redirect_uri: redirectUri })
    const browser = testBrowser(app)
    const first = await signInThroughApp(browser, auth.url, nina.userId)
    assert.equal(first.callback, undefined, 'no code before the email is verified')
    assert.match(first.body, /name="next" value="\/oidc\/interaction\/[\w-]+"/)
    const emailPage = /name="next" value="([^"]+)"/.exec(first.body)?.[1] ?? ''
    const sent = await browser.post('/it/account/email', { email: 'nina.neri@officina-neri.example', next: emailPage }, { fromPage: `/it/account/email?next=${encodeURIComponent(emailPage)}` })
    assert.equal(sent.statusCode, 303)
    await fastify.mailer.drain()
    const code = /\b(\d{6})\b/.exec(mailbox().to('nina.neri@officina-neri.example').at(-1)?.text ?? '')?.[1] ?? ''
    const verified = await browser.post('/it/account/email/code', { code, next: emailPage }, { fromPage: String(sent.headers.location) })
    assert.equal(verified.statusCode, 303)
    assert.equal(verified.headers.location, emailPage)
    const back = await follow(browser, emailPage, publicUrl())
    assert.ok(back.leftFor)
    const tokens = await client.authorizationCodeGrant(config, new URL(back.leftFor), { pkceCodeVerifier: auth.verifier, expectedState: auth.state })
    assert.equal(tokens.claims()?.email, 'nina.neri@officina-neri.example')
    assert.equal(tokens.claims()?.email_verified, true)
  })

  test('a third-party app asks for consent once; refusing sends access_denied', async () => {
    const { client: row, secret } = await app().services.sso.addClient(systemActor('test'), { realm: 'partner', name: 'Officina Tools <b>', kind: 'web', firstParty: false, redirectUris: [redirectUri], postLogoutRedirectUris: [] })
    const config = await discover(app, publicUrl(), row.clientId, secret ?? '')
    const browser = testBrowser(app)
    const auth = await startAuthorization(config, { redirect_uri: redirectUri })
    const consent = await signInThroughApp(browser, auth.url, (await partnerAccount({ locale: 'de' })).userId)
    assert.equal(consent.callback, undefined)
    assert.match(consent.body, /Officina Tools &lt;b>/)
    assert.match(consent.body, /Ihre E-Mail-Adresse|your email address|il tuo indirizzo email/)
    const action = /action="([^"]+\/consent)"/.exec(consent.body)?.[1] ?? ''
    const denied = await browser.post(action, { decision: 'deny', _csrf: csrfFrom(consent.body) }, { csrf: false })
    assert.equal(denied.statusCode, 200)
    const deniedStep = await follow(browser, /url=([^"]+)"/.exec(denied.body)?.[1]?.replaceAll('&amp;', '&') ?? '', publicUrl())
    assert.equal(new URL(deniedStep.leftFor ?? 'http://x/').searchParams.get('error'), 'access_denied')

    const auth2 = await startAuthorization(config, { redirect_uri: redirectUri })
    const step = await follow(browser, auth2.url.href, publicUrl())
    const action2 = /action="([^"]+\/consent)"/.exec(step.body)?.[1] ?? ''
    assert.ok(action2, `consent asked again after a refusal: ${String(step.status)} ${step.leftFor ?? ''} ${step.body.slice(-1200)}`)
    const allowed = await browser.post(action2, { decision: 'allow', _csrf: csrfFrom(step.body) }, { csrf: false })
    const done = await follow(browser, /url=([^"]+)"/.exec(allowed.body)?.[1]?.replaceAll('&amp;', '&') ?? '', publicUrl())
    assert.ok(done.leftFor)
    await client.authorizationCodeGrant(config, new URL(done.leftFor), { pkceCodeVerifier: auth2.verifier, expectedState: auth2.state })
    // Consent is remembered.
    const auth3 = await startAuthorization(config, { redirect_uri: redirectUri })
    assert.ok((await follow(browser, auth3.url.href, publicUrl())).leftFor)
    // Without a CSRF token the consent form is refused.
    const other = testBrowser(app)
    const auth4 = await startAuthorization(config, { redirect_uri: redirectUri })
    const step4 = await signInThroughApp(other, auth4.url, (await partnerAccount()).userId)
    const action4 = /action="([^"]+\/consent)"/.exec(step4.body)?.[1] ?? ''
    assert.ok(action4, 'another account is asked for its own consent')
    assert.equal((await other.post(action4, { decision: 'allow' }, { csrf: false })).statusCode, 403)
  })

  test('RP-initiated logout ends the portal session and the app\'s refresh token', async () => {
    const { config, tokens, browser } = await codeFlow((await partnerAccount({ locale: 'it' })).userId)
    assert.ok(tokens.refresh_token)
    const end = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? '', post_logout_redirect_uri: postLogoutUri })
    const page = await browser.get(`${end.pathname}${end.search}`)
    assert.equal(page.statusCode, 200)
    assert.match(String(page.headers['content-security-policy']), /form-action 'self' http:\/\/localhost:3911/)
    const res = await confirmSignOut(app, browser, page.body)
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, postLogoutUri)
    const account = await app().inject({ url: '/it/account', headers: { cookie: Object.entries(browser.jar).map(([k, v]) => `${k}=${v}`).join('; ') } })
    assert.equal(account.statusCode, 303, 'signed out of the portal too')
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), isOAuthError('invalid_grant'))
  })

  test('signing keys rotate: the new key signs, the previous one stays published, older ones are retired', async () => {
    const { sso } = app().services
    const before = await sso.signingKeys()
    const first = await sso.rotateKeys(systemActor('test'))
    const second = await sso.rotateKeys(systemActor('test'))
    assert.deepEqual(second.published, [second.kid, first.kid])
    const keys = await sso.signingKeys()
    assert.deepEqual(keys.map((k) => k.kid), [second.kid, first.kid])
    assert.ok(!keys.some((k) => k.kid === before[0]?.kid), 'the oldest key is retired')
    await assert.rejects(sso.rotateKeys({ kind: 'guest' }), { code: 'FORBIDDEN_SCOPE' })
    assert.ok((await auditActions(testApp().database, 'sso.')).filter((a) => a === 'sso.keys_rotated').length >= 2, 'rotations are audited')

    // The running server notices within 10 seconds, publishes both keys and signs with the new one.
    const restore = setClock(new Date(Date.now() + 11_000))
    try {
      let published: string[] = []
      for (let i = 0; i < 50 && published.length !== 2; i++) {
        published = (await app().inject({ url: '/oidc/jwks' })).json<{ keys: { kid: string }[] }>().keys.map((k) => k.kid)
        await new Promise((r) => setTimeout(r, 20))
      }
      assert.deepEqual(published, [second.kid, first.kid])
    } finally {
      restore()
    }
    const { tokens } = await codeFlow((await partnerAccount()).userId)
    const header = JSON.parse(Buffer.from((tokens.id_token ?? '').split('.')[0] ?? '', 'base64url').toString()) as { kid: string; alg: string }
    assert.equal(header.kid, second.kid)
    assert.equal(header.alg, 'RS256')
  })

  test('clients: platform administrators only; redirect URIs are checked', async () => {
    const { sso } = app().services
    const admin = await actorOf(testApp(), await marketAdmin(testApp(), await deskMarket(testApp())))
    await assert.rejects(sso.addClient(admin, { realm: 'partner', name: 'X', kind: 'web', firstParty: true, redirectUris: [redirectUri], postLogoutRedirectUris: [] }), { code: 'FORBIDDEN_SCOPE' })
    await assert.rejects(sso.listClients(admin), { code: 'FORBIDDEN_SCOPE' })
    for (const uri of ['javascript:alert(1)', 'http://example.com/cb', 'https://app.example/cb#x', 'not a url', 'https://user:pw@app.example/cb']) {
      await assert.rejects(sso.addClient(systemActor('test'), { realm: 'partner', name: 'X', kind: 'web', firstParty: true, redirectUris: [uri], postLogoutRedirectUris: [] }), { code: 'SSO_REDIRECT_URI_INVALID' }, uri)
    }
    await assert.rejects(sso.addClient(systemActor('test'), { realm: 'nowhere', name: 'X', kind: 'web', firstParty: true, redirectUris: [redirectUri], postLogoutRedirectUris: [] }), { code: 'INVALID_INPUT' })
    const { client: row } = await addClient('public')
    await sso.removeClient(systemActor('test'), row.clientId)
    await assert.rejects(sso.removeClient(systemActor('test'), row.clientId), { code: 'SSO_CLIENT_NOT_FOUND' })
    const audited = await auditActions(testApp().database, 'sso.client_')
    assert.ok(audited.includes('sso.client_added') && audited.includes('sso.client_removed'), 'administrative changes are audited')
    const gone = await testBrowser(app).get(`/oidc/auth?client_id=${row.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(redirectUri)}`)
    assert.equal(gone.statusCode, 400)
  })

  test('the shop realm has its own provider: a partner session does not sign in to a shop app', async () => {
    const browser = testBrowser(app)
    const partner = await partnerAccount({ firstName: 'Mario', lastName: 'Rossi' })
    const shopper = await user(testApp(), { realm: 'shop', firstName: 'Mario', lastName: 'Rossi', email: partner.email, company: null })
    await codeFlow(partner.userId, { browser })
    const shopApp = await addClient('web', 'shop')
    const shopConfig = await discover(app, `${publicUrl()}/realms/shop`, shopApp.client.clientId, shopApp.secret ?? undefined)
    const asked = await follow(browser, (await startAuthorization(shopConfig, { redirect_uri: redirectUri })).url.href, publicUrl())
    assert.equal(asked.leftFor, undefined, 'the partner session gives the shop app no code')
    assert.match(asked.path, /\/login\?next=/, 'the shop asks for its own sign-in')
    const shop = await codeFlow(shopper.userId, { realm: 'shop', browser })
    const claims = shop.tokens.claims()
    assert.ok(claims)
    assert.equal(claims.iss, `${publicUrl()}/realms/shop`)
  })

  test('introspection and revocation answer only the token\'s own client; a deactivated account\'s token is not active', async () => {
    const { database } = testApp()
    const person = await partnerAccount()
    const { config, tokens } = await codeFlow(person.userId)
    const { client: other, secret: otherSecret } = await addClient('web')
    const otherConfig = await discover(app, publicUrl(), other.clientId, otherSecret ?? undefined)
    const own = await client.tokenIntrospection(config, tokens.access_token)
    assert.equal(own.active, true, 'the own client sees its token')
    const foreign = await client.tokenIntrospection(otherConfig, tokens.access_token)
    assert.equal(foreign.active, false, 'another client learns nothing')
    assert.equal(foreign.sub, undefined)
    assert.equal(foreign.scope, undefined)
    assert.ok(tokens.refresh_token)
    await client.tokenRevocation(otherConfig, tokens.refresh_token).catch(() => undefined)
    assert.ok((await client.refreshTokenGrant(config, tokens.refresh_token)).access_token, 'another client cannot revoke it')
    const fresh = await codeFlow(person.userId)
    await setAccount(database, person.userId, { status: 'deactivated' })
    const dead = await client.tokenIntrospection(fresh.config, fresh.tokens.access_token)
    assert.equal(dead.active, false, 'a deactivated account\'s token is not active')
  })

})
