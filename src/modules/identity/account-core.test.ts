/**
 * The account core's defects, as people met them: each test failed on the code before the account
 * core had one owner (see issue "Account core"), and passes now.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import * as client from 'openid-client'
import { systemActor } from '../../shared/actor.js'
import { setClock } from '../../shared/clock.js'
import { actorOf, company, failInserts, identityOf, identityTicket, mailsTo, market, reload, setAccount, signIn, TEST_PASSWORD, unique, user, type UserRow } from '../../../test/factories.js'
import { testBrowser, useTestApp, type Browser } from '../../../test/helpers.js'
import { discover, follow, startAuthorization } from '../../../test/oidc.js'

const testApp = useTestApp()
const app = () => testApp().app
const ctx = () => ({ publicUrl: testApp().config.publicUrl, requestId: 'test', ip: '127.0.0.1' })

/** The link of the newest email of a template to an address. */
async function linkIn(email: string, template: string): Promise<string> {
  const url = (await mailsTo(app(), email, template)).at(-1)?.data.url
  assert.equal(typeof url, 'string', `an email "${template}" to ${email}`)
  return new URL(String(url)).pathname
}

/** A browser signed in as the account (with the factory password, or `password`). */
const signedIn = (person: UserRow, password?: string): Promise<Browser> => signIn(testBrowser(app), person, password ? { password } : {})

/** Follows a reset link as its owner would: the form opens, a new password is set, and it signs in. */
async function useResetLink(path: string, person: UserRow): Promise<void> {
  const browser = testBrowser(app)
  const page = await browser.get(path)
  assert.equal(page.statusCode, 200, 'the reset link opens its form')
  const password = `new-${randomBytes(8).toString('hex')}`
  const done = await browser.post(path, { password, confirm: password })
  assert.equal(done.statusCode, 200, 'the new password is accepted')
  await signedIn(person, password)
}

async function marketWithAdmin() {
  const it = await market(app())
  const workshop = await company(app(), { market: it })
  const admin = await user(app(), { roles: [{ role: 'market_admin', marketId: it.id }, { role: 'support_agent', marketId: it.id }] })
  return { it, workshop, admin, actor: await actorOf(app(), admin) }
}

describe('a blocked partner asks the market administrator, who checks the identity and sends a reset link', () => {
  test('from the admin user page: the link works, the account is active again, and the restore is audited', async () => {
    const { workshop, actor } = await marketWithAdmin()
    // Blocked, and already warned that deletion follows: the same way back.
    const blocked = await user(app(), { company: workshop, status: 'delete_warned' })
    const { administration } = app().services
    assert.equal((await administration.checkIdentity(actor, blocked.id, identityOf(blocked, workshop), ctx())).passed, true)
    await administration.issueAdminReset(actor, blocked.id, {}, ctx())
    assert.equal((await reload(app(), blocked)).status, 'active', 'the reset restored the account')
    await useResetLink(await linkIn(blocked.email ?? '', 'password-reset'), blocked)
    const timeline = await administration.timeline(actor, blocked.id)
    assert.ok(timeline.some((e) => e.action === 'account.restored'), 'the restore is in the timeline')
  })

  test('from the ticket identity panel: one click checks, restores by reset link and notes it in the ticket, together', async () => {
    const { it, workshop, actor } = await marketWithAdmin()
    const blocked = await user(app(), { company: workshop, status: 'blocked' })
    const reference = await identityTicket(app(), { market: it, identity: identityOf(blocked, workshop) })
    const result = await app().services.desk.identityAction(actor, reference, 'reset', ctx())
    assert.equal(result.outcome, 'reset')
    await useResetLink(await linkIn(blocked.email ?? '', 'password-reset'), blocked)
    const view = await app().services.desk.ticket(actor, reference)
    assert.ok(view.messages.some((m) => m.body.includes('support.system.resetSent')), 'the ticket says a reset link was sent')
  })

  test('a deactivated account gets no reset link: refused before any email, saying why', async () => {
    const { it, workshop, actor } = await marketWithAdmin()
    const deactivated = await user(app(), { company: workshop, status: 'deactivated' })
    const { administration } = app().services
    await administration.checkIdentity(actor, deactivated.id, identityOf(deactivated, workshop), ctx())
    await assert.rejects(administration.issueAdminReset(actor, deactivated.id, {}, ctx()), { code: 'ACCOUNT_DEACTIVATED' })
    assert.equal((await mailsTo(app(), deactivated.email ?? '')).length, 0, 'no email was queued')
    const reference = await identityTicket(app(), { market: it, identity: identityOf(deactivated, workshop) })
    const panel = (await app().services.desk.ticket(actor, reference)).identityPanel?.account
    assert.deepEqual([panel?.mayRestore, panel?.mayReset], [true, false], 'the ticket panel offers the restore, not a reset link')
    await assert.rejects(app().services.desk.identityAction(actor, reference, 'reset', ctx()), { code: 'ACCOUNT_DEACTIVATED' })
    assert.equal((await mailsTo(app(), deactivated.email ?? '')).length, 0, 'still no email')
    const page = await (await signedIn(await user(app(), { roles: [{ role: 'platform_admin' }] }))).get(`/it/admin/users/${String(deactivated.id)}`)
    assert.equal(page.statusCode, 200)
  })
})

test('the identity panel finds the requester by exact user ID among many similar, newer accounts', async () => {
  const { it, workshop, actor } = await marketWithAdmin()
  const base = unique('mario.r')
  const requester = await user(app(), { userId: base, company: workshop, status: 'blocked', lastActivityAt: new Date(Date.now() - 86_400_000) })
  for (let n = 1; n <= 60; n++) await user(app(), { userId: `${base}.${String(n)}`, company: workshop })
  const reference = await identityTicket(app(), { market: it, identity: { ...identityOf(requester, workshop), userId: base.toUpperCase() } })
  const view = await app().services.desk.ticket(actor, reference)
  assert.equal(view.identityPanel?.account?.id, requester.id, 'the panel shows the existing account')
})

describe('app tokens end when the person\'s access ends', () => {
  const redirectUri = 'http://localhost:3911/callback'

  /** A connected app signed in through the portal, holding a refresh token. */
  async function appSession(person: UserRow) {
    const { client: row, secret } = await app().services.sso.addClient(systemActor('test'), {
      realm: 'partner', name: unique('Workshop app '), kind: 'web', firstParty: true, redirectUris: [redirectUri], postLogoutRedirectUris: [],
    })
    const config = await discover(app, testApp().config.publicUrl, row.clientId, secret ?? undefined)
    const auth = await startAuthorization(config, { redirect_uri: redirectUri })
    const browser = await signedIn(person)
    const step = await follow(browser, auth.url.href, testApp().config.publicUrl)
    assert.ok(step.leftFor, `the flow returns to the app: ${step.body.slice(0, 200)}`)
    const tokens = await client.authorizationCodeGrant(config, new URL(step.leftFor), { pkceCodeVerifier: auth.verifier, expectedState: auth.state })
    assert.ok(tokens.refresh_token)
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
    assert.ok(refreshed.refresh_token, 'refresh works while the person has access')
    return { browser, config, refreshToken: refreshed.refresh_token }
  }

  async function assertRefreshRefused(config: client.Configuration, refreshToken: string, when: string) {
    await assert.rejects(client.refreshTokenGrant(config, refreshToken), (error: unknown) => error instanceof client.ResponseBodyError && error.error === 'invalid_grant', when)
  }

  test('after signing out of the portal', async () => {
    const person = await user(app())
    const { browser, config, refreshToken } = await appSession(person)
    assert.equal((await browser.post('/en/logout', {}, { fromPage: '/en/account' })).statusCode, 303)
    await assertRefreshRefused(config, refreshToken, 'signed out')
  })

  test('after "sign out everywhere else" and after a password change', async () => {
    const person = await user(app())
    const first = await appSession(person)
    const browser = await signedIn(person)
    assert.equal((await browser.post('/en/account/sessions/revoke-others', {}, { fromPage: '/en/account' })).statusCode, 303)
    await assertRefreshRefused(first.config, first.refreshToken, 'signed out everywhere else')
    const second = await appSession(person)
    await app().services.account.changePassword(await actorOf(app(), person), { current: TEST_PASSWORD, password: 'another-long-password-1', confirm: 'another-long-password-1' }, ctx())
    await assertRefreshRefused(second.config, second.refreshToken, 'password changed')
  })

  test('after a password reset, a deactivation and a block for inactivity', async () => {
    const { workshop, actor } = await marketWithAdmin()
    const person = await user(app(), { company: workshop })
    const reset = await appSession(person)
    await app().services.auth.requestPasswordReset(systemActor('test'), { realm: 'partner', identifier: person.userId, locale: 'en' }, ctx()).settled
    await useResetLink(await linkIn(person.email ?? '', 'password-reset'), person)
    await assertRefreshRefused(reset.config, reset.refreshToken, 'password reset')

    const leaver = await user(app(), { company: workshop })
    const deactivated = await appSession(leaver)
    await app().services.administration.deactivate(actor, leaver.id, ctx())
    await assertRefreshRefused(deactivated.config, deactivated.refreshToken, 'deactivated')

    const idle = await user(app(), { company: workshop })
    const blocked = await appSession(idle)
    await setAccount(app(), idle, { status: 'block_warned', lastActivityAt: new Date(Date.now() - 200 * 86_400_000), statusChangedAt: new Date(Date.now() - 40 * 86_400_000) })
    await app().services.lifecycle.sweep(systemActor('test'), {}, { publicUrl: testApp().config.publicUrl })
    assert.equal((await reload(app(), idle)).status, 'blocked')
    await assertRefreshRefused(blocked.config, blocked.refreshToken, 'blocked for inactivity')
  })
})

test('an organization administrator cannot open or deactivate a colleague who is a market administrator', async () => {
  const it = await market(app())
  const workshop = await company(app(), { market: it })
  const orgAdmin = await user(app(), { company: workshop, roles: [{ role: 'org_admin', companyId: workshop.id }] })
  const colleague = await user(app(), { company: workshop })
  const marketAdmin = await user(app(), { company: workshop, roles: [{ role: 'market_admin', marketId: it.id }] })
  const actor = await actorOf(app(), orgAdmin)
  const { administration } = app().services
  assert.equal((await administration.userRecord(actor, colleague.id)).user.id, colleague.id, 'a plain colleague is in scope')
  await assert.rejects(administration.userRecord(actor, marketAdmin.id), { code: 'FORBIDDEN_SCOPE' })
  await assert.rejects(administration.deactivate(actor, marketAdmin.id, ctx()), { code: 'FORBIDDEN_SCOPE' })
  assert.equal((await reload(app(), marketAdmin)).status, 'active', 'nothing changed')
  const browser = await signedIn(orgAdmin)
  assert.equal((await browser.get(`/en/admin/users/${String(marketAdmin.id)}`)).statusCode, 403)
  assert.doesNotMatch((await browser.get('/en/admin/users')).body, new RegExp(marketAdmin.userId), 'nor listed')
})

describe('a use case\'s change, its audit event and its email commit together or not at all', () => {
  test('an invitation whose email cannot be queued leaves no account behind', async () => {
    const { workshop, actor } = await marketWithAdmin()
    const userId = unique('lneri')
    const restore = await failInserts(app(), 'outbox', `new.template = 'invitation'`)
    try {
      await assert.rejects(app().services.administration.invite(actor, {
        realm: 'partner', userId, firstName: 'Lia', lastName: 'Neri', email: `${userId}@example.test`, companyNumber: workshop.companyNumber, locale: 'it', role: 'user',
      }, ctx()))
    } finally {
      await restore()
    }
    assert.equal(await app().services.auth.findAccount(systemActor('test'), 'partner', userId), undefined, 'no half-made account')
  })

  test('approving a new independent company: the company stays pending when the approval cannot be audited', async () => {
    const { it, actor } = await marketWithAdmin()
    const pending = await company(app(), { market: it, status: 'pending_approval' })
    const owner = await user(app(), { company: pending, status: 'pending_approval' })
    const restore = await failInserts(app(), 'audit_events', `new.action = 'account.approved'`)
    try {
      await assert.rejects(app().services.administration.approve(actor, owner.id, ctx()))
    } finally {
      await restore()
    }
    assert.equal((await reload(app(), owner)).status, 'pending_approval')
    const rows = await app().services.organizations.companyForAdmin(actor, pending.id)
    assert.equal(rows.company.status, 'pending_approval', 'the company was not approved alone')
  })

  test('the ticket identity action: no restore without its note in the ticket', async () => {
    const { it, workshop, actor } = await marketWithAdmin()
    const blocked = await user(app(), { company: workshop, status: 'blocked' })
    const reference = await identityTicket(app(), { market: it, identity: identityOf(blocked, workshop) })
    const restore = await failInserts(app(), 'ticket_messages', 'true')
    try {
      await assert.rejects(app().services.desk.identityAction(actor, reference, 'restore', ctx()))
    } finally {
      await restore()
    }
    assert.equal((await reload(app(), blocked)).status, 'blocked', 'the account was not restored without the ticket saying so')
  })
})

test('expired portal sessions are purged, live ones kept', async () => {
  const person = await user(app())
  const kept = await signedIn(person)
  await signedIn(person)
  // Only the first browser comes back, 25 minutes later; at 31 minutes the other one is idle past the limit.
  const start = Date.now()
  let undo = setClock(new Date(start + 25 * 60_000))
  try {
    assert.equal((await kept.get('/en/account')).statusCode, 200)
  } finally {
    undo()
  }
  undo = setClock(new Date(start + 31 * 60_000))
  try {
    assert.ok(await app().services.auth.purgeExpiredSessions() >= 1, 'the idle session is reclaimed')
    assert.equal((await app().services.account.overview(await actorOf(app(), person))).sessions.length, 1, 'only the session in use is left')
    assert.equal((await kept.get('/en/account')).statusCode, 200, 'and it goes on')
  } finally {
    undo()
  }
})
