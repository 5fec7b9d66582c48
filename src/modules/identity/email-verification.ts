import { randomBytes, randomInt } from 'node:crypto'
import { clock } from '../../shared/clock.js'
import { uniqueViolation } from '../../db/errors.js'
import { AppError } from '../../shared/errors.js'
import { hashToken, type RequestContext } from './auth.service.js'
import type { IdentityRepo, IdentityWrites, UserRow } from './identity.repo.js'

const VERIFY_TTL_MS = 24 * 60 * 60 * 1000
export const MAX_CODE_TRIES = 5
const CODE_WINDOW_MS = 24 * 60 * 60 * 1000

/** Who approves a verified account: the company's organization administrator, or for a new workshop the market administrator. */
export type Approver = 'org_admin' | 'market_admin'

/** Codes are only 6 digits, so their hash is bound to the account: the same code for two accounts is two different rows. */
export function codeHash(userId: number, code: string): string {
  return hashToken(`code:${userId}:${code}`)
}

/**
 * Proving that an address belongs to an account: a link and a 6-digit code sent to it, either of
 * which verifies. Shared by registration (guests) and the account page (signed-in users).
 */
export function createEmailVerifier(repo: IdentityRepo) {
  /**
   * A fresh link and code for `email` in the caller's transaction; earlier ones stop working. With
   * `email` null (a registration whose address has an owner) the same rows are written, bound to no
   * address, so they can never verify: the work is the same either way.
   */
  async function issue(tx: IdentityWrites, user: UserRow, email: string | null, now: Date): Promise<{ token: string; code: string }> {
    const token = randomBytes(32).toString('base64url')
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0')
    await tx.killTokens(user.id, ['verify_email'], now)
    await tx.createToken({ userId: user.id, purpose: 'verify_email', tokenHash: hashToken(token), email, expiresAt: new Date(now.getTime() + VERIFY_TTL_MS), createdAt: now })
    await tx.createToken({ userId: user.id, purpose: 'verify_email', tokenHash: codeHash(user.id, code), email, expiresAt: new Date(now.getTime() + VERIFY_TTL_MS), createdAt: now })
    return { token, code }
  }

  /** The verification email with its link and code, in the caller's transaction. */
  async function mail(tx: IdentityWrites, user: UserRow, email: string, issued: { token: string; code: string }, ctx: RequestContext, now: Date): Promise<void> {
    await tx.enqueueMail({
      key: `verify:${user.id}:${hashToken(issued.token).slice(0, 16)}`, to: email, locale: user.locale, template: 'verify-email',
      data: { name: `${user.firstName} ${user.lastName}`, code: issued.code, userId: user.userId, url: `${ctx.publicUrl}/${user.locale}/verify/${issued.token}` },
    }, now)
    await tx.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'email.verification_sent', target: { type: 'user', id: user.id }, requestId: ctx.requestId, ip: ctx.ip })
  }

  return {
    issue,
    mail,

    /** Sends a fresh link and code to `email`; earlier ones stop working. */
    async send(user: UserRow, email: string, ctx: RequestContext): Promise<void> {
      const now = clock.now()
      await repo.transaction(async (tx) => {
        await mail(tx, user, email, await issue(tx, user, email, now), ctx, now)
      })
    },

    /**
     * The verification token behind a code typed for `user`, or TOKEN_INVALID. Wrong codes count
     * against the address that sends them (five a day), never against the account: a stranger who
     * knows a user ID cannot end its owner's code or link, and the owner's own tries still work.
     */
    async findCode(user: UserRow, code: string, ctx: RequestContext): Promise<{ id: number; email: string }> {
      const now = clock.now()
      if ((await repo.countWrongCodesFrom(ctx.ip, new Date(now.getTime() - CODE_WINDOW_MS))) >= MAX_CODE_TRIES) throw new AppError('TOKEN_INVALID')
      const row = await repo.findToken(codeHash(user.id, code))
      if (!row || row.purpose !== 'verify_email' || row.usedAt || row.expiresAt <= now || !row.email) {
        await repo.audit({ at: now, actor: { type: 'guest', id: null }, action: 'email.code_wrong', target: { type: 'user', id: user.id }, requestId: ctx.requestId, ip: ctx.ip })
        throw new AppError('TOKEN_INVALID')
      }
      return { id: row.id, email: row.email }
    },

    /** The verification token behind an emailed link, with its account, or TOKEN_INVALID. */
    async findLink(token: string): Promise<{ id: number; email: string; user: UserRow }> {
      const row = token.length <= 100 ? await repo.findToken(hashToken(token)) : undefined
      if (!row || row.purpose !== 'verify_email' || row.usedAt || row.expiresAt <= clock.now() || !row.email) throw new AppError('TOKEN_INVALID')
      const user = await repo.findUser(row.userId)
      if (!user || user.status === 'deleted') throw new AppError('TOKEN_INVALID')
      return { id: row.id, email: row.email, user }
    },

    /**
     * Makes `email` the account's verified address. A new registration then waits for approval; a
     * changed address tells the old one, and reset links sent to the old one stop working.
     */
    async markVerified(user: UserRow, email: string, tokenId: number, ctx: RequestContext): Promise<Approver | null> {
      const now = clock.now()
      const owner = await repo.findByEmail(user.realm, email)
      if (owner && owner.id !== user.id) throw new AppError('EMAIL_IN_USE')
      const approver: Approver | null = user.status === 'pending_verification' ? (user.companyId && await repo.companyIsPending(user.companyId) ? 'market_admin' : 'org_admin') : null
      const previous = user.emailVerifiedAt && user.email && user.email.toLowerCase() !== email.toLowerCase() ? user.email : null
      try {
        await repo.transaction(async (tx) => {
          if (!(await tx.useToken(tokenId, now))) throw new AppError('TOKEN_INVALID')
          await tx.killTokens(user.id, ['verify_email'], now)
          await tx.setEmailVerified(user.id, email, now, approver ? 'pending_approval' : user.status)
          if (previous) {
            await tx.killTokens(user.id, ['reset_password', 'admin_reset'], now)
            await tx.enqueueMail({
              key: `email-changed:${user.id}:${now.toISOString()}`, to: previous, locale: user.locale, template: 'email-changed',
              data: { name: `${user.firstName} ${user.lastName}`, userId: user.userId, email, url: `${ctx.publicUrl}/${user.locale}/support/new?topic=account-status` },
            }, now)
          }
          await tx.audit({
            at: now, actor: { type: 'user', id: user.id }, action: previous ? 'email.changed' : 'email.verified', target: { type: 'user', id: user.id },
            requestId: ctx.requestId, ip: ctx.ip,
          })
        })
      } catch (error) {
        // Another account verified this address a moment earlier: that owner won (the unique index says so).
        if (uniqueViolation(error) === 'users_realm_email') throw new AppError('EMAIL_IN_USE')
        throw error
      }
      return approver
    },
  }
}

export type EmailVerifier = ReturnType<typeof createEmailVerifier>
