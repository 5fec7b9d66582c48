/**
 * Abuse of the identity module as an attacker tried it (issue 14): each test failed before its fix.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { guest } from '../../shared/actor.js'
import { company, mailsTo, reload, system, unique, user, type CompanyRow } from '../../../test/factories.js'
import { testBrowser, useFixture, useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp()
const app = () => testApp().app
const ctx = (ip = '127.0.0.1') => ({ publicUrl: testApp().config.publicUrl, requestId: 'test', ip })

let workshop: CompanyRow
useFixture(testApp, async (a) => {
  workshop = await company(a)
})

test('24 wrong passwords at once lock the account once, with one event and one email', async () => {
  const person = await user(app())
  const attempts = await Promise.allSettled(Array.from({ length: 24 }, (_, i) =>
    app().services.auth.signIn(guest, { realm: 'partner', identifier: person.userId, password: `wrong-${String(i)}`, locale: 'en' }, ctx(`10.44.0.${String(i)}`))))
  assert.ok(attempts.every((a) => a.status === 'rejected'))
  const locked = await reload(app(), person)
  assert.ok(locked.lockedUntil && locked.lockedUntil > new Date(), 'the account is locked')
  assert.equal(locked.lockouts, 1, 'one lockout')
  assert.equal((await mailsTo(app(), person.email ?? '', 'account-locked')).length, 1, 'one notice')
  const events = (await app().services.administration.userRecord(system, person.id)).timeline.filter((e) => e.action === 'account.locked')
  assert.equal(events.length, 1, 'one lock event')
})

test('wrong verification codes count against the address that sends them, not the account: its owner\'s code and link keep working', async () => {
  const userId = unique('pending')
  const email = `${userId}@example.com`
  const owner = testBrowser(app)
  const registered = await owner.post('/en/register', {
    userId, firstName: 'Paola', lastName: 'Neri', email, password: 'olive harbour drum lantern', confirm: 'olive harbour drum lantern',
    companyKind: 'existing', companyNumber: workshop.companyNumber,
  })
  assert.equal(registered.statusCode, 200)
  const mail = (await mailsTo(app(), email, 'verify-email')).at(-1)
  const code = String(mail?.data.code)
  const wrong = code === '000000' ? '111111' : '000000'
  // An attacker who knows the user ID posts wrong codes from one address, again and again.
  for (let i = 0; i < 8; i++) {
    await assert.rejects(app().services.registration.verifyCode(guest, { realm: 'partner', userId, code: wrong }, ctx('10.45.0.1')), { code: 'TOKEN_INVALID' })
  }
  // Past its limit, that address cannot try even the right code…
  await assert.rejects(app().services.registration.verifyCode(guest, { realm: 'partner', userId, code }, ctx('10.45.0.1')), { code: 'TOKEN_INVALID' })
  // …but the owner, from their own address, still verifies with the emailed code.
  const verified = await app().services.registration.verifyCode(guest, { realm: 'partner', userId, code }, ctx('10.45.0.2'))
  assert.equal(verified.user.userId, userId)
  assert.equal((await app().services.auth.findAccount(system, 'partner', userId))?.status, 'pending_approval')
})

test('after wrong codes for an account, its emailed link still verifies', async () => {
  const userId = unique('linked')
  const email = `${userId}@example.com`
  await testBrowser(app).post('/en/register', {
    userId, firstName: 'Ugo', lastName: 'Neri', email, password: 'olive harbour drum lantern', confirm: 'olive harbour drum lantern',
    companyKind: 'existing', companyNumber: workshop.companyNumber,
  })
  for (let i = 0; i < 8; i++) {
    await assert.rejects(app().services.registration.verifyCode(guest, { realm: 'partner', userId, code: '999999' === String((await mailsTo(app(), email, 'verify-email')).at(-1)?.data.code) ? '888888' : '999999' }, ctx(`10.46.0.${String(i)}`)))
  }
  const url = new URL(String((await mailsTo(app(), email, 'verify-email')).at(-1)?.data.url))
  assert.equal((await testBrowser(app).get(url.pathname)).statusCode, 200, 'the link verifies')
})

test('an import refuses activity dates in the future or before 1990, naming the row, and imports nothing', async () => {
  const row = (userId: string, lastActivity: string) => ({
    user_id: userId, first_name: 'Ida', last_name: 'Import', email: `${userId}@example.com`, company_number: workshop.companyNumber,
    realm: 'partner', role: 'user', last_activity: lastActivity,
  })
  const ok = unique('imp')
  const future = unique('imp')
  const ancient = unique('imp')
  const result = await app().services.imports.importUsers(system, [row(ok, '2024-05-01'), row(future, '2099-01-01'), row(ancient, '1989-12-31')], { invite: false }, ctx())
  assert.equal(result.ok, false)
  assert.ok(!result.ok)
  assert.deepEqual(result.problems.map((p) => [p.line, p.field, p.code]), [[3, 'last_activity', 'activity_out_of_range'], [4, 'last_activity', 'activity_out_of_range']])
  for (const id of [ok, future, ancient]) assert.equal(await app().services.auth.findAccount(system, 'partner', id), undefined)
})
