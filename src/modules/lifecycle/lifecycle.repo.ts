import { eq, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { eraseAccounts } from '../../db/erasure.js'
import { rows } from '../../db/query.js'
import { auditEvents, realms } from '../../db/schema/index.js'
import { createOutboxRepo, type OutgoingMail } from '../../shared/mail/outbox.repo.js'

export type RealmPolicy = typeof realms.$inferSelect

/** The steps of the inactivity lifecycle, in order. */
export const stages = ['block_warned', 'blocked', 'delete_warned', 'deleted'] as const
export type Stage = (typeof stages)[number]

/** An account a sweep step moved, with what it was before (a deleted one's data is gone afterwards). */
export interface MovedAccount extends Record<string, unknown> {
  id: number
  user_id: string
  first_name: string
  email: string | null
  locale: string
  last_activity: Date | string
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

    /**
     * Moves up to `limit` due accounts one step, in one transaction with their emails (the outbox
     * key names the user, the step and the inactivity period, so an email can never be queued
     * twice) and audit events. Rows are locked with SKIP LOCKED: two sweepers never take the same.
     * A deletion erases the person in the same transaction and leaves an anonymous tombstone.
     */
    async advance(stage: Stage, policy: RealmPolicy, now: Date, limit: number, notice: (account: MovedAccount) => OutgoingMail | null): Promise<MovedAccount[]> {
      return db.transaction(async (tx) => {
        const at = sql`${now.toISOString()}::timestamptz`
        const moved = await rows<MovedAccount>(tx, sql`
          with picked as (
            select id, user_id, first_name, email, locale, coalesce(last_activity_at, created_at) as last_activity
            from users where realm = ${policy.key} and ${due(stage, policy, now)}
            order by id limit ${limit} for update skip locked
          )
          update users u set status = ${stage}, status_changed_at = ${at}, updated_at = ${at}
          from picked where u.id = picked.id
          returning picked.id, picked.user_id, picked.first_name, picked.email, picked.locale, picked.last_activity`)
        if (moved.length === 0) return moved
        if (stage === 'deleted') await eraseAccounts(tx, moved.map((m) => m.id), now)
        await outbox.enqueueMany(tx, moved.flatMap((m) => notice(m) ?? []), now)
        await tx.insert(auditEvents).values(moved.map((m) => ({
          at: now, actorType: 'system', action: `lifecycle.${stage}`, targetType: 'user', targetId: m.id,
          data: { realm: policy.key, lastActivity: new Date(m.last_activity).toISOString() },
        })))
        return moved
      })
    },

    purgeSentMail: (sentBefore: Date, erasePrefixes: string[]) => outbox.purgeSent(sentBefore, erasePrefixes),
  }
}

export type LifecycleRepo = ReturnType<typeof createLifecycleRepo>
