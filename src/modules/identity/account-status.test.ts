import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AccountStatus } from '../../db/schema/index.js'
import { systemActor } from '../../shared/actor.js'
import { actorOf, company, identityOf, mailsTo, market, reload, TEST_PASSWORD, user } from '../../../test/factories.js'
import { useTestApp } from '../../../test/helpers.js'
import { accountStatus, accountStatuses, afterActivity, assertTransition, sweepsFrom, sweepSteps, type StatusAbilities } from './account-status.js'

const testApp = useTestApp()
const ctx = () => ({ publicUrl: testApp().config.publicUrl, requestId: 'test', ip: '127.0.0.1' })

test('the state machine is one consistent table: sweep steps, revivals and transitions agree', () => {
  for (const step of sweepSteps) assert.doesNotThrow(() => { assertTransition(sweepsFrom(step), step) }, step)
  for (const status of accountStatuses) {
    const row: StatusAbilities = accountStatus[status]
    if (row.sweepsTo) assert.ok(row.to.includes(row.sweepsTo), `${status} may move where the sweep takes it`)
    if (row.activityRevives) assert.ok(row.to.includes('active'), `${status} may become active by activity`)
    if (row.restore || row.adminReset) assert.ok(row.to.includes('active') || status === 'active', `${status} may be given access back`)
    if (row.tokens) assert.ok(row.signIn, `${status}: tokens only where sign-in is possible`)
  }
  assert.equal(afterActivity('block_warned'), 'active')
  assert.equal(afterActivity('blocked'), 'blocked', 'only an administrator restores a blocked account')
  assert.throws(() => { assertTransition('deleted', 'active') })
  assert.throws(() => { assertTransition('deactivated', 'blocked') })
})

/** What a person and an administrator meet for an account in each status, as the services answer. */
const expected: Record<Exclude<AccountStatus, 'deleted'>, { signIn: 'ok' | 'ACCOUNT_BLOCKED'; forgotEmail: boolean; adminReset: string; restore: string; deactivate: string }> = {
  pending_verification: { signIn: 'ok', forgotEmail: false, adminReset: 'ACCOUNT_NOT_RESETTABLE', restore: 'ACCOUNT_NOT_BLOCKED', deactivate: 'CONFLICT' },
  pending_approval: { signIn: 'ok', forgotEmail: true, adminReset: 'ACCOUNT_NOT_RESETTABLE', restore: 'ACCOUNT_NOT_BLOCKED', deactivate: 'ok' },
  active: { signIn: 'ok', forgotEmail: true, adminReset: 'ok', restore: 'ACCOUNT_NOT_BLOCKED', deactivate: 'ok' },
  block_warned: { signIn: 'ok', forgotEmail: true, adminReset: 'ok', restore: 'ok', deactivate: 'ok' },
  blocked: { signIn: 'ACCOUNT_BLOCKED', forgotEmail: false, adminReset: 'ok', restore: 'ok', deactivate: 'CONFLICT' },
  delete_warned: { signIn: 'ACCOUNT_BLOCKED', forgotEmail: false, adminReset: 'ok', restore: 'ok', deactivate: 'CONFLICT' },
  deactivated: { signIn: 'ACCOUNT_BLOCKED', forgotEmail: false, adminReset: 'ACCOUNT_DEACTIVATED', restore: 'ok', deactivate: 'CONFLICT' },
}

const outcome = (work: Promise<unknown>): Promise<string> => work.then(() => 'ok', (error: unknown) => (error as { code?: string }).code ?? String(error))

test('every status: sign-in, "forgot password", an administrator\'s reset link, restore and deactivation', async () => {
  const it = await market(testApp())
  const workshop = await company(testApp(), { market: it })
  const admin = await actorOf(testApp(), await user(testApp(), { roles: [{ role: 'market_admin', marketId: it.id }] }))
  const { auth, administration } = testApp().app.services
  for (const [status, want] of Object.entries(expected) as [keyof typeof expected, (typeof expected)[keyof typeof expected]][]) {
    const make = () => user(testApp(), { company: workshop, status })
    const signingIn = await make()
    assert.equal(await outcome(auth.signIn(systemActor('test'), { realm: 'partner', identifier: signingIn.userId, password: TEST_PASSWORD, locale: 'en' }, ctx())), want.signIn, `${status}: sign-in`)
    if (want.signIn === 'ok') assert.equal((await reload(testApp(), signingIn)).status, afterActivity(status), `${status}: after signing in`)

    const forgetful = await make()
    await auth.requestPasswordReset(systemActor('test'), { realm: 'partner', identifier: forgetful.userId, locale: 'en' }, ctx()).settled
    assert.equal((await mailsTo(testApp(), forgetful.email ?? '', 'password-reset')).length, want.forgotEmail ? 1 : 0, `${status}: forgot password`)

    const resetting = await make()
    await administration.checkIdentity(admin, resetting.id, identityOf(resetting, workshop), ctx())
    assert.equal(await outcome(administration.issueAdminReset(admin, resetting.id, {}, ctx())), want.adminReset, `${status}: administrator's reset`)
    assert.equal((await mailsTo(testApp(), resetting.email ?? '', 'password-reset')).length, want.adminReset === 'ok' ? 1 : 0, `${status}: reset email`)
    if (want.adminReset === 'ok') assert.equal((await reload(testApp(), resetting)).status, 'active', `${status}: the reset gives access back`)

    const restoring = await make()
    await administration.checkIdentity(admin, restoring.id, identityOf(restoring, workshop), ctx())
    assert.equal(await outcome(administration.restoreAccess(admin, restoring.id, ctx())), want.restore, `${status}: restore`)
    assert.equal((await reload(testApp(), restoring)).status, want.restore === 'ok' ? 'active' : status, `${status}: after restore`)

    const leaving = await make()
    assert.equal(await outcome(administration.deactivate(admin, leaving.id, ctx())), want.deactivate, `${status}: deactivate`)
    assert.equal((await reload(testApp(), leaving)).status, want.deactivate === 'ok' ? 'deactivated' : status, `${status}: after deactivation`)
  }
})
