import { eq, sql } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { scimTokens } from '../../db/schema/index.js'
import { recordAudit, type AuditInput } from '../../shared/audit/audit.repo.js'

export type ScimTokenRow = typeof scimTokens.$inferSelect

/** The only writer of `scim_tokens`: one provisioning token per machine client, stored as its SHA-256. */
export function createScimRepo(db: Db) {
  // Every SCIM request looks its token up: prepared by name, one round trip each.
  const byHash = db.select({ clientId: scimTokens.clientId, companyId: scimTokens.companyId, marketId: scimTokens.marketId })
    .from(scimTokens).where(eq(scimTokens.tokenHash, sql.placeholder('tokenHash'))).limit(1).prepare('scim_token_by_hash')
  return {
    /** The client and scope of a token, by its hash (one indexed lookup per request). */
    async findByHash(tokenHash: string): Promise<Pick<ScimTokenRow, 'clientId' | 'companyId' | 'marketId'> | undefined> {
      const [row] = await byHash.execute({ tokenHash })
      return row
    },

    /** Issues (or replaces) a client's token and scope, with its audit event, in one transaction. */
    async issue(token: typeof scimTokens.$inferInsert, audit: AuditInput): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.insert(scimTokens).values(token).onConflictDoUpdate({
          target: scimTokens.clientId, set: { tokenHash: token.tokenHash, companyId: token.companyId ?? null, marketId: token.marketId ?? null, createdAt: token.createdAt },
        })
        await recordAudit(tx, audit)
      })
    },

    /** Withdraws a client's token; false when it had none. */
    async revoke(clientId: string, audit: AuditInput): Promise<boolean> {
      return db.transaction(async (tx) => {
        const removed = await tx.delete(scimTokens).where(eq(scimTokens.clientId, clientId)).returning({ clientId: scimTokens.clientId })
        if (removed.length > 0) await recordAudit(tx, audit)
        return removed.length > 0
      })
    },
  }
}

export type ScimRepo = ReturnType<typeof createScimRepo>
