import { and, asc, eq, inArray, like, lte, or, sql } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client.js'
import { rows } from '../../db/query.js'
import { outbox } from '../../db/schema/index.js'

export interface OutgoingMail {
  /** Unique per email: e.g. `reset:42:2026-11-25T10:00:00Z`. A second enqueue with the same key does nothing. */
  key: string
  to: string
  locale: string
  template: string
  data: Record<string, string | number>
}

export type OutboxRow = typeof outbox.$inferSelect

export function createOutboxRepo(db: Db) {
  return {
    /** Queues an email inside the caller's transaction, so it exists exactly when the change does. */
    async enqueue(tx: Db | Tx, mail: OutgoingMail, now: Date): Promise<void> {
      await tx.insert(outbox).values({
        key: mail.key, toEmail: mail.to, locale: mail.locale, template: mail.template, data: mail.data,
        nextAttemptAt: now, createdAt: now,
      // Prepared: one round trip instead of two, inside the caller's transaction.
      }).onConflictDoNothing({ target: outbox.key }).prepare('outbox_enqueue').execute()
    },

    /** Several emails in one statement, inside the caller's transaction (the lifecycle sweep's batches). */
    async enqueueMany(tx: Db | Tx, mails: OutgoingMail[], now: Date): Promise<void> {
      if (mails.length === 0) return
      await tx.insert(outbox).values(mails.map((mail) => ({
        key: mail.key, toEmail: mail.to, locale: mail.locale, template: mail.template, data: mail.data, nextAttemptAt: now, createdAt: now,
      }))).onConflictDoNothing({ target: outbox.key })
    },

    /**
     * Forgets sent emails: all of them after the retention period, and at once those whose key
     * starts with one of `erasePrefixes` (the notice to an erased account must not keep its address).
     */
    async purgeSent(sentBefore: Date, erasePrefixes: string[]): Promise<number> {
      const removed = await db.delete(outbox).where(and(eq(outbox.status, 'sent'), or(
        lte(outbox.sentAt, sentBefore),
        ...erasePrefixes.map((prefix) => like(outbox.key, `${prefix}%`)),
      ))).returning({ id: outbox.id })
      return removed.length
    },

    /**
     * Claims due emails for sending: each row is locked (SKIP LOCKED, so several workers share the
     * queue) and its attempt counted before sending, so a crash cannot lead to a silent double send loop.
     */
    async claimDue(now: Date, limit: number, leaseSeconds: number): Promise<OutboxRow[]> {
      return rows<OutboxRow & Record<string, unknown>>(db, sql`
        update outbox set attempts = attempts + 1, next_attempt_at = ${new Date(now.getTime() + leaseSeconds * 1000).toISOString()}::timestamptz
        where id in (
          select id from outbox where status = 'pending' and next_attempt_at <= ${now.toISOString()}::timestamptz
          order by next_attempt_at, id limit ${limit} for update skip locked
        )
        returning id, key, to_email as "toEmail", locale, template, data, status, attempts,
          next_attempt_at as "nextAttemptAt", last_error as "lastError", created_at as "createdAt", sent_at as "sentAt"`)
    },

    /** One statement for a batch the worker has handed over, instead of one per email. */
    async markSent(ids: number[], now: Date): Promise<void> {
      if (ids.length === 0) return
      await db.update(outbox).set({ status: 'sent', sentAt: now, lastError: null }).where(inArray(outbox.id, ids))
    },

    async markFailed(id: number, error: string, retryAt: Date | null): Promise<void> {
      await db.update(outbox).set(retryAt
        ? { lastError: error.slice(0, 1000), nextAttemptAt: retryAt }
        : { lastError: error.slice(0, 1000), status: 'failed' }).where(eq(outbox.id, id))
    },

    async pendingCount(): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(eq(outbox.status, 'pending'))
      return row?.n ?? 0
    },

    async to(email: string): Promise<OutboxRow[]> {
      return db.select().from(outbox).where(sql`lower(${outbox.toEmail}) = lower(${email})`).orderBy(asc(outbox.id))
    },

    async due(now: Date): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(outbox)
        .where(and(eq(outbox.status, 'pending'), lte(outbox.nextAttemptAt, now)))
      return row?.n ?? 0
    },
  }
}

export type OutboxRepo = ReturnType<typeof createOutboxRepo>
