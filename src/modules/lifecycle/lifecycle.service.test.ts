import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setClock, withClock } from '../../shared/clock.js'
import { TEST_PASSWORD, actorOf, company, market, outboxTo, system, user } from '../../../test/factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'

const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url }) })
const DAY = 24 * 60 * 60 * 1000
const ctx = () => ({ publicUrl: testApp().config.publicUrl })
/** Day 0 of these tests: years before the administrators' activity (today), so sweeps never reach them. */
const T0 = new Date('2019-01-05T09:00:00Z')
const day = (n: number) => new Date(T0.getTime() + n * DAY)

let serial = 0

/** An account whose last activity is `at`, in a realm of its own choosing. */
async function accountLastActiveAt(at: Date, realm = 'partner', name = `life${++serial}`) {
  const restore = setClock(at)
  try {
    return await user(testApp(), { realm, userId: name, firstName: 'Lia', lastName: 'Life', email: `${name}@${realm}.example`, locale: 'it', lastActivityAt: at })
  } finally {
    restore()
  }
}

async function statusOf(id: number) {
  return { user: await testApp().app.database.db.query.users.findFirst({ where: (u, { eq }) => eq(u.id, id) }) }
}

function sweep(now: Date, options: { dryRun?: boolean; batchSize?: number; afterBatch?: () => void } = {}) {
  return testApp().app.services.lifecycle.sweep(system, { now, ...options }, ctx())
}

const mailsTo = (address: string) => outboxTo(testApp(), address)

async function signIn(userId: string, at: Date, realm = 'partner') {
  const restore = setClock(at)
  try {
    return (await testBrowser(() => testApp().app).post(realm === 'shop' ? '/it/shop/login' : '/it/login', { identifier: userId, password: TEST_PASSWORD })).statusCode
  } finally {
    restore()
  }
}

describe('the inactivity lifecycle', () => {
  test('from day 0 to deletion: each step on its day, one email per step, a second sweep changes nothing', async () => {
    const user = await accountLastActiveAt(T0)
    const email = user.email ?? ''
    const expect = async (at: Date, status: string, templates: string[]) => {
      await sweep(at)
      const again = await sweep(at)
      assert.equal(again.realms.partner?.[status as 'blocked'] ?? 0, 0, 'a second sweep moves nobody')
      assert.equal((await statusOf(user.id)).user?.status, status, at.toISOString())
      assert.deepEqual(await mailsTo(email), templates)
    }
    await expect(day(149), 'active', [])
    await expect(day(150), 'block_warned', ['lifecycle-block_warned'])
    await expect(day(179), 'block_warned', ['lifecycle-block_warned'])
    await expect(day(180), 'blocked', ['lifecycle-block_warned', 'lifecycle-blocked'])
    await testApp().app.mailer.drain()
    const texts = () => mailbox().to(email).map((m) => m.text ?? '')
    assert.ok(texts().some((text) => /sarà bloccato il 4 luglio 2019/.test(text)), 'the warning names the day of the block, in Italian')
    assert.ok(texts().some((text) => text.includes(`${testApp().config.publicUrl}/it/support/new?topic=account-status`)), 'the blocked account is shown the way to help')
    assert.equal(await signIn(user.userId, day(181)), 403, 'a blocked account cannot sign in')
    await expect(day(335), 'delete_warned', ['lifecycle-block_warned', 'lifecycle-blocked', 'lifecycle-delete_warned'])
    await expect(day(365), 'deleted', ['lifecycle-block_warned', 'lifecycle-blocked', 'lifecycle-delete_warned', 'lifecycle-deleted'])

    const { user: tombstone } = await statusOf(user.id)
    assert.equal(tombstone?.userId, `deleted-${String(user.id)}`)
    assert.equal(tombstone.email, null)
    assert.equal(tombstone.firstName, '')
    assert.equal(tombstone.passwordHash, null)
    assert.equal(await testApp().app.services.auth.findAccount(system, 'partner', user.userId), undefined)
    assert.equal(await signIn(user.userId, day(366)), 401)

    await testApp().app.mailer.drain()
    assert.ok(texts().some((text) => /sarà eliminato il 5 gennaio 2020/.test(text)), 'the second warning names the day of the deletion')
    await sweep(day(366))
    assert.deepEqual(await mailsTo(email), ['lifecycle-block_warned', 'lifecycle-blocked', 'lifecycle-delete_warned'], 'the sent deletion notice does not keep the address')
  })

  test('a sign-in while warned makes the account active and starts a new period with its own warnings', async () => {
    const user = await accountLastActiveAt(T0)
    await sweep(day(150))
    assert.equal((await statusOf(user.id)).user?.status, 'block_warned')
    assert.equal(await signIn(user.userId, day(160)), 303)
    assert.equal((await statusOf(user.id)).user?.status, 'active')
    await sweep(day(180))
    assert.equal((await statusOf(user.id)).user?.status, 'active', 'the clock started again at the sign-in')
    await sweep(day(310))
    assert.equal((await statusOf(user.id)).user?.status, 'block_warned')
    assert.deepEqual(await mailsTo(user.email ?? ''), ['lifecycle-block_warned', 'lifecycle-block_warned'], 'one warning per inactivity period')

    const late = await accountLastActiveAt(T0)
    await sweep(day(500))
    assert.equal((await statusOf(late.id)).user?.status, 'block_warned', 'found long inactive: warned before anything else')
    await sweep(day(501))
    assert.equal((await statusOf(late.id)).user?.status, 'block_warned', 'the warning gets its full notice period')
    await sweep(day(530))
    assert.equal((await statusOf(late.id)).user?.status, 'blocked')
    await sweep(day(684))
    assert.equal((await statusOf(late.id)).user?.status, 'blocked', 'blocked for the policy\'s full time before the deletion warning')
    await sweep(day(685))
    assert.equal((await statusOf(late.id)).user?.status, 'delete_warned')
  })

  test('the warning names the day of the block as the person\'s market counts days, not UTC\'s', async () => {
    // Last seen at 20:00 UTC: the block falls at 20:00 UTC on 4 July, already 5 July in New Zealand.
    const lastSeen = new Date('2019-01-05T20:00:00Z')
    const auckland = await market(testApp(), { timeZone: 'Pacific/Auckland' })
    const restore = setClock(lastSeen)
    const kiwi = await user(testApp(), { company: await company(testApp(), { market: auckland }), userId: 'kiwi.day', email: 'kiwi.day@partner.example', locale: 'it', lastActivityAt: lastSeen }).finally(restore)
    await sweep(new Date(lastSeen.getTime() + 150 * DAY))
    assert.equal((await statusOf(kiwi.id)).user?.status, 'block_warned')
    await testApp().app.mailer.drain()
    const text = String(mailbox().to('kiwi.day@partner.example').at(-1)?.text)
    assert.match(text, /sarà bloccato il 5 luglio 2019/, text)
  })

  test('activity in one realm resets only that realm: the shop account of the same person goes on', async () => {
    const partner = await accountLastActiveAt(T0, 'partner', 'twin.person')
    const shop = await accountLastActiveAt(T0, 'shop', 'twin.person')
    assert.equal(await signIn('twin.person', day(100), 'shop'), 303)
    await sweep(day(160))
    assert.equal((await statusOf(partner.id)).user?.status, 'block_warned')
    assert.equal((await statusOf(shop.id)).user?.status, 'active')
  })

  test('each realm speaks of its own account: the Parts Shop warning names the Parts Shop and its rule, the partner warning says what to do without the password', async () => {
    const partner = await accountLastActiveAt(T0, 'partner', 'voice.partner')
    const shop = await accountLastActiveAt(T0, 'shop', 'voice.shop')
    await sweep(day(150))
    assert.equal((await statusOf(shop.id)).user?.status, 'block_warned')
    await testApp().app.mailer.drain()
    const shopMail = mailbox().to(shop.email ?? '').at(-1)
    const shopText = String(shopMail?.text)
    assert.equal(shopMail?.subject, 'Il tuo account Parts Shop sarà bloccato a breve')
    assert.match(shopText, /^Buongiorno Lia Life,/, 'a business greeting with the full name')
    assert.match(shopText, /regola propri per gli account inutilizzati/)
    assert.doesNotMatch(shopText, /account partner sarà bloccato|applicazione Demo Motors collegata/)
    const partnerMail = mailbox().to(partner.email ?? '').at(-1)
    const partnerText = String(partnerMail?.text)
    assert.equal(partnerMail?.subject, 'Il tuo account partner sarà bloccato a breve')
    assert.match(partnerText, /Non ricordi la password\? Scegline una nuova con «Password dimenticata\?»/)
    assert.match(partnerText, /amministratore di mercato oppure chiedi aiuto indicando ID utente, nome e cognome, email, ragione sociale e indirizzo dell'azienda/)
  })

  test('a sweep stopped half-way resumes where it stopped; nobody gets an email twice; dry runs change nothing', async () => {
    const at = new Date(T0.getTime() - 400 * DAY)
    // Under one clock: clocks pinned and given back side by side would leave one of them pinned.
    const users = await withClock(at, () => Promise.all(Array.from({ length: 5 }, () => accountLastActiveAt(at))))
    const dry = await sweep(day(-100), { dryRun: true })
    assert.equal(dry.realms.partner?.block_warned, 5)
    for (const u of users) assert.equal((await statusOf(u.id)).user?.status, 'active')

    let batches = 0
    await assert.rejects(sweep(day(-100), { batchSize: 2, afterBatch: () => { if (++batches === 1) throw new Error('power cut') } }), /power cut/)
    const moved = await Promise.all(users.map(async (u) => (await statusOf(u.id)).user?.status))
    assert.equal(moved.filter((s) => s === 'block_warned').length, 2, 'the first batch committed, the rest did not start')
    await sweep(day(-100), { batchSize: 2 })
    for (const u of users) {
      assert.equal((await statusOf(u.id)).user?.status, 'block_warned')
      assert.deepEqual(await mailsTo(u.email ?? ''), ['lifecycle-block_warned'])
    }
  })

  test('only one sweep runs at a time', async () => {
    const [a, b] = await Promise.all([sweep(day(1)), sweep(day(1))])
    assert.deepEqual([a.ran, b.ran].sort(), [false, true])
  })

  test('a platform administrator changes a realm\'s policy; steps out of order or outsiders change nothing', async () => {
    const { app } = testApp()
    const marketAdmin = await actorOf(app, await user(app, { roles: [{ role: 'market_admin', marketId: (await market(app)).id }] }))
    const platform = await actorOf(app, await user(app, { roles: [{ role: 'platform_admin' }] }))
    const shorter = { warnBlockDays: 60, blockDays: 90, warnDeleteDays: 200, deleteDays: 230 }
    await assert.rejects(app.services.lifecycle.updatePolicy(marketAdmin, 'shop', shorter, {}), { code: 'FORBIDDEN_SCOPE' })
    await assert.rejects(app.services.lifecycle.updatePolicy(platform, 'shop', { ...shorter, blockDays: 50 }, {}), { code: 'POLICY_ORDER' })
    await assert.rejects(app.services.lifecycle.updatePolicy(platform, 'shop', { ...shorter, deleteDays: 0 }, {}), { code: 'INVALID_INPUT' })
    assert.equal((await app.services.lifecycle.policies(system)).find((p) => p.key === 'shop')?.blockDays, 180)
    await app.services.lifecycle.updatePolicy(platform, 'shop', shorter, {})
    assert.equal((await app.services.lifecycle.policies(system)).find((p) => p.key === 'shop')?.blockDays, 90)
  })
})
