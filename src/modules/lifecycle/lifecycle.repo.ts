import { eq } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { auditEvents, realms } from '../../db/schema/index.js'
import { createOutboxRepo } from '../../shared/mail/outbox.repo.js'

export type RealmPolicy = typeof realms.$inferSelect

/** The realms' inactivity policies, and the sent lifecycle emails to forget. Accounts are identity's to change. */
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

    purgeSentMail: (sentBefore: Date, erasePrefixes: string[]) => outbox.purgeSent(sentBefore, erasePrefixes),
  }
}

export type LifecycleRepo = ReturnType<typeof createLifecycleRepo>
