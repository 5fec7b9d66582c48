/**
 * The inactivity forecast counts by index ranges (identity's inactivity.repo.ts); these tests hold
 * its figures against two straightforward references on accounts placed exactly on, just before
 * and just after every threshold of two realms' policies:
 *  - the rule written out account by account (each step `sinceActivity` days after the last
 *    activity and `sincePrevious` days after the step before, never before now);
 *  - the sweep itself, run once a day for 90 days: what it has done by day 7, 30 and 90 is what
 *    the forecast said it would do.
 * "Now" is a few days before Europe's clocks go forward, so the 7-day period spans the change; the
 * figures must not depend on the database session's time zone either.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { withClock } from '../../shared/clock.js'
import { actorOf, company, inSessionTimeZone, market, setAccount, system, user, type CompanyRow } from '../../../test/factories.js'
import { useTestApp } from '../../../test/helpers.js'
import { createInactivityRepo, sweepSteps, type InactivityPolicy } from '../identity/index.js'
import { forecastHorizons } from './lifecycle.service.js'

const testApp = useTestApp()
const DAY = 24 * 60 * 60 * 1000
/** Sunday 31 March 2019, 01:00 UTC, Italy and Germany move their clocks forward: inside the 7 days. */
const NOW = new Date('2019-03-26T22:30:00Z')
const statuses = ['active', 'block_warned', 'blocked', 'delete_warned'] as const
type Status = (typeof statuses)[number]
/** The shop realm gets a policy whose notice periods end exactly on the 7- and 30-day marks. */
const SHOP = { warnBlockDays: 20, blockDays: 27, warnDeleteDays: 57, deleteDays: 64 }

interface Account {
  id: number
  realm: string
  companyId: number
  status: Status
  last: number
  changed: number
}

const daysOf = (p: InactivityPolicy) => [p.warnBlockDays, p.blockDays, p.warnDeleteDays, p.deleteDays]

/** The rule as the sweep applies it, one step after the other: when each step reaches the account (null: already past it). */
function referenceDates(account: Account, policy: InactivityPolicy, now: number): (number | null)[] {
  const a = daysOf(policy)
  const k = statuses.indexOf(account.status)
  const dates: (number | null)[] = []
  let previous = 0
  a.forEach((sinceActivity, j) => {
    if (j < k) {
      dates.push(null)
      return
    }
    const afterPrevious = j === k ? (k === 0 ? -Infinity : account.changed + (sinceActivity - (a[k - 1] ?? 0)) * DAY) : previous + (sinceActivity - (a[j - 1] ?? 0)) * DAY
    previous = Math.max(account.last + sinceActivity * DAY, afterPrevious, now)
    dates.push(previous)
  })
  return dates
}

type Counts = Record<string, number[]>
const zero = (): Counts => Object.fromEntries(sweepSteps.map((s) => [s, forecastHorizons.map(() => 0)]))

describe('the inactivity forecast against straightforward references', () => {
  test('accounts exactly at, just before and just after each threshold: the rule account by account, and the sweep run every day for 90 days', async () => {
    const { app } = testApp()
    const platformAdmin = await actorOf(app, await user(app, { roles: [{ role: 'platform_admin' }] }))
    await app.services.lifecycle.updatePolicy(platformAdmin, 'shop', SHOP, {})
    const policies = await app.services.lifecycle.policies(system)
    const it = await market(app, { timeZone: 'Europe/Rome' })
    const de = await market(app, { timeZone: 'Europe/Berlin' })
    const inScope = [await company(app, { market: it, name: 'Rossi' }), await company(app, { market: it, name: 'Bianchi' })]
    const elsewhere = await company(app, { market: de, name: 'Berlin' })
    const admin = await actorOf(app, await withClock(NOW, () => user(app, { roles: [{ role: 'market_admin', marketId: it.id }] })))

    // Every threshold of every step, for accounts of every status the sweep moves, ±1 ms.
    const accounts: Account[] = []
    const now = NOW.getTime()
    let n = 0
    async function place(realm: string, status: Status, last: number, changed: number | null, neverActive = false) {
      if (last > now || (changed ?? last) > now || (changed !== null && changed < last)) return
      const of: CompanyRow = n % 5 === 4 ? elsewhere : (inScope[n % 2] ?? elsewhere)
      n += 1
      const row = await withClock(new Date(neverActive ? last : last - DAY), () => user(app, { realm, company: of, locale: 'it' }))
      await setAccount(app, row, { status, lastActivityAt: neverActive ? null : new Date(last), statusChangedAt: changed === null ? null : new Date(changed) })
      accounts.push({ id: row.id, realm, companyId: of.id, status, last, changed: changed ?? last })
    }
    for (const policy of policies) {
      const a = daysOf(policy)
      for (const [k, status] of statuses.entries()) {
        for (let j = k; j < a.length; j++) {
          for (const h of [0, ...forecastHorizons]) {
            for (const delta of [-1, 0, 1]) {
              const lastThreshold = now + (h - (a[j] ?? 0)) * DAY + delta
              // The last activity decides (never changed since, or never active at all)…
              await place(policy.key, status, lastThreshold, null, delta === 0 && h === 7)
              // …or the day the status changed does.
              if (k > 0) {
                const changedThreshold = lastThreshold + (a[k - 1] ?? 0) * DAY
                await place(policy.key, status, changedThreshold - ((a[k - 1] ?? 0) + 3) * DAY, changedThreshold)
              }
            }
          }
        }
        // Long overdue: every step comes one notice period after the other, from now.
        await place(policy.key, status, now - 2000 * DAY, k === 0 ? null : now - 1000 * DAY)
      }
    }
    assert.ok(accounts.length > 200, `${String(accounts.length)} accounts placed`)

    const target = { marketId: it.id, companyId: null }
    const forecast = await withClock(NOW, () => app.services.lifecycle.forecast(admin, target))

    // 1. The rule, account by account.
    const expected = new Map<number, Counts>()
    const expectedTotals = zero()
    for (const account of accounts.filter((acc) => inScope.some((c) => c.id === acc.companyId))) {
      const policy = policies.find((p) => p.key === account.realm)
      assert.ok(policy)
      const counts = expected.get(account.companyId) ?? zero()
      expected.set(account.companyId, counts)
      referenceDates(account, policy, now).forEach((date, j) => {
        forecastHorizons.forEach((h, i) => {
          if (date !== null && date <= now + h * DAY) {
            const step = sweepSteps[j] ?? 'deleted'
            ;(counts[step] ?? [])[i] = ((counts[step] ?? [])[i] ?? 0) + 1
            ;(expectedTotals[step] ?? [])[i] = ((expectedTotals[step] ?? [])[i] ?? 0) + 1
          }
        })
      })
    }
    assert.deepEqual(forecast.totals, expectedTotals)
    assert.deepEqual(new Map(forecast.companies.map((c) => [c.companyId, c.counts])), expected)
    assert.deepEqual(forecast.companies.map((c) => c.companyName), ['Bianchi', 'Rossi'])
    // Every edge is there: the figures are neither empty nor all alike.
    assert.ok(Object.values(expectedTotals).every((perHorizon) => (perHorizon[0] ?? 0) < (perHorizon[2] ?? 0)), JSON.stringify(expectedTotals))

    // The people behind each figure are exactly as many as it says, soonest first.
    for (const [i, days] of forecastHorizons.entries()) {
      for (const stage of sweepSteps) {
        const people = await withClock(NOW, () => app.services.lifecycle.forecastPeople(admin, target, { days, stage }))
        assert.equal(people.length, forecast.totals[stage][i], `${stage} within ${String(days)} days`)
        const dues = people.map((p) => new Date(p.due_at).getTime())
        assert.deepEqual(dues, [...dues].sort((x, y) => x - y))
        assert.ok(dues.every((d) => d >= now && d <= now + days * DAY))
      }
    }

    // The session's time zone changes nothing, in the forecast or in what the sweep finds due.
    const dueInUtc = new Map<string, unknown>()
    for (const policy of policies) {
      for (const days of forecastHorizons) dueInUtc.set(`${policy.key}:${String(days)}`, await createInactivityRepo(app.database.db).countDue(policy, new Date(now + days * DAY)))
    }
    for (const zone of ['Europe/Rome', 'America/New_York', 'Pacific/Chatham']) {
      await inSessionTimeZone(app, zone, async (db) => {
        const repo = createInactivityRepo(db)
        const totals = zero()
        for (const policy of policies) {
          for (const row of await repo.forecast(policy, NOW, forecastHorizons, { marketId: it.id })) {
            for (const step of sweepSteps) row.counts[step].forEach((c, i) => { (totals[step] ?? [])[i] = ((totals[step] ?? [])[i] ?? 0) + c })
          }
          for (const days of forecastHorizons) {
            assert.deepEqual(await repo.countDue(policy, new Date(now + days * DAY)), dueInUtc.get(`${policy.key}:${String(days)}`), `${zone}, ${policy.key}, day ${String(days)}`)
          }
        }
        assert.deepEqual(totals, expectedTotals, zone)
      })
    }

    // 2. The sweep, once a day: by day 7, 30 and 90 it has taken exactly the steps the forecast counted.
    const rank = (status: string) => ['active', 'block_warned', 'blocked', 'delete_warned', 'deleted'].indexOf(status)
    const swept = zero()
    for (let day = 0; day <= Math.max(...forecastHorizons); day++) {
      await app.services.lifecycle.sweep(system, { now: new Date(now + day * DAY) }, { publicUrl: 'http://portal.test' })
      const i = forecastHorizons.findIndex((h) => h === day)
      if (i < 0) continue
      const found = await app.database.db.query.users.findMany({ columns: { id: true, status: true } })
      const statusOf = new Map(found.map((u) => [u.id, u.status]))
      for (const account of accounts.filter((acc) => inScope.some((c) => c.id === acc.companyId))) {
        const reached = rank(statusOf.get(account.id) ?? 'active')
        sweepSteps.forEach((step, j) => {
          if (j >= rank(account.status) && reached >= j + 1) (swept[step] ?? [])[i] = ((swept[step] ?? [])[i] ?? 0) + 1
        })
      }
    }
    assert.deepEqual(swept, forecast.totals)
  })
})
