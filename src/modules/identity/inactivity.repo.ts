import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
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

const DAY = 'interval \'1 day\''

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

/**
 * Which accounts of a realm are due for a step at `now`: in the status the state machine sweeps
 * to it, inactive long enough (activity is `last_activity_at`, creation when never used), and —
 * for later steps — in their status as long as the policy spaces the steps, so an account found
 * long inactive is warned first and keeps every notice period.
 */
function due(step: SweepStep, policy: InactivityPolicy, now: Date): SQL {
  const at = sql`${now.toISOString()}::timestamptz`
  const last = sql`coalesce(last_activity_at, created_at)`
  const { sinceActivity, sincePrevious } = stepDays(step, policy)
  const previous = sincePrevious === null ? sql`` : sql` and coalesce(status_changed_at, ${last}) <= ${at} - ${days(sincePrevious)}`
  return sql`status = ${sweepsFrom(step)} and ${last} <= ${at} - ${days(sinceActivity)}${previous}`
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

/** The statuses the sweep moves accounts from: the only ones with a future in the forecast. */
const sweptStatuses = sweepSteps.map(sweepsFrom)

/**
 * When each step will reach an account that stays away from `now` on, by the sweep's own rules
 * (`due`): a step is due `sinceActivity` days after the last activity and `sincePrevious` days after
 * the previous step, and a step already due happens at the next sweep (`now`). An account several
 * steps behind takes them one after the other, each with its full notice period. One expression per
 * step over the columns `status`, `last` and `changed`; null when the account is past that step.
 */
function stepDates(policy: InactivityPolicy, now: Date): Record<SweepStep, SQL> {
  const at = sql`${now.toISOString()}::timestamptz`
  const dates = {} as Record<SweepStep, SQL>
  sweepSteps.forEach((step, i) => {
    const { sinceActivity, sincePrevious } = stepDays(step, policy)
    const from = sweepsFrom(step)
    const previousStep = sweepSteps[i - 1]
    if (sincePrevious === null || previousStep === undefined) {
      dates[step] = sql`(case when status = ${from} then greatest(last + ${days(sinceActivity)}, ${at}) end)`
      return
    }
    const earlier = sweptStatuses.slice(0, i)
    dates[step] = sql`(case
      when status = ${from} then greatest(last + ${days(sinceActivity)}, changed + ${days(sincePrevious)}, ${at})
      when status in (${sql.join(earlier.map((s) => sql`${s}`), sql`, `)}) then greatest(last + ${days(sinceActivity)}, ${dates[previousStep]} + ${days(sincePrevious)}, ${at})
    end)`
  })
  return dates
}

/**
 * The accounts of a scope that some step may reach within `horizonDays`: every step comes at least
 * `warnBlockDays` after the last activity, so one range of the forecast index finds them all and
 * the scan reads nothing but the index (users_inactivity_forecast).
 */
function forecastAccounts(policy: InactivityPolicy, now: Date, horizonDays: number, scope: ForecastScope): SQL {
  const end = sql`${now.toISOString()}::timestamptz + ${days(horizonDays)}`
  const inScope = 'companyId' in scope
    ? sql`company_id = ${scope.companyId}`
    : sql`company_id in (select id from companies where market_id = ${scope.marketId})`
  return sql`
    select id, company_id, status, coalesce(last_activity_at, created_at) as last,
      coalesce(status_changed_at, last_activity_at, created_at) as changed
    from users
    where realm = ${policy.key} and status in (${sql.join(sweptStatuses.map((s) => sql`${s}`), sql`, `)})
      and coalesce(last_activity_at, created_at) <= ${end} - ${days(policy.warnBlockDays)} and ${inScope}`
}

/** The forecast's one statement: per company, step and horizon, a count. */
function forecastQuery(policy: InactivityPolicy, now: Date, horizons: readonly number[], scope: ForecastScope): SQL {
  const dates = stepDates(policy, now)
  const at = now.getTime()
  const columns = sweepSteps.flatMap((step, s) => horizons.map((h, i) =>
    sql`(count(*) filter (where ${dates[step]} <= ${new Date(at + h * 86_400_000).toISOString()}::timestamptz))::int as ${sql.raw(`s${String(s)}_h${String(i)}`)}`))
  return sql`
    select c.name as company_name, f.* from (
      select company_id, ${sql.join(columns, sql`, `)}
      from (${forecastAccounts(policy, now, Math.max(0, ...horizons), scope)}) a
      group by company_id
    ) f join companies c on c.id = f.company_id`
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
      const found = await rows<Record<string, number | string>>(db, forecastQuery(policy, now, horizons, scope))
      return found.map((row) => ({
        companyId: Number(row.company_id),
        companyName: String(row.company_name),
        counts: Object.fromEntries(sweepSteps.map((step, s) => [step, horizons.map((_, i) => Number(row[`s${String(s)}_h${String(i)}`] ?? 0))])) as Record<SweepStep, number[]>,
      }))
    },

    /** The forecast statement's plan as PostgreSQL runs it (`EXPLAIN (ANALYZE, BUFFERS)`), for the benchmark. */
    async explainForecast(policy: InactivityPolicy, now: Date, horizons: readonly number[], scope: ForecastScope): Promise<string> {
      const plan = await rows<Record<string, string>>(db, sql`explain (analyze, buffers) ${forecastQuery(policy, now, horizons, scope)}`)
      return plan.map((line) => Object.values(line)[0] ?? '').join('\n')
    },

    /** The people a step will reach within `horizonDays`, soonest first (at most `limit`). */
    async forecastPeople(policy: InactivityPolicy, now: Date, horizonDays: number, scope: ForecastScope, step: SweepStep, limit: number): Promise<ForecastPerson[]> {
      const due = stepDates(policy, now)[step]
      return rows<ForecastPerson>(db, sql`
        select u.id, u.user_id, u.first_name, u.last_name, u.company_id, c.name as company_name, u.status, a.last as last_activity, a.due_at
        from (select id, last, ${due} as due_at from (${forecastAccounts(policy, now, horizonDays, scope)}) f) a
        join users u on u.id = a.id join companies c on c.id = u.company_id
        where a.due_at <= ${now.toISOString()}::timestamptz + ${days(horizonDays)}
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
      const dates = stepDates(policy, now)
      const reachable = sweptStatuses.filter((s) => may(s, 'signIn'))
      const [row] = await rows<{ queued: number; people: number }>(db, sql`
        with people as (
          select u.id, u.user_id, u.first_name, u.email, u.locale, a.last, a.blocked_at
          from (select id, last, ${dates.blocked} as blocked_at, least(${sql.join(sweepSteps.map((s) => dates[s]), sql`, `)}) as next_at
                from (${forecastAccounts(policy, now, horizonDays, scope)}) f
                where status in (${sql.join(reachable.map((s) => sql`${s}`), sql`, `)})) a
          join users u on u.id = a.id
          where a.next_at <= ${at} + ${days(horizonDays)} and u.email is not null
        ), mails as (
          insert into outbox (key, to_email, locale, template, data, next_attempt_at, created_at)
          select 'inactivity-reminder:' || id || ':' || (extract(epoch from last) * 1000)::bigint, email, locale, 'inactivity-reminder',
            jsonb_build_object('name', first_name, 'userId', user_id, 'url', ${mail.prefix}::text || locale || ${mail.path}::text, 'date', blocked_at),
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
          select id, user_id, first_name, last_name, email, locale, ${last} as last_activity
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
              'date', ${mail.promise ? sql`greatest(last_activity + ${days(mail.promise.stepDays)}, ${at} + ${days(mail.promise.stepDays - mail.promise.warnDays)})` : sql`null`})),
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
