import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { renderMail } from '../../shared/mail/templates.js'
import { withClock } from '../../shared/clock.js'
import { actorOf, company, mailsTo, market, setAccount, system, user, type CompanyRow, type UserRow } from '../../../test/factories.js'
import { useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp()
const DAY = 24 * 60 * 60 * 1000
/** "Now" of these tests: years before the administrators' own activity, so nothing reaches them. */
const NOW = new Date('2019-03-01T09:00:00Z')
const ago = (days: number) => new Date(NOW.getTime() - days * DAY)
const later = (days: number) => new Date(NOW.getTime() + days * DAY)

async function inactive(of: CompanyRow, lastActiveDaysAgo: number, change: { status?: UserRow['status']; changedDaysAgo?: number; locale?: string } = {}) {
  const { app } = testApp()
  const row = await user(app, { company: of, lastActivityAt: ago(lastActiveDaysAgo), locale: change.locale ?? 'it', firstName: 'Ada' })
  if (change.status) await setAccount(app, row, { status: change.status, statusChangedAt: ago(change.changedDaysAgo ?? 0) })
  return row
}

const at = withClock

describe('the inactivity forecast', () => {
  test('counts per company what the sweep will do in 7, 30 and 90 days, and the sweep then does it', async () => {
    const { app } = testApp()
    const it = await market(app)
    const de = await market(app)
    const rossi = await company(app, { market: it, name: 'Rossi' })
    const bianchi = await company(app, { market: it, name: 'Bianchi' })
    const berlin = await company(app, { market: de, name: 'Berlin' })
    const warnedSoon = await inactive(rossi, 145) // warned in 5 days, blocked 30 days after that
    const blockedSoon = await inactive(rossi, 175, { status: 'block_warned', changedDaysAgo: 25 }) // blocked in 5 days
    const deleteWarnedSoon = await inactive(bianchi, 330, { status: 'blocked', changedDaysAgo: 150 }) // delete warning in 5, deletion 30 after
    await inactive(bianchi, 10) // recently active: nothing within 90 days
    await inactive(berlin, 145) // another market
    const admin = await actorOf(app, await user(app, { roles: [{ role: 'market_admin', marketId: it.id }] }))

    const forecast = await at(NOW, () => app.services.lifecycle.forecast(admin, { marketId: it.id, companyId: null }))
    assert.deepEqual(forecast.horizons, [7, 30, 90])
    assert.deepEqual(forecast.totals, { block_warned: [1, 1, 1], blocked: [1, 1, 2], delete_warned: [1, 1, 1], deleted: [0, 0, 1] })
    assert.deepEqual(forecast.companies.map((c) => [c.companyName, c.counts.blocked]), [['Bianchi', [0, 0, 0]], ['Rossi', [1, 1, 2]]])

    const blocked90 = await at(NOW, () => app.services.lifecycle.forecastPeople(admin, { marketId: it.id, companyId: null }, { days: 90, stage: 'blocked' }))
    assert.deepEqual(blocked90.map((p) => p.id), [blockedSoon.id, warnedSoon.id], 'the people behind the figure, soonest first')
    const deleted90 = await at(NOW, () => app.services.lifecycle.forecastPeople(admin, { marketId: it.id, companyId: null }, { days: 90, stage: 'deleted' }))
    assert.deepEqual(deleted90.map((p) => p.id), [deleteWarnedSoon.id])

    // The sweep, run on those days, moves exactly the accounts the forecast named.
    const statusOf = async (row: UserRow) => (await app.database.db.query.users.findFirst({ where: (u, { eq }) => eq(u.id, row.id) }))?.status
    await app.services.lifecycle.sweep(system, { now: later(7) }, { publicUrl: 'http://portal.test' })
    assert.deepEqual([await statusOf(warnedSoon), await statusOf(blockedSoon), await statusOf(deleteWarnedSoon)], ['block_warned', 'blocked', 'delete_warned'])
    await app.services.lifecycle.sweep(system, { now: later(30) }, { publicUrl: 'http://portal.test' })
    assert.deepEqual([await statusOf(warnedSoon), await statusOf(deleteWarnedSoon)], ['block_warned', 'delete_warned'], 'nothing more within 30 days')
    await app.services.lifecycle.sweep(system, { now: later(90) }, { publicUrl: 'http://portal.test' })
    assert.deepEqual([await statusOf(warnedSoon), await statusOf(deleteWarnedSoon)], ['blocked', 'deleted'])
  })

  test('an organization administrator sees their company only; other scopes are refused', async () => {
    const { app } = testApp()
    const it = await market(app)
    const de = await market(app)
    const rossi = await company(app, { market: it, name: 'Rossi' })
    const bianchi = await company(app, { market: it, name: 'Bianchi' })
    await inactive(rossi, 145)
    await inactive(bianchi, 145)
    const orgAdmin = await actorOf(app, await user(app, { company: rossi, roles: [{ role: 'org_admin', companyId: rossi.id }] }))
    const otherMarket = await actorOf(app, await user(app, { roles: [{ role: 'market_admin', marketId: de.id }] }))

    const own = await at(NOW, () => app.services.lifecycle.forecast(orgAdmin, { marketId: it.id, companyId: rossi.id }))
    assert.deepEqual(own.companies.map((c) => c.companyName), ['Rossi'])
    assert.deepEqual(own.totals.block_warned, [1, 1, 1])
    await assert.rejects(app.services.lifecycle.forecast(orgAdmin, { marketId: it.id, companyId: bianchi.id }), { code: 'FORBIDDEN_SCOPE' })
    await assert.rejects(app.services.lifecycle.forecast(orgAdmin, { marketId: it.id, companyId: null }), { code: 'FORBIDDEN_SCOPE' })
    await assert.rejects(app.services.lifecycle.forecast(otherMarket, { marketId: it.id, companyId: null }), { code: 'FORBIDDEN_SCOPE' })
    await assert.rejects(app.services.lifecycle.remind(otherMarket, { marketId: it.id, companyId: null }, 30, { publicUrl: 'http://portal.test' }), { code: 'FORBIDDEN_SCOPE' })
  })

  test('"remind them now" emails those who can still sign in, once, in their language, with a plain sign-in link, audited', async () => {
    const { app } = testApp()
    const it = await market(app)
    const rossi = await company(app, { market: it, name: 'Rossi' })
    const anna = await inactive(rossi, 145, { locale: 'de' })
    const bruno = await inactive(rossi, 175, { status: 'block_warned', changedDaysAgo: 25 })
    const blocked = await inactive(rossi, 330, { status: 'blocked', changedDaysAgo: 150 })
    const far = await inactive(rossi, 100) // warned in 50 days: outside 30
    const adminRow = await user(app, { roles: [{ role: 'market_admin', marketId: it.id }] })
    const admin = await actorOf(app, adminRow)

    const first = await at(NOW, () => app.services.lifecycle.remind(admin, { marketId: it.id, companyId: null }, 30, { publicUrl: 'http://portal.test', requestId: 'req-1' }))
    assert.deepEqual(first, { queued: 2, already: 0 })
    const [mail] = await mailsTo(app, anna.email ?? '', 'inactivity-reminder')
    assert.ok(mail)
    assert.equal(mail.locale, 'de')
    const data = mail.data as Record<string, string>
    assert.equal(data.url, 'http://portal.test/de/login', 'a normal link to the sign-in page, no token in it')
    const rendered = renderMail('inactivity-reminder', 'de', data)
    assert.match(rendered.text, /am 5\. April 2019/, 'the day of the block, in German: warned on day 150, blocked 30 days later')
    assert.equal((await mailsTo(app, bruno.email ?? '', 'inactivity-reminder')).length, 1)
    assert.equal((await mailsTo(app, blocked.email ?? '', 'inactivity-reminder')).length, 0, 'a blocked account cannot sign in: no reminder')
    assert.equal((await mailsTo(app, far.email ?? '', 'inactivity-reminder')).length, 0)

    const again = await at(NOW, () => app.services.lifecycle.remind(admin, { marketId: it.id, companyId: null }, 30, { publicUrl: 'http://portal.test' }))
    assert.deepEqual(again, { queued: 0, already: 2 }, 'pressing again sends nothing twice')
    assert.equal((await mailsTo(app, anna.email ?? '', 'inactivity-reminder')).length, 1)

    const events = await app.database.db.query.auditEvents.findMany({ where: (e, { eq }) => eq(e.action, 'lifecycle.reminded') })
    assert.deepEqual(events.map((e) => [e.targetId, e.actorId, e.requestId]).sort(), [[anna.id, adminRow.id, 'req-1'], [bruno.id, adminRow.id, 'req-1']].sort())
  })
})
