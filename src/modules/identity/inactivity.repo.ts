import { sql, type SQL } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client.js'
import { rows } from '../../db/query.js'
import { endedAccess, erasedColumns, erasedRecords, noEndings, type AccountEndings } from './account-end.repo.js'
import { endsAccess, may, sweepsFrom, sweepSteps, type SweepStep } from './account-status.js'

/** A realm's inactivity policy: days without activity before each step. */
export interface InactivityPolicy {
  key: string
  warnBlockDays: number
  blockDays: number
  warnDeleteDays: number
  deleteDays: number
}

/** Accounts with `after < id <= upTo`. */
export interface IdRange {
  after: number
  upTo: number
}

/**
 * What a step's email says beyond the name and user ID: a link (`prefix` + the user's locale +
 * `path`) and, for a warning, the date it promises: `stepDays` after the last activity, but never
 * sooner than a full notice period (`stepDays - warnDays`) from now.
 */
export interface StepMail {
  url?: { prefix: string; path: string }
  promise?: { stepDays: number; warnDays: number }
}

/**
 * A day of the policy is 24 hours, whatever the session's time zone: `timestamptz + interval '1 day'`
 * would follow the session's calendar (23 or 25 hours around a clock change), and the forecast's
 * thresholds, computed here as instants, must fall exactly where the sweep's do.
 */
const DAY = 'interval \'24 hours\''
const DAY_MS = 86_400_000

function days(n: number): SQL {
  return sql.raw(`(${String(Math.trunc(n))} * ${DAY})`)
}

/** Days since the last activity at which each step is due, and since the previous step. */
function stepDays(step: SweepStep, policy: InactivityPolicy): { sinceActivity: number; sincePrevious: number | null } {
  switch (step) {
    case 'block_warned':
      return { sinceActivity: policy.warnBlockDays, sincePrevious: null }
    case 'blocked':
      return { sinceActivity: policy.blockDays, sincePrevious: policy.blockDays - policy.warnBlockDays }
    case 'delete_warned':
      return { sinceActivity: policy.warnDeleteDays, sincePrevious: policy.warnDeleteDays - policy.blockDays }
    case 'deleted':
      return { sinceActivity: policy.deleteDays, sincePrevious: policy.deleteDays - policy.warnDeleteDays }
  }
}

/** An account's last activity (creation when never used) and when its status last changed. */
const LAST = sql.raw('coalesce(last_activity_at, created_at)')
const CHANGED = sql.raw('coalesce(status_changed_at, last_activity_at, created_at)')

/** The time zone of the market an account's company belongs to (null without a company): an email's dates are that market's days. */
const marketTimeZone = sql.raw('(select mk.time_zone from companies c join markets mk on mk.id = c.market_id where c.id = company_id)')
const instant = (ms: number): SQL => sql`${new Date(ms).toISOString()}::timestamptz`

/** A status as an SQL literal, so PostgreSQL sees at planning time which partial index holds it. */
function statusLiteral(status: string): SQL {
  if (!/^[a-z_]+$/.test(status)) throw new Error(`not a status: ${status}`)
  return sql.raw(`'${status}'`)
}

/**
 * Which accounts of a realm are due for a step at `now`: in the status the state machine sweeps
 * to it, inactive long enough (activity is `last_activity_at`, creation when never used), and —
 * for later steps — in their status as long as the policy spaces the steps, so an account found
 * long inactive is warned first and keeps every notice period.
 */
function due(step: SweepStep, policy: InactivityPolicy, now: Date): SQL {
  const at = sql`${now.toISOString()}::timestamptz`
  const { sinceActivity, sincePrevious } = stepDays(step, policy)
  const previous = sincePrevious === null ? sql`` : sql` and ${CHANGED} <= ${at} - ${days(sincePrevious)}`
  return sql`status = ${sweepsFrom(step)} and ${LAST} <= ${at} - ${days(sinceActivity)}${previous}`
}

/** Whose forecast: a market's companies, or one company. */
export type ForecastScope = { marketId: number } | { companyId: number }

/** How many accounts of one company each step will reach within each horizon (same order as asked). */
export interface ForecastRow {
  companyId: number
  companyName: string
  counts: Record<SweepStep, number[]>
}

/** One person behind a forecast figure: who, and when the step will reach them if they stay away. */
export interface ForecastPerson extends Record<string, unknown> {
  id: number
  user_id: string
  first_name: string
  last_name: string
  company_id: number
  company_name: string
  status: string
  last_activity: Date | string
  due_at: Date | string
}

/** The statuses the sweep moves accounts from, in the order of the steps (the forecast index holds these). */
const sweptStatuses = sweepSteps.map(sweepsFrom)

/**
 * When step `j` reaches an account that stays away from `now` on and whose next step is `k`, by the
 * sweep's own rules (`due`): a step is due `sinceActivity` days after the last activity and
 * `sincePrevious` days after the previous step, and a step already due happens at the next sweep
 * (`now`). An account several steps behind takes them one after the other, each with its full
 * notice period. With `a` the days since activity of each step, that chain of maxima is
 *
 *   date(j) = max(last + a[j], changed + a[j] - a[k-1] (k > 0 only), now + a[j] - a[k])
 *
 * because each step's `a` is the previous one's plus its notice period. So "step j within h days"
 * is three comparisons with instants computed once: `last <= now + h - a[j]`, `changed <= now + h -
 * a[j] + a[k-1]`, and `a[j] - a[k] <= h`, which decides for every account of the status at once.
 */
function sinceActivity(policy: InactivityPolicy): number[] {
  return sweepSteps.map((step) => stepDays(step, policy).sinceActivity)
}

/** The date step `j` reaches an account in the status that step `k` moves from (`date(j)` above), as SQL. */
function stepDate(policy: InactivityPolicy, now: Date, k: number, j: number): SQL {
  const a = sinceActivity(policy)
  const terms = [sql`${LAST} + ${days(a[j] ?? 0)}`, instant(now.getTime() + ((a[j] ?? 0) - (a[k] ?? 0)) * DAY_MS)]
  if (k > 0) terms.push(sql`${CHANGED} + ${days((a[j] ?? 0) - (a[k - 1] ?? 0))}`)
  return sql`greatest(${sql.join(terms, sql`, `)})`
}

/** Per status, when step `j` reaches its accounts; null when they are past it. */
function stepDateOf(policy: InactivityPolicy, now: Date, j: number): SQL {
  const cases = sweptStatuses.slice(0, j + 1).map((status, k) => sql`when ${statusLiteral(status)} then ${stepDate(policy, now, k, j)}`)
  return sql`(case status ${sql.join(cases, sql` `)} end)`
}

/**
 * "Step `j` reaches accounts of status `k` within `h` days" as range conditions on the forecast
 * index's columns (see `date(j)`), or null when it cannot happen that soon.
 */
function reachedWithin(policy: InactivityPolicy, now: Date, k: number, j: number, h: number): SQL | null {
  const a = sinceActivity(policy)
  const [ak, aj] = [a[k] ?? 0, a[j] ?? 0]
  if (j < k || aj - ak > h) return null
  const end = now.getTime() + h * DAY_MS
  const last = sql`${LAST} <= ${instant(end - aj * DAY_MS)}`
  return k === 0 ? last : sql`${last} and ${CHANGED} <= ${instant(end - (aj - (a[k - 1] ?? 0)) * DAY_MS)}`
}

/** The scope as a condition on `users` (its companies). */
function inScope(scope: ForecastScope): SQL {
  return 'companyId' in scope
    ? sql`company_id = ${scope.companyId}`
    : sql`company_id in (select id from companies where market_id = ${scope.marketId})`
}

/** The accounts of a scope that step `j` reaches within `h` days: per status, one stretch of the forecast index. */
function reachedBy(policy: InactivityPolicy, now: Date, j: number, h: number, scope: ForecastScope): SQL {
  const byStatus = sweptStatuses.flatMap((status, k) => {
    const within = reachedWithin(policy, now, k, j, h)
    return within ? [sql`(status = ${statusLiteral(status)} and ${within})`] : []
  })
  return sql`realm = ${policy.key} and (${byStatus.length > 0 ? sql.join(byStatus, sql` or `) : sql`false`}) and ${inScope(scope)}`
}

/** Column name of a forecast count: accounts of status `k` that step `j` reaches within horizon `i`. */
const countColumn = (k: number, j: number, i: number) => `k${String(k)}_s${String(j)}_h${String(i)}`

/**
 * The forecast's one statement. Company by company (in the scope) and status by status, the
 * accounts of one stretch of the forecast index (`realm, status, company, last activity`) are
 * counted with plain comparisons against instants computed once (`reachedWithin`): no date is
 * computed per account, the table is not read, and each company's counts come out of its own
 * stretches, so nothing is hashed or sorted.
 */
function forecastQuery(policy: InactivityPolicy, now: Date, horizons: readonly number[], scope: ForecastScope): SQL {
  const a = sinceActivity(policy)
  const longest = Math.max(0, ...horizons)
  const laterals = sweptStatuses.map((status, k) => {
    const counts = sweepSteps.flatMap((_, j) => horizons.flatMap((h, i) => {
      const within = reachedWithin(policy, now, k, j, h)
      return within ? [sql`count(*) filter (where ${within})::int as ${sql.raw(countColumn(k, j, i))}`] : []
    }))
    return sql`cross join lateral (
      select ${sql.join(counts.length > 0 ? counts : [sql`0 as ${sql.raw(`none${String(k)}`)}`], sql`, `)}
      from users
      where realm = ${policy.key} and status = ${statusLiteral(status)} and company_id = c.id
        and ${LAST} <= ${instant(now.getTime() + (longest - (a[k] ?? 0)) * DAY_MS)}
    ) ${sql.raw(`f${String(k)}`)}`
  })
  const companies = 'companyId' in scope ? sql`c.id = ${scope.companyId}` : sql`c.market_id = ${scope.marketId}`
  return sql`
    select c.id as company_id, c.name as company_name, ${sql.join(sweptStatuses.map((_, k) => sql.raw(`f${String(k)}.*`)), sql`, `)}
    from companies c ${sql.join(laterals, sql` `)}
    where ${companies}`
}

/**
 * A read with PostgreSQL's JIT compiler off: the forecast's thousands of small index scans add up
 * to a cost that starts it, and compiling took longer than the counting (1.1 s of 10 s measured).
 */
async function withoutJit<T>(db: Db, read: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local jit = off`)
    return read(tx)
  })
}

/** The inactivity sweep's writes to accounts: identity owns them, lifecycle decides when to run them. */
export function createInactivityRepo(db: Db, endings: AccountEndings = noEndings) {
  return {
    /** How many accounts of the realm each step would move now (dry run). */
    async countDue(policy: InactivityPolicy, now: Date): Promise<Record<SweepStep, number>> {
      const counts = {} as Record<SweepStep, number>
      for (const step of sweepSteps) {
        const [row] = await rows<{ n: number }>(db, sql`select count(*)::int as n from users where realm = ${policy.key} and ${due(step, policy, now)}`)
        counts[step] = row?.n ?? 0
      }
      return counts
    },

    /**
     * The inactivity forecast of a scope in one realm: per company, how many accounts each step
     * will reach within each of `horizons` (days from `now`) if nobody signs in meanwhile.
     */
    async forecast(policy: InactivityPolicy, now: Date, horizons: readonly number[], scope: ForecastScope): Promise<ForecastRow[]> {
      const found = await withoutJit(db, (tx) => rows<Record<string, number | string>>(tx, forecastQuery(policy, now, horizons, scope)))
      return found.flatMap((row) => {
        const counts = Object.fromEntries(sweepSteps.map((step, j) => [step, horizons.map((_, i) =>
          sweptStatuses.reduce((sum, _status, k) => sum + Number(row[countColumn(k, j, i)] ?? 0), 0))])) as Record<SweepStep, number[]>
        // A company whose accounts no step reaches in time has nothing to forecast.
        if (!Object.values(counts).some((perHorizon) => perHorizon.some((n) => n > 0))) return []
        return [{ companyId: Number(row.company_id), companyName: String(row.company_name), counts }]
      })
    },

    /** The forecast statement's plan as PostgreSQL runs it (`EXPLAIN (ANALYZE, BUFFERS)`), for the benchmark. */
    async explainForecast(policy: InactivityPolicy, now: Date, horizons: readonly number[], scope: ForecastScope): Promise<string> {
      const plan = await withoutJit(db, (tx) => rows<Record<string, string>>(tx, sql`explain (analyze, buffers) ${forecastQuery(policy, now, horizons, scope)}`))
      return plan.map((line) => Object.values(line)[0] ?? '').join('\n')
    },

    /** The people a step will reach within `horizonDays`, soonest first (at most `limit`). */
    async forecastPeople(policy: InactivityPolicy, now: Date, horizonDays: number, scope: ForecastScope, step: SweepStep, limit: number): Promise<ForecastPerson[]> {
      const j = sweepSteps.indexOf(step)
      return rows<ForecastPerson>(db, sql`
        select u.id, u.user_id, u.first_name, u.last_name, u.company_id, c.name as company_name, u.status, a.last as last_activity, a.due_at
        from (select id, ${LAST} as last, ${stepDateOf(policy, now, j)} as due_at from users where ${reachedBy(policy, now, j, horizonDays, scope)}) a
        join users u on u.id = a.id join companies c on c.id = u.company_id
        order by a.due_at, u.id limit ${limit}`)
    },

    /**
     * Emails everyone of the scope who can still sign in and whom a step will reach within
     * `horizonDays`: a reminder in their language with a plain link to the sign-in page (signing in
     * is what keeps the account) and the day it will be blocked. One reminder per person and
     * inactivity period (the outbox key names the last activity), so pressing again, or another
     * administrator pressing too, queues nothing twice. An audit event per reminded person names
     * the administrator. One statement: the emails and their events commit together.
     */
    async remind(policy: InactivityPolicy, now: Date, horizonDays: number, scope: ForecastScope, mail: { prefix: string; path: string }, audit: { actorId: number | null; actorType: string; requestId?: string | undefined; ip?: string | undefined; scope: Record<string, unknown> }): Promise<{ queued: number; already: number }> {
      const at = sql`${now.toISOString()}::timestamptz`
      // The next step of an account is the first to reach it: whoever it reaches within the days.
      const reachable = sweptStatuses.flatMap((status, k) => {
        const within = may(status, 'signIn') ? reachedWithin(policy, now, k, k, horizonDays) : null
        return within ? [sql`(status = ${statusLiteral(status)} and ${within})`] : []
      })
      const blocked = sweepSteps.indexOf('blocked')
      const [row] = await rows<{ queued: number; people: number }>(db, sql`
        with people as (
          select id, user_id, first_name, email, locale, company_id, ${LAST} as last, ${stepDateOf(policy, now, blocked)} as blocked_at
          from users
          where realm = ${policy.key} and (${reachable.length > 0 ? sql.join(reachable, sql` or `) : sql`false`}) and ${inScope(scope)}
            and email is not null
        ), mails as (
          insert into outbox (key, to_email, locale, template, data, next_attempt_at, created_at)
          select 'inactivity-reminder:' || id || ':' || (extract(epoch from last) * 1000)::bigint, email, locale, 'inactivity-reminder',
            jsonb_strip_nulls(jsonb_build_object('name', first_name, 'userId', user_id, 'realm', ${policy.key}::text, 'url', ${mail.prefix}::text || locale || ${mail.path}::text, 'date', blocked_at, 'timeZone', ${marketTimeZone})),
            ${at}, ${at}
          from people
          on conflict (key) do nothing
          returning key
        ), audit as (
          insert into audit_events (at, actor_type, actor_id, action, target_type, target_id, scope, data, request_id, ip)
          select ${at}, ${audit.actorType}, ${audit.actorId}, 'lifecycle.reminded', 'user', p.id, ${JSON.stringify(audit.scope)}::jsonb,
            jsonb_build_object('days', ${horizonDays}::int, 'blockedAt', p.blocked_at), ${audit.requestId ?? null}, ${audit.ip ?? null}
          from people p join mails m on m.key = 'inactivity-reminder:' || p.id || ':' || (extract(epoch from p.last) * 1000)::bigint
        )
        select (select count(*)::int from mails) as queued, (select count(*)::int from people) as people`)
      const queued = row?.queued ?? 0
      return { queued, already: (row?.people ?? 0) - queued }
    },

    /** The realm's accounts lie between these ids: sweepers split the work by id range. */
    async idRange(realm: string): Promise<IdRange> {
      const [row] = await rows<{ low: number | null; high: number | null }>(db, sql`select min(id) - 1 as low, max(id) as high from users where realm = ${realm}`)
      return { after: row?.low ?? 0, upTo: row?.high ?? 0 }
    },

    /**
     * Moves up to `limit` due accounts of an id range one step, in one statement: the status, the
     * step's email (its outbox key names the user, the step and the inactivity period by its last
     * activity in epoch milliseconds, so an email can never be queued twice), an audit event each,
     * the end of portal sessions and app grants when the step takes access away, and, for a
     * deletion, the erasure of the person (an anonymous tombstone stays). Nothing per account
     * passes through this process, and walking the range by id keeps a sweep linear.
     * The UPDATE checks the step again on the row it changes: a sign-in committed meanwhile wins,
     * and PostgreSQL re-reads a row another transaction holds before moving it.
     */
    async advance(step: SweepStep, policy: InactivityPolicy, now: Date, range: IdRange, limit: number, mail: StepMail): Promise<{ moved: number; lastId: number }> {
      const at = sql`${now.toISOString()}::timestamptz`
      const last = sql`coalesce(last_activity_at, created_at)`
      const erase = step === 'deleted'
      const moved = sql`select id from moved`
      // Only the step that takes access away ends it; later steps find nothing left to end.
      const ending = erase ? sql`, ${erasedRecords(moved, endings)}` : endsAccess(step) && !endsAccess(sweepsFrom(step)) ? sql`, ${endedAccess(moved, endings)}` : sql``
      const [row] = await rows<{ moved: number; last_id: number | null }>(db, sql`
        with picked as (
          select id, user_id, first_name, last_name, email, locale, company_id, ${last} as last_activity
          from users where realm = ${policy.key} and id > ${range.after} and id <= ${range.upTo} and ${due(step, policy, now)}
          order by id limit ${limit}
        ), moved as (
          update users u set status = ${step}, status_changed_at = ${at}, updated_at = ${at}
            ${erase ? sql`, ${erasedColumns}` : sql``}
          from picked where u.id = picked.id and ${due(step, policy, now)}
          returning picked.*
        ), mails as (
          insert into outbox (key, to_email, locale, template, data, next_attempt_at, created_at)
          select 'lifecycle:' || ${step}::text || ':' || id || ':' || (extract(epoch from last_activity) * 1000)::bigint,
            email, locale, ${`lifecycle-${step}`}::text,
            jsonb_strip_nulls(jsonb_build_object('name', concat_ws(' ', first_name, last_name), 'userId', user_id, 'realm', ${policy.key}::text,
              'url', ${mail.url ? sql`${mail.url.prefix}::text || locale || ${mail.url.path}::text` : sql`null`},
              'date', ${mail.promise ? sql`greatest(last_activity + ${days(mail.promise.stepDays)}, ${at} + ${days(mail.promise.stepDays - mail.promise.warnDays)})` : sql`null`},
              'timeZone', ${mail.promise ? marketTimeZone : sql`null`})),
            ${at}, ${at}
          from moved where email is not null
          on conflict (key) do nothing
        ), audit as (
          insert into audit_events (at, actor_type, action, target_type, target_id, data)
          select ${at}, 'system', ${`lifecycle.${step}`}::text, 'user', id,
            jsonb_build_object('realm', ${policy.key}::text, 'lastActivity', last_activity)
          from moved
        )${ending}
        select count(*)::int as moved, max(id) as last_id from moved`)
      return { moved: row?.moved ?? 0, lastId: row?.last_id ?? range.upTo }
    },
  }
}

export type InactivityRepo = ReturnType<typeof createInactivityRepo>
