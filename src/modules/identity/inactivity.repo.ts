import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { rows } from '../../db/query.js'
import { endedAccess, erasedColumns, erasedRecords, noEndings, type AccountEndings } from './account-end.repo.js'
import { endsAccess, sweepsFrom, sweepSteps, type SweepStep } from './account-status.js'

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
