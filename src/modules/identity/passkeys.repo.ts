import { and, eq, gt, lt, or, sql } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client.js'
import { passkeyChallenges, passkeys, secondFactors, type PasskeyPurpose } from '../../db/schema/index.js'
import type { StoredPasskey } from './passkeys.js'

export type PasskeyRow = StoredPasskey & { factorId: number; userId: number }

const columns = {
  factorId: passkeys.factorId, userId: passkeys.userId, credentialId: passkeys.credentialId,
  publicKey: passkeys.publicKey, counter: passkeys.counter, transports: passkeys.transports,
}

/**
 * Passkeys and their challenges: identity's tables, written only here. A passkey's name, creation
 * and last use are its `second_factors` row (factors.repo.ts), so the factor list, renaming,
 * removal and an administrator's reset treat it like any other factor.
 */
export function createPasskeysRepo(db: Db | Tx) {
  return {
    /** Stores a challenge's hash and what it is for; expired ones are swept on the way. */
    async createChallenge(row: { challengeHash: string; purpose: PasskeyPurpose; realm: string; userId: number | null; stepHash: string | null; expiresAt: Date }, now: Date): Promise<void> {
      await db.delete(passkeyChallenges).where(lt(passkeyChallenges.expiresAt, now))
      await db.insert(passkeyChallenges).values(row)
    },
    /**
     * Uses a challenge once: deleted only when it is unexpired and was issued for this purpose,
     * realm, account and second step. False for anything else (unknown, used, expired, other use).
     */
    async useChallenge(hash: string, bound: { purpose: PasskeyPurpose; realm: string; userId?: number; stepHash?: string }, now: Date): Promise<boolean> {
      const used = await db.delete(passkeyChallenges).where(and(
        eq(passkeyChallenges.challengeHash, hash), eq(passkeyChallenges.purpose, bound.purpose), eq(passkeyChallenges.realm, bound.realm), gt(passkeyChallenges.expiresAt, now),
        bound.userId === undefined ? undefined : eq(passkeyChallenges.userId, bound.userId),
        bound.stepHash === undefined ? undefined : eq(passkeyChallenges.stepHash, bound.stepHash),
      )).returning({ hash: passkeyChallenges.challengeHash })
      return used.length === 1
    },

    async passkeysOf(userId: number): Promise<PasskeyRow[]> {
      return db.select(columns).from(passkeys).where(eq(passkeys.userId, userId)).orderBy(passkeys.factorId)
    },
    async byCredentialId(credentialId: string): Promise<PasskeyRow | undefined> {
      const [row] = await db.select(columns).from(passkeys).where(eq(passkeys.credentialId, credentialId))
      return row
    },
    /** A confirmed factor of kind 'passkey' with its credential, in the caller's transaction. */
    async addPasskey(input: { userId: number; name: string; at: Date; passkey: StoredPasskey }): Promise<number> {
      const [factor] = await db.insert(secondFactors).values({ userId: input.userId, kind: 'passkey', name: input.name, secret: '', createdAt: input.at, confirmedAt: input.at }).returning({ id: secondFactors.id })
      if (!factor) throw new Error('factor not inserted')
      const inserted = await db.insert(passkeys).values({ factorId: factor.id, userId: input.userId, ...input.passkey }).onConflictDoNothing().returning({ factorId: passkeys.factorId })
      return inserted.length === 1 ? factor.id : 0
    },
    /**
     * Records a use: the counter moves to `counter` only from the value the answer was checked
     * against (two answers racing, the second is refused), and the factor's last use is set.
     * Authenticators without a counter (always 0) stay at 0.
     */
    async recordUse(row: PasskeyRow, counter: number, at: Date): Promise<boolean> {
      const moved = await db.update(passkeys).set({ counter })
        .where(and(eq(passkeys.factorId, row.factorId), eq(passkeys.counter, row.counter), or(gt(sql`${counter}::bigint`, passkeys.counter), eq(passkeys.counter, 0))))
        .returning({ factorId: passkeys.factorId })
      if (moved.length !== 1) return false
      await db.update(secondFactors).set({ lastUsedAt: at }).where(eq(secondFactors.id, row.factorId))
      return true
    },
  }
}

export type PasskeysRepo = ReturnType<typeof createPasskeysRepo>
