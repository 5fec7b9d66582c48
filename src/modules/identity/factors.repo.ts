import { and, asc, eq, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client.js'
import { companies, markets, recoveryCodes, secondFactors, sessions, signInChallenges, userRoles, users } from '../../db/schema/index.js'
import type { FactorPolicyFacts } from './second-factor.js'

export type FactorRow = typeof secondFactors.$inferSelect
export type ChallengeRow = typeof signInChallenges.$inferSelect

/**
 * Second factors, recovery codes and the pending second step of a sign-in: identity's tables,
 * written only here. Built on a database or on a transaction of the identity repo (`executor`).
 */
export function createFactorsRepo(db: Db | Tx) {
  return {
    /** Confirmed factors of an account, oldest first (enrolments still waiting for a code are left out). */
    async confirmedFactors(userId: number): Promise<FactorRow[]> {
      return db.select().from(secondFactors).where(and(eq(secondFactors.userId, userId), isNotNull(secondFactors.confirmedAt))).orderBy(asc(secondFactors.id))
    },
    async factor(userId: number, id: number): Promise<FactorRow | undefined> {
      const [row] = await db.select().from(secondFactors).where(and(eq(secondFactors.userId, userId), eq(secondFactors.id, id)))
      return row
    },
    async addFactor(row: typeof secondFactors.$inferInsert): Promise<FactorRow> {
      const [inserted] = await db.insert(secondFactors).values(row).returning()
      if (!inserted) throw new Error('factor not inserted')
      return inserted
    },
    /** Enrolments never confirmed are dropped when a new one starts (one waiting at a time). */
    async dropUnconfirmed(userId: number): Promise<void> {
      await db.delete(secondFactors).where(and(eq(secondFactors.userId, userId), isNull(secondFactors.confirmedAt)))
    },
    async confirmFactor(id: number, name: string, step: number, at: Date): Promise<void> {
      await db.update(secondFactors).set({ confirmedAt: at, name, lastUsedStep: step, lastUsedAt: at }).where(eq(secondFactors.id, id))
    },
    async renameFactor(userId: number, id: number, name: string): Promise<boolean> {
      const renamed = await db.update(secondFactors).set({ name }).where(and(eq(secondFactors.userId, userId), eq(secondFactors.id, id))).returning({ id: secondFactors.id })
      return renamed.length === 1
    },
    async removeFactor(userId: number, id: number): Promise<boolean> {
      const removed = await db.delete(secondFactors).where(and(eq(secondFactors.userId, userId), eq(secondFactors.id, id))).returning({ id: secondFactors.id })
      return removed.length === 1
    },
    /** Every factor and recovery code of an account (an administrator's reset after the identity check). */
    async removeAllFactors(userId: number): Promise<number> {
      const removed = await db.delete(secondFactors).where(eq(secondFactors.userId, userId)).returning({ id: secondFactors.id })
      await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId))
      await db.delete(signInChallenges).where(eq(signInChallenges.userId, userId))
      return removed.length
    },
    /**
     * Records that a code of time step `step` was used: only if no code of that step or a later one
     * was (a code seen once, even by an attacker watching, is refused afterwards). False: a replay.
     */
    async useStep(id: number, step: number, at: Date): Promise<boolean> {
      const used = await db.update(secondFactors).set({ lastUsedStep: step, lastUsedAt: at })
        .where(and(eq(secondFactors.id, id), or(isNull(secondFactors.lastUsedStep), lt(secondFactors.lastUsedStep, step))))
        .returning({ id: secondFactors.id })
      return used.length === 1
    },

    async replaceRecoveryCodes(userId: number, hashes: string[], at: Date): Promise<void> {
      await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId))
      if (hashes.length > 0) await db.insert(recoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash, createdAt: at })))
    },
    /** Uses a recovery code once; false when it is unknown or was used. */
    async useRecoveryCode(userId: number, codeHash: string, at: Date): Promise<boolean> {
      const used = await db.update(recoveryCodes).set({ usedAt: at })
        .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)))
        .returning({ id: recoveryCodes.id })
      return used.length === 1
    },
    async unusedRecoveryCodes(userId: number): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
      return row?.n ?? 0
    },

    async createChallenge(row: ChallengeRow): Promise<void> {
      // One pending second step per account: a new password sign-in replaces the older one.
      await db.delete(signInChallenges).where(eq(signInChallenges.userId, row.userId))
      await db.insert(signInChallenges).values(row)
    },
    async findChallenge(idHash: string, now: Date): Promise<ChallengeRow | undefined> {
      const [row] = await db.select().from(signInChallenges).where(and(eq(signInChallenges.idHash, idHash), gt(signInChallenges.expiresAt, now)))
      return row
    },
    /** Ends a pending step; false when it was already used (a second tab, a replay). */
    async endChallenge(idHash: string): Promise<boolean> {
      const ended = await db.delete(signInChallenges).where(eq(signInChallenges.idHash, idHash)).returning({ idHash: signInChallenges.idHash })
      return ended.length === 1
    },

    /** What the second-factor policy reads of an account: realm, roles, and its market's rule. */
    async policyFacts(userId: number): Promise<FactorPolicyFacts> {
      const [roles, [row]] = await Promise.all([
        db.select({ role: userRoles.role }).from(userRoles).where(eq(userRoles.userId, userId)),
        db.select({ realm: users.realm, marketRequires: markets.secondFactorRequired }).from(users)
          .leftJoin(companies, eq(companies.id, users.companyId)).leftJoin(markets, eq(markets.id, companies.marketId)).where(eq(users.id, userId)),
      ])
      return { realm: row?.realm ?? '', roles, marketRequires: row?.marketRequires ?? false }
    },
    /** The grace starts again (an administrator removed the person's factors). */
    async resetGrace(userId: number): Promise<void> {
      await db.update(users).set({ factorGraceUsed: 0 }).where(eq(users.id, userId))
    },
    /** One more sign-in without the required factor; returns how many were used. */
    async countGraceSignIn(userId: number): Promise<number> {
      const [row] = await db.update(users).set({ factorGraceUsed: sql`${users.factorGraceUsed} + 1` }).where(eq(users.id, userId)).returning({ used: users.factorGraceUsed })
      return row?.used ?? 0
    },
    /** A factor is enrolled: the account's sessions reach every page again. */
    async releaseSessions(userId: number): Promise<void> {
      await db.update(sessions).set({ mustEnrol: false }).where(eq(sessions.userId, userId))
    },
  }
}

export type FactorsRepo = ReturnType<typeof createFactorsRepo>
