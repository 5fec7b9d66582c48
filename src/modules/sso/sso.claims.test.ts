/**
 * The claims relying parties expect (issue "Connected apps"): a widely used app names its users by
 * `preferred_username`, which no token carried. Every claim discovery lists arrives when its scope is
 * granted, in both realms, and no claim arrives without its scope. Userinfo and refresh follow the
 * account core: an account that may not get tokens gets 401 and invalid_grant.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as client from 'openid-client'
import { systemActor } from '../../shared/actor.js'
import { actorOf, company, market, reload, setAccount, signIn, user, type UserRow } from '../../../test/factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'
import { discover, follow, startAuthorization } from '../../../test/oidc.js'
import { SCOPE_CLAIMS, SIGN_IN_CLAIMS as PROVIDER_SIGN_IN_CLAIMS } from './index.js'

const testApp = useTestApp()
const app = () => testApp().app
const publicUrl = () => testApp().config.publicUrl
const redirectUri = 'http://localhost:3911/callback'
const ALL_SCOPES = Object.keys(SCOPE_CLAIMS)
/** Claims about the sign-in itself, not the person: in ID tokens, never from userinfo (acr and amr: sso.acr.test.ts). */
const SIGN_IN_CLAIMS: string[] = ['iss', 'auth_time', 'sid', ...PROVIDER_SIGN_IN_CLAIMS]
/** `sid` goes to the apps that registered for back-channel logout (sso.logout.test.ts). */
const BACKCHANNEL_ONLY = ['sid']

const issuerOf = (realm: string) => realm === 'partner' ? publicUrl() : `${publicUrl()}/realms/${realm}`

/** An account of `realm` in a company of its own market, and a web app of that realm signed in with `scopes`. */
async function signedInApp(realm: string, scopes: string[], person?: UserRow) {
  const it = await market(app())
  const account = person ?? await user(app(), { realm, company: await company(app(), { market: it }), firstName: 'Maria', lastName: 'Bianchi', locale: 'it' })
  const { client: row, secret } = await app().services.sso.addClient(systemActor('test'), {
    realm, name: 'Claims app', kind: 'web', firstParty: true, redirectUris: [redirectUri], postLogoutRedirectUris: [],
  })
  const config = await discover(app, issuerOf(realm), row.clientId, secret ?? undefined)
  const auth = await startAuthorization(config, { redirect_uri: redirectUri, scope: scopes.join(' ') })
  const browser = await signIn(testBrowser(app), account)
  const step = await follow(browser, auth.url.href, publicUrl())
  assert.ok(step.leftFor, `the flow returns to the app: ${step.body.slice(0, 300)}`)
  const tokens = await client.authorizationCodeGrant(config, new URL(step.leftFor), { pkceCodeVerifier: auth.verifier, expectedState: auth.state })
  const claims = tokens.claims()
  assert.ok(claims)
  return { account, config, tokens, claims, market: it }
}

describe('claims', () => {
  for (const realm of ['partner', 'shop']) {
    test(`${realm} realm: discovery lists exactly the scopes' claims, and each one arrives in the ID token and userinfo`, async () => {
      const discovery = (await app().inject({ url: realm === 'partner' ? '/.well-known/openid-configuration' : `/realms/${realm}/.well-known/openid-configuration` })).json<{ claims_supported: string[]; scopes_supported: string[] }>()
      const issued: string[] = Object.values(SCOPE_CLAIMS).flat()
      assert.deepEqual([...discovery.claims_supported].sort(), [...issued, ...SIGN_IN_CLAIMS].sort())
      for (const scope of ALL_SCOPES) assert.ok(discovery.scopes_supported.includes(scope), scope)

      const { account, config, tokens, claims, market: it } = await signedInApp(realm, ALL_SCOPES)
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
      for (const name of discovery.claims_supported.filter((c) => !BACKCHANNEL_ONLY.includes(c))) {
        assert.notEqual(claims[name], undefined, `${name} in the ID token`)
        if ((PROVIDER_SIGN_IN_CLAIMS as readonly string[]).includes(name)) assert.equal(info[name], undefined, `${name} not from userinfo`)
        else if (!SIGN_IN_CLAIMS.includes(name)) assert.notEqual(info[name], undefined, `${name} from userinfo`)
      }
      assert.equal(claims.preferred_username, account.userId, 'the user ID people sign in with')
      assert.notEqual(claims.sub, account.userId, 'the subject stays a random identifier')
      assert.equal(claims.given_name, 'Maria')
      assert.equal(claims.family_name, 'Bianchi')
      assert.equal(claims.name, 'Maria Bianchi')
      assert.equal(claims.email, account.email)
      assert.equal(claims.email_verified, true)
      assert.equal(claims.locale, 'it')
      assert.equal(claims.updated_at, Math.floor((await reload(app(), account)).updatedAt.getTime() / 1000))
      assert.equal(claims.market, it.code)
      assert.deepEqual(claims.roles, ['user'])
      assert.equal(info.preferred_username, account.userId)
    })
  }

  test('a claim arrives only with its scope', async () => {
    const { config, tokens, claims } = await signedInApp('partner', ['openid', 'email'])
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
    for (const source of [claims, info]) {
      assert.equal(typeof source.email, 'string')
      for (const scope of ['profile', 'company', 'roles'] as const) {
        for (const name of SCOPE_CLAIMS[scope]) assert.equal(source[name], undefined, `${name} without the ${scope} scope`)
      }
    }
  })
})

describe('userinfo and refresh follow the account core', () => {
  /** Userinfo answers 401 with invalid_token; refresh answers invalid_grant. */
  async function assertNoAccess(config: client.Configuration, tokens: client.TokenEndpointResponse, sub: string, when: string) {
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, sub), (error: unknown) => {
      return error instanceof client.WWWAuthenticateChallengeError && error.response.status === 401 && error.cause.some((c) => c.parameters.error === 'invalid_token')
    }, `userinfo ${when}`)
    assert.ok(tokens.refresh_token)
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (error: unknown) => error instanceof client.ResponseBodyError && error.error === 'invalid_grant', `refresh ${when}`)
  }

  for (const status of ['blocked', 'delete_warned', 'deactivated', 'deleted'] as const) {
    test(`an account whose status became ${status}`, async () => {
      const { account, config, tokens, claims } = await signedInApp('partner', ALL_SCOPES)
      await client.fetchUserInfo(config, tokens.access_token, claims.sub)
      // The status alone (its tokens still stored): the state machine decides, not the token.
      await setAccount(app(), account, { status })
      await assertNoAccess(config, tokens, claims.sub, status)
    })
  }

  test('deactivated by an administrator, through the account core', async () => {
    const it = await market(app())
    const admin = await user(app(), { roles: [{ role: 'market_admin', marketId: it.id }] })
    const person = await user(app(), { company: await company(app(), { market: it }) })
    const { config, tokens, claims } = await signedInApp('partner', ALL_SCOPES, person)
    await app().services.administration.deactivate(await actorOf(app(), admin), person.id, { publicUrl: publicUrl(), requestId: 'test', ip: '127.0.0.1' })
    await assertNoAccess(config, tokens, claims.sub, 'deactivated')
    const introspected = await client.tokenIntrospection(config, tokens.access_token)
    assert.equal(introspected.active, false)
  })
})
