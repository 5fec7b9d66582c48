/**
 * How a person signed in, told to connected apps (issue 17): ID tokens carry `acr` and `amr`
 * (RFC 8176), and an app that asks `acr_values` for a second factor gets one — the second step now
 * for a session that used only a password (step-up), or an OIDC error when the account has none —
 * never a token with a lower level.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as client from 'openid-client'
import { systemActor } from '../../shared/actor.js'
import { company, enrolFactor, market, secondFactorCode, signIn, user, type UserInput } from '../../../test/factories.js'
import { testBrowser, useTestApp, type Browser } from '../../../test/helpers.js'
import { discover, follow, startAuthorization } from '../../../test/oidc.js'
import { ACR_VALUES } from './index.js'

const testApp = useTestApp()
const app = () => testApp().app
const publicUrl = () => testApp().config.publicUrl
const redirectUri = 'http://localhost:3912/callback'
const PWD = 'urn:sportello:acr:pwd'
const MFA = 'urn:sportello:acr:mfa'

/** A workshop account of a market of its own (password TEST_PASSWORD). */
async function person(input: UserInput = {}) {
  return user(app(), { company: await company(app(), { market: await market(app()) }), ...input })
}

/** A first-party web app of the partner realm, as openid-client sees it. */
async function webApp() {
  const { client: row, secret } = await app().services.sso.addClient(systemActor('test'), {
    realm: 'partner', name: 'Warranty app', kind: 'web', firstParty: true, redirectUris: [redirectUri], postLogoutRedirectUris: [],
  })
  return discover(app, publicUrl(), row.clientId, secret ?? undefined)
}

/** The app's sign-in in a browser already signed in to the portal, followed back to the app; the ID token's claims. */
async function signInToApp(browser: Browser, config: client.Configuration, params: Record<string, string> = {}) {
  const auth = await startAuthorization(config, { redirect_uri: redirectUri, scope: 'openid profile', ...params })
  const step = await follow(browser, auth.url.href, publicUrl())
  return { auth, step }
}

async function tokensOf(config: client.Configuration, auth: { verifier: string; state: string }, callback: string) {
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: auth.verifier, expectedState: auth.state })
  const claims = tokens.claims()
  assert.ok(claims)
  return claims
}

describe('acr and amr in ID tokens', () => {
  test('discovery lists the two levels; a password-only sign-in is acr pwd with amr ["pwd"]', async () => {
    const discovery = (await app().inject({ url: '/.well-known/openid-configuration' })).json<{ acr_values_supported: string[]; claims_supported: string[] }>()
    assert.deepEqual(discovery.acr_values_supported, [PWD, MFA])
    assert.deepEqual([...ACR_VALUES], [PWD, MFA])
    assert.ok(discovery.claims_supported.includes('acr') && discovery.claims_supported.includes('amr'))

    const config = await webApp()
    const browser = await signIn(testBrowser(app), await person())
    const { auth, step } = await signInToApp(browser, config)
    assert.ok(step.leftFor, `back to the app: ${step.body.slice(0, 200)}`)
    const claims = await tokensOf(config, auth, step.leftFor)
    assert.equal(claims.acr, PWD)
    assert.deepEqual(claims.amr, ['pwd'])
  })

  test('a sign-in with an authenticator code is acr mfa, amr pwd, otp and mfa; an app asking for mfa gets it without a page', async () => {
    const config = await webApp()
    const account = await person({ factor: true })
    const browser = await signIn(testBrowser(app), account)
    const { auth, step } = await signInToApp(browser, config)
    assert.ok(step.leftFor)
    const claims = await tokensOf(config, auth, step.leftFor)
    assert.equal(claims.acr, MFA)
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa'])

    const again = await signInToApp(browser, config, { acr_values: MFA })
    assert.ok(again.step.leftFor, 'the session already has a second factor: no step-up')
    assert.equal((await tokensOf(config, again.auth, again.step.leftFor)).acr, MFA)
  })
})

describe('an app that asks acr_values for a second factor', () => {
  test('a password-only session takes the second step (step-up), then the app gets acr mfa', async () => {
    const config = await webApp()
    const account = await person()
    const browser = await signIn(testBrowser(app), account)
    // A password-only SSO session first: the app's token says so.
    const first = await signInToApp(browser, config)
    assert.ok(first.step.leftFor)
    assert.equal((await tokensOf(config, first.auth, first.step.leftFor)).acr, PWD)
    // The person adds an authenticator later; this session still used only a password.
    await enrolFactor(app(), account)

    const { auth, step } = await signInToApp(browser, config, { acr_values: MFA })
    assert.equal(step.leftFor, undefined, 'no token before the second factor')
    assert.match(step.path, /^\/en\/login\/step-up\?next=/)
    assert.match(step.body, /<h1>This app asks for a second factor<\/h1>/)
    assert.match(step.body, /You signed in with your password only/)

    const wrong = await browser.post('/en/login/code', { code: '000000', next: new URL(step.path, publicUrl()).searchParams.get('next') ?? '' })
    assert.equal(wrong.statusCode, 401, 'a wrong code is refused like at sign-in')
    assert.match(wrong.body, /This app asks for a second factor/)

    const done = await browser.post('/en/login/code', { code: secondFactorCode(account), next: new URL(step.path, publicUrl()).searchParams.get('next') ?? '' })
    assert.equal(done.statusCode, 303)
    const back = await follow(browser, String(done.headers.location), publicUrl())
    assert.ok(back.leftFor, `back to the app: ${back.body.slice(0, 300)}`)
    const claims = await tokensOf(config, auth, back.leftFor)
    assert.equal(claims.acr, MFA)
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa'])
    const signIns = (await app().services.admin.auditTrail(systemActor('test'), { action: 'sign_in' })).filter((e) => (e.data as { stepUp?: boolean } | null)?.stepUp === true)
    assert.equal(signIns.length, 1, 'the step-up is audited as a sign-in')

    // The stronger session replaced the password-only one: the next app sign-in, asking nothing, is mfa too.
    const later = await signInToApp(browser, config)
    assert.ok(later.step.leftFor)
    assert.equal((await tokensOf(config, later.auth, later.step.leftFor)).acr, MFA)
  })

  test('an account without a second factor: the person is told, and the app gets an error at its redirect URI, never a lower acr', async () => {
    const config = await webApp()
    const browser = await signIn(testBrowser(app), await person())
    const { auth, step } = await signInToApp(browser, config, { acr_values: MFA })
    assert.equal(step.leftFor, undefined)
    assert.match(step.body, /<h1>Second factor needed<\/h1>/)
    assert.match(step.body, /asks for a second factor, and this account has none yet/)
    assert.match(step.body, /href="\/en\/account\/second-factor"/)
    const back = /href="([^"]+)" id="sso-back"/.exec(step.body)?.[1]?.replaceAll('&amp;', '&')
    assert.ok(back)
    const toApp = await follow(browser, back, publicUrl())
    assert.ok(toApp.leftFor)
    const callback = new URL(toApp.leftFor)
    assert.equal(`${callback.origin}${callback.pathname}`, redirectUri)
    assert.equal(callback.searchParams.get('error'), 'unmet_authentication_requirements')
    assert.equal(callback.searchParams.get('code'), null)
    await assert.rejects(tokensOf(config, auth, toApp.leftFor), (error: unknown) => error instanceof client.AuthorizationResponseError && error.error === 'unmet_authentication_requirements')
  })

  test('acr_values that a password meets ask nothing more', async () => {
    const config = await webApp()
    const browser = await signIn(testBrowser(app), await person())
    const { auth, step } = await signInToApp(browser, config, { acr_values: `${MFA} ${PWD}` })
    assert.ok(step.leftFor)
    assert.equal((await tokensOf(config, auth, step.leftFor)).acr, PWD)
  })
})
