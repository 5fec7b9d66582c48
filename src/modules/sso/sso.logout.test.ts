/**
 * OpenID Connect Back-Channel Logout 1.0: when a person's session ends, every app they used that
 * registered a back-channel logout URI receives a signed logout token, queued in the same
 * transaction as the ending and delivered until the app answers 2xx.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, test } from 'node:test'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import * as client from 'openid-client'
import { systemActor } from '../../shared/actor.js'
import { actorOf, company, market, mailsTo, reload, setAccount, signIn, TEST_PASSWORD, unique, user, type UserRow } from '../../../test/factories.js'
import { testBrowser, useTestApp, type Browser } from '../../../test/helpers.js'
import { confirmSignOut, discover, follow, makeLogoutsDue, queuedLogouts, startAuthorization } from '../../../test/oidc.js'

const testApp = useTestApp()
const app = () => testApp().app
const publicUrl = () => testApp().config.publicUrl
const ctx = () => ({ publicUrl: publicUrl(), requestId: 'test', ip: '127.0.0.1' })
const redirectUri = 'http://localhost:3911/callback'
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** An app's back-channel logout endpoint on this machine: records each token, answers as told (then 200). */
async function logoutReceiver(answers: number[] = []) {
  const tokens: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      tokens.push(new URLSearchParams(body).get('logout_token') ?? '')
      res.writeHead(answers.shift() ?? 200, { 'cache-control': 'no-store' })
      res.end()
    })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  after(() => new Promise<void>((resolve) => { server.close(() => { resolve() }) }))
  return { uri: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/backchannel-logout`, tokens }
}

async function addApp(backchannelLogoutUri?: string) {
  const { client: row, secret } = await app().services.sso.addClient(systemActor('test'), {
    realm: 'partner', name: unique('Workshop app '), kind: 'web', firstParty: true, redirectUris: [redirectUri], postLogoutRedirectUris: ['http://localhost:3911/'], backchannelLogoutUri,
  })
  return { row, config: await discover(app, publicUrl(), row.clientId, secret ?? undefined) }
}

/** Signs in to the app in `browser` (signed in to the portal already) and returns its tokens. */
async function useApp(browser: Browser, config: client.Configuration) {
  const auth = await startAuthorization(config, { redirect_uri: redirectUri })
  const step = await follow(browser, auth.url.href, publicUrl())
  assert.ok(step.leftFor, `the flow returns to the app: ${step.body.slice(0, 200)}`)
  return client.authorizationCodeGrant(config, new URL(step.leftFor), { pkceCodeVerifier: auth.verifier, expectedState: auth.state })
}

const queued = (clientId: string) => queuedLogouts(testApp().database, clientId)
const makeDue = () => makeLogoutsDue(testApp().database)

async function verifyLogoutToken(token: string, audience: string) {
  const jwks = (await app().inject({ url: '/oidc/jwks' })).json<JSONWebKeySet>()
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: publicUrl(), audience, typ: 'logout+jwt', algorithms: ['RS256'] })
  assert.equal(protectedHeader.typ, 'logout+jwt')
  return payload
}

describe('back-channel logout', () => {
  test('signing out of the portal sends the app a signed logout token naming the person and the session; apps without a URI, or not used, get nothing', async () => {
    const receiver = await logoutReceiver()
    const other = await logoutReceiver()
    const withLogout = await addApp(receiver.uri)
    const withoutLogout = await addApp()
    const unused = await addApp(other.uri)
    const person = await user(app())
    const browser = await signIn(testBrowser(app), person)
    const tokens = await useApp(browser, withLogout.config)
    await useApp(browser, withoutLogout.config)
    const idClaims = tokens.claims()
    assert.ok(idClaims?.sid, 'an app registered for back-channel logout gets sid in its ID token')

    assert.equal((await browser.post('/en/logout', {}, { fromPage: '/en/account' })).statusCode, 303)
    assert.equal((await queued(withLogout.row.clientId)).length, 1, 'queued with the sign-out')
    assert.equal((await queued(unused.row.clientId)).length, 0)

    const result = await app().services.sso.deliverBackchannelLogouts(publicUrl())
    assert.deepEqual(result, { delivered: 1, failed: 0 })
    assert.equal(receiver.tokens.length, 1)
    assert.equal(other.tokens.length, 0)
    const token = receiver.tokens[0] ?? ''
    const claims = await verifyLogoutToken(token, withLogout.row.clientId)
    assert.equal(claims.sub, idClaims.sub)
    assert.equal(claims.sid, idClaims.sid)
    assert.deepEqual(claims.events, { [LOGOUT_EVENT]: {} })
    assert.equal(typeof claims.jti, 'string')
    assert.equal(typeof claims.iat, 'number')
    assert.equal(claims.nonce, undefined, 'a logout token never carries a nonce')
    assert.ok(decodeProtectedHeader(token).kid)
    assert.equal((await queued(withLogout.row.clientId))[0]?.status, 'delivered')

    // Delivered once: the next run sends nothing.
    assert.deepEqual(await app().services.sso.deliverBackchannelLogouts(publicUrl()), { delivered: 0, failed: 0 })
    assert.equal(receiver.tokens.length, 1)
  })

  test('an app that does not answer 2xx is retried with backoff until it does', async () => {
    const receiver = await logoutReceiver([503, 500])
    const { row, config } = await addApp(receiver.uri)
    const person = await user(app())
    const browser = await signIn(testBrowser(app), person)
    await useApp(browser, config)
    await browser.post('/en/logout', {}, { fromPage: '/en/account' })

    assert.deepEqual(await app().services.sso.deliverBackchannelLogouts(publicUrl()), { delivered: 0, failed: 1 })
    const [first] = await queued(row.clientId)
    assert.ok(first)
    assert.equal(first.status, 'pending')
    assert.equal(first.attempts, 1)
    assert.match(first.lastError ?? '', /503/)
    assert.ok(first.nextAttemptAt.getTime() > Date.now(), 'the next try waits')
    assert.deepEqual(await app().services.sso.deliverBackchannelLogouts(publicUrl()), { delivered: 0, failed: 0 }, 'not before its time')

    await makeDue()
    assert.deepEqual(await app().services.sso.deliverBackchannelLogouts(publicUrl()), { delivered: 0, failed: 1 })
    await makeDue()
    assert.deepEqual(await app().services.sso.deliverBackchannelLogouts(publicUrl()), { delivered: 1, failed: 0 })
    assert.equal(receiver.tokens.length, 3)
    const [done] = await queued(row.clientId)
    assert.ok(done)
    assert.equal(done.status, 'delivered')
    assert.equal(done.attempts, 3)
    // Each try is a fresh token (its own jti), each one valid.
    const jtis = await Promise.all(receiver.tokens.map(async (token) => (await verifyLogoutToken(token, row.clientId)).jti))
    assert.equal(new Set(jtis).size, 3)
  })

  test('RP-initiated logout from one app tells the other apps of the session, once each', async () => {
    const first = await logoutReceiver()
    const second = await logoutReceiver()
    const appA = await addApp(first.uri)
    const appB = await addApp(second.uri)
    const browser = await signIn(testBrowser(app), await user(app()))
    const tokens = await useApp(browser, appA.config)
    await useApp(browser, appB.config)
    const end = client.buildEndSessionUrl(appA.config, { id_token_hint: tokens.id_token ?? '', post_logout_redirect_uri: 'http://localhost:3911/' })
    const page = await browser.get(`${end.pathname}${end.search}`)
    const res = await confirmSignOut(app, browser, page.body)
    assert.equal(res.statusCode, 303)
    assert.equal((await queued(appA.row.clientId)).length, 1)
    assert.equal((await queued(appB.row.clientId)).length, 1)
    await app().services.sso.deliverBackchannelLogouts(publicUrl())
    assert.equal(first.tokens.length, 1)
    assert.equal(second.tokens.length, 1)
    assert.equal((await verifyLogoutToken(second.tokens[0] ?? '', appB.row.clientId)).sub, tokens.claims()?.sub)
  })

  describe('every way a person\'s access ends queues the logout', () => {
    async function appSession(person: UserRow) {
      const receiver = await logoutReceiver()
      const { row, config } = await addApp(receiver.uri)
      const tokens = await useApp(await signIn(testBrowser(app), person), config)
      return { row, sub: tokens.claims()?.sub }
    }
    async function assertQueued(session: { row: { clientId: string }; sub: string | undefined }, when: string) {
      const rows = await queued(session.row.clientId)
      assert.equal(rows.length, 1, `one logout queued: ${when}`)
      assert.equal(rows[0]?.sub, session.sub, when)
    }
    async function staff() {
      const it = await market(app())
      const admin = await user(app(), { roles: [{ role: 'market_admin', marketId: it.id }] })
      return { workshop: await company(app(), { market: it }), admin: await actorOf(app(), admin) }
    }

    test('sign out everywhere else, a password change and a password reset', async () => {
      const person = await user(app())
      const elsewhere = await appSession(person)
      const browser = await signIn(testBrowser(app), person)
      assert.equal((await browser.post('/en/account/sessions/revoke-others', {}, { fromPage: '/en/account' })).statusCode, 303)
      await assertQueued(elsewhere, 'signed out everywhere else')

      const changed = await appSession(person)
      await app().services.account.changePassword(await actorOf(app(), person), { current: TEST_PASSWORD, password: 'another-long-password-1', confirm: 'another-long-password-1' }, ctx())
      await assertQueued(changed, 'password changed')

      const other = await user(app())
      const reset = await appSession(other)
      await app().services.auth.requestPasswordReset(systemActor('test'), { realm: 'partner', identifier: other.userId, locale: 'en' }, ctx()).settled
      const link = new URL(String((await mailsTo(app(), other.email ?? '', 'password-reset')).at(-1)?.data.url)).pathname
      const resetBrowser = testBrowser(app)
      assert.equal((await resetBrowser.get(link)).statusCode, 200)
      const password = `new-${randomBytes(8).toString('hex')}`
      assert.equal((await resetBrowser.post(link, { password, confirm: password })).statusCode, 200)
      await assertQueued(reset, 'password reset')
    })

    test('deactivation, a block for inactivity and deletion', async () => {
      const { workshop, admin } = await staff()
      const leaver = await user(app(), { company: workshop })
      const deactivated = await appSession(leaver)
      await app().services.administration.deactivate(admin, leaver.id, ctx())
      await assertQueued(deactivated, 'deactivated')

      const idle = await user(app(), { company: workshop })
      const blocked = await appSession(idle)
      await setAccount(app(), idle, { status: 'block_warned', lastActivityAt: new Date(Date.now() - 200 * 86_400_000), statusChangedAt: new Date(Date.now() - 40 * 86_400_000) })
      await app().services.lifecycle.sweep(systemActor('test'), {}, { publicUrl: publicUrl() })
      assert.equal((await reload(app(), idle)).status, 'blocked')
      await assertQueued(blocked, 'blocked for inactivity')

      // A delete_warned account holds no tokens any more; a grant left from before still owes its app a logout.
      const gone = await user(app(), { company: workshop })
      const deleted = await appSession(gone)
      await setAccount(app(), gone, { status: 'delete_warned', lastActivityAt: new Date(Date.now() - 400 * 86_400_000), statusChangedAt: new Date(Date.now() - 40 * 86_400_000) })
      await app().services.lifecycle.sweep(systemActor('test'), {}, { publicUrl: publicUrl() })
      assert.equal((await reload(app(), gone)).status, 'deleted')
      await assertQueued(deleted, 'deleted')
    })
  })

  test('a logout URI must be absolute, HTTPS (or this machine), and not for a machine client', async () => {
    for (const uri of ['http://example.com/logout', 'javascript:alert(1)', 'https://app.example/logout#x']) {
      await assert.rejects(app().services.sso.addClient(systemActor('test'), { realm: 'partner', name: 'X', kind: 'web', firstParty: true, redirectUris: [redirectUri], postLogoutRedirectUris: [], backchannelLogoutUri: uri }), { code: 'SSO_REDIRECT_URI_INVALID' }, uri)
    }
    await assert.rejects(app().services.sso.addClient(systemActor('test'), { realm: 'partner', name: 'X', kind: 'machine', firstParty: true, redirectUris: [], postLogoutRedirectUris: [], backchannelLogoutUri: 'https://app.example/logout' }), { code: 'INVALID_INPUT' })
    const discovery = (await app().inject({ url: '/.well-known/openid-configuration' })).json<Record<string, unknown>>()
    assert.equal(discovery.backchannel_logout_supported, true)
    assert.equal(discovery.backchannel_logout_session_supported, true)
  })
})
