import { eq, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { erasedColumns, erasedRecords } from '../../db/erasure.js'
import { rows } from '../../db/query.js'
import { auditEvents, realms } from '../../db/schema/index.js'
import { createOutboxRepo } from '../../shared/mail/outbox.repo.js'

export type RealmPolicy = typeof realms.$inferSelect

/** The steps of the inactivity lifecycle, in order. */
export const stages = ['block_warned', 'blocked', 'delete_warned', 'deleted'] as const
export type Stage = (typeof stages)[number]

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

/**
 * Which accounts of a realm are due for a step at `now`. Activity is `last_activity_at` (creation
 * when never used). Each later step also waits until the step before it is as old as the policy
 * spaces them, so an account found long inactive is warned first and keeps every notice period.
 */
function due(stage: Stage, policy: RealmPolicy, now: Date): SQL {
  const at = sql`${now.toISOString()}::timestamptz`
  const last = sql`coalesce(last_activity_at, created_at)`
  const since = sql`coalesce(status_changed_at, ${last})`
  switch (stage) {
    case 'block_warned':
      return sql`status = 'active' and ${last} <= ${at} - ${days(policy.warnBlockDays)}`
    case 'blocked':
      return sql`status = 'block_warned' and ${last} <= ${at} - ${days(policy.blockDays)} and ${since} <= ${at} - ${days(policy.blockDays - policy.warnBlockDays)}`
    case 'delete_warned':
      return sql`status = 'blocked' and ${last} <= ${at} - ${days(policy.warnDeleteDays)} and ${since} <= ${at} - ${days(policy.warnDeleteDays - policy.blockDays)}`
    case 'deleted':
      return sql`status = 'delete_warned' and ${last} <= ${at} - ${days(policy.deleteDays)} and ${since} <= ${at} - ${days(policy.deleteDays - policy.warnDeleteDays)}`
  }
}

export function createLifecycleRepo(db: Db) {
  const outbox = createOutboxRepo(db)

  return {
    async policies(): Promise<RealmPolicy[]> {
      return db.select().from(realms).orderBy(realms.key)
    },

    async policy(realm: string): Promise<RealmPolicy | undefined> {
      const [row] = await db.select().from(realms).where(eq(realms.key, realm))
      return row
    },

    async updatePolicy(realm: string, policy: Pick<RealmPolicy, 'warnBlockDays' | 'blockDays' | 'warnDeleteDays' | 'deleteDays'>, audit: typeof auditEvents.$inferInsert): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.update(realms).set(policy).where(eq(realms.key, realm))
        await tx.insert(auditEvents).values(audit)
      })
    },

    /** How many accounts of the realm each step would move now (dry run). */
    async countDue(policy: RealmPolicy, now: Date): Promise<Record<Stage, number>> {
      const counts = {} as Record<Stage, number>
      for (const stage of stages) {
        const [row] = await rows<{ n: number }>(db, sql`select count(*)::int as n from users where realm = ${policy.key} and ${due(stage, policy, now)}`)
        counts[stage] = row?.n ?? 0
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
     * activity in epoch milliseconds, so an email can never be queued twice), an audit event each
     * and, for a deletion, the erasure of the person (an anonymous tombstone stays). Nothing per
     * account passes through this process, and walking the range by id keeps a sweep linear.
     * The UPDATE checks the step again on the row it changes: a sign-in committed meanwhile wins,
     * and PostgreSQL re-reads a row another transaction holds before moving it.
     */
    async advance(stage: Stage, policy: RealmPolicy, now: Date, range: IdRange, limit: number, mail: StepMail): Promise<{ moved: number; lastId: number }> {
      const at = sql`${now.toISOString()}::timestamptz`
      const last = sql`coalesce(last_activity_at, created_at)`
      const erase = stage === 'deleted'
      const [row] = await rows<{ moved: number; last_id: number | null }>(db, sql`
        with picked as (
          select id, user_id, first_name, email, locale, ${last} as last_activity
          from users where realm = ${policy.key} and id > ${range.after} and id <= ${range.upTo} and ${due(stage, policy, now)}
          order by id limit ${limit}
        ), moved as (
          update users u set status = ${stage}, status_changed_at = ${at}, updated_at = ${at}
            ${erase ? sql`, ${erasedColumns}` : sql``}
          from picked where u.id = picked.id and ${due(stage, policy, now)}
          returning picked.*
        ), mails as (
          insert into outbox (key, to_email, locale, template, data, next_attempt_at, created_at)
          select 'lifecycle:' || ${stage}::text || ':' || id || ':' || (extract(epoch from last_activity) * 1000)::bigint,
            email, locale, ${`lifecycle-${stage}`}::text,
            jsonb_strip_nulls(jsonb_build_object('name', first_name, 'userId', user_id,
              'url', ${mail.url ? sql`${mail.url.prefix}::text || locale || ${mail.url.path}::text` : sql`null`},
              'date', ${mail.promise ? sql`greatest(last_activity + ${days(mail.promise.stepDays)}, ${at} + ${days(mail.promise.stepDays - mail.promise.warnDays)})` : sql`null`})),
            ${at}, ${at}
          from moved where email is not null
          on conflict (key) do nothing
        ), audit as (
          insert into audit_events (at, actor_type, action, target_type, target_id, data)
          select ${at}, 'system', ${`lifecycle.${stage}`}::text, 'user', id,
            jsonb_build_object('realm', ${policy.key}::text, 'lastActivity', last_activity)
          from moved
        )${erase ? sql`, ${erasedRecords(sql`select id from moved`)}` : sql``}
        select count(*)::int as moved, max(id) as last_id from moved`)
      return { moved: row?.moved ?? 0, lastId: row?.last_id ?? range.upTo }
    },

    purgeSentMail: (sentBefore: Date, erasePrefixes: string[]) => outbox.purgeSent(sentBefore, erasePrefixes),
  }
}

export type LifecycleRepo = ReturnType<typeof createLifecycleRepo>
