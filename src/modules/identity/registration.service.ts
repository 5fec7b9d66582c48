import { randomBytes, randomInt } from 'node:crypto'
import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { hashToken, type RequestContext } from './auth.service.js'
import type { IdentityRepo, UserRow } from './identity.repo.js'
import { hashPassword, passwordError, passwordProblem } from './password.js'

const VERIFY_TTL_MS = 24 * 60 * 60 * 1000
const MAX_CODE_TRIES = 5

export interface RegistrationInput {
  realm: string
  userId: string
  firstName: string
  lastName: string
  email: string
  password: string
  confirm: string
  locale: string
  /** An existing company by its number, or a new independent workshop. */
  company: { kind: 'existing'; companyNumber: string } | { kind: 'new'; name: string; street: string; postalCode: string; city: string; marketCode: string }
}

export interface RegistrationDeps {
  findCompany(companyNumber: string): Promise<{ id: number } | undefined>
  createPendingCompany(input: { name: string; street: string; postalCode: string; city: string; marketCode: string }): Promise<{ id: number }>
}

/** Who approves a verified account: the company's organization administrator, or for a new workshop the market administrator. */
export type Approver = 'org_admin' | 'market_admin'

function codeHash(userId: number, code: string): string {
  return hashToken(`code:${userId}:${code}`)
}

export function createRegistrationService(repo: IdentityRepo, deps: RegistrationDeps) {
  async function sendVerification(user: UserRow, email: string, ctx: RequestContext, now: Date): Promise<void> {
    const token = randomBytes(32).toString('base64url')
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0')
    await repo.transaction(async (tx) => {
      await tx.killTokens(user.id, ['verify_email'], now)
      await tx.createToken({ userId: user.id, purpose: 'verify_email', tokenHash: hashToken(token), email, expiresAt: new Date(now.getTime() + VERIFY_TTL_MS), createdAt: now })
      await tx.createToken({ userId: user.id, purpose: 'verify_email', tokenHash: codeHash(user.id, code), email, expiresAt: new Date(now.getTime() + VERIFY_TTL_MS), createdAt: now })
      await tx.enqueueMail({
        key: `verify:${user.id}:${hashToken(token).slice(0, 16)}`, to: email, locale: user.locale, template: 'verify-email',
        data: { name: user.firstName, code, userId: user.userId, url: `${ctx.publicUrl}/${user.locale}/verify/${token}` },
      }, now)
    })
  }

  async function markVerified(user: UserRow, email: string, tokenId: number, ctx: RequestContext): Promise<Approver | null> {
    const now = clock.now()
    const approver: Approver | null = user.status === 'pending_verification' ? (user.companyId && await repo.companyIsPending(user.companyId) ? 'market_admin' : 'org_admin') : null
    await repo.transaction(async (tx) => {
      if (!(await tx.useToken(tokenId, now))) throw new AppError('TOKEN_INVALID')
      await tx.killTokens(user.id, ['verify_email'], now)
      await tx.setEmailVerified(user.id, email, now, approver ? 'pending_approval' : user.status)
      await tx.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'email.verified', target: { type: 'user', id: user.id }, requestId: ctx.requestId, ip: ctx.ip })
    })
    return approver
  }

  return {
    /**
     * Self-registration. A user ID already taken is said so (the person must choose another); an
     * email already used in the realm is not: the answer is the same as a success, and the owner of
     * that address is told instead.
     */
    async register(_actor: Actor, input: RegistrationInput, ctx: RequestContext): Promise<void> {
      if (input.password !== input.confirm) throw new AppError('PASSWORDS_DIFFER')
      const problem = passwordProblem(input.password, [input.userId, input.email, input.firstName, input.lastName])
      if (problem) throw passwordError(problem)
      if (await repo.userIdTaken(input.realm, input.userId)) throw new AppError('USER_ID_TAKEN')
      const company = input.company.kind === 'existing' ? await deps.findCompany(input.company.companyNumber) : undefined
      if (input.company.kind === 'existing' && !company) throw new AppError('COMPANY_NOT_FOUND')
      const now = clock.now()
      const owner = await repo.findByEmail(input.realm, input.email)
      if (owner) {
        await repo.enqueueMail({
          key: `email-in-use:${owner.id}:${now.toISOString()}`, to: owner.email ?? input.email, locale: owner.locale, template: 'email-in-use',
          data: { name: owner.firstName, userId: owner.userId, url: `${ctx.publicUrl}/${owner.locale}/password/forgot` },
        }, now)
        return
      }
      const companyId = company?.id ?? (input.company.kind === 'new' ? (await deps.createPendingCompany(input.company)).id : null)
      const user = await repo.insertUser({
        realm: input.realm, userId: input.userId, firstName: input.firstName, lastName: input.lastName, email: input.email,
        locale: input.locale, companyId, passwordHash: await hashPassword(input.password), passwordChangedAt: now,
        status: 'pending_verification', lastActivityAt: now, createdAt: now, updatedAt: now,
      }, [{ role: 'user' }])
      await repo.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'account.registered', target: { type: 'user', id: user.id }, data: { realm: input.realm, newCompany: input.company.kind === 'new' }, requestId: ctx.requestId, ip: ctx.ip })
      await sendVerification(user, input.email, ctx, now)
    },

    /**
     * Sends a fresh link and code to an account still waiting for verification. The caller answers
     * the same whatever happens, so nobody learns whether the user ID exists.
     */
    async resendVerification(_actor: Actor, input: { realm: string; userId: string }, ctx: RequestContext): Promise<void> {
      const user = await repo.findByLogin(input.realm, input.userId)
      if (!user?.email || user.status !== 'pending_verification') return
      await sendVerification(user, user.email, ctx, clock.now())
    },

    /** Verifies by the emailed link. */
    async verifyLink(_actor: Actor, token: string, ctx: RequestContext): Promise<{ user: UserRow; approver: Approver | null }> {
      const row = token.length <= 100 ? await repo.findToken(hashToken(token)) : undefined
      if (!row || row.purpose !== 'verify_email' || row.usedAt || row.expiresAt <= clock.now() || !row.email) throw new AppError('TOKEN_INVALID')
      const user = await repo.findUser(row.userId)
      if (!user) throw new AppError('TOKEN_INVALID')
      return { user, approver: await markVerified(user, row.email, row.id, ctx) }
    },

    /** Verifies by the 6-digit code, typed with the account's user ID; five wrong codes end that code. */
    async verifyCode(_actor: Actor, input: { realm: string; userId: string; code: string }, ctx: RequestContext): Promise<{ user: UserRow; approver: Approver | null }> {
      const user = await repo.findByLogin(input.realm, input.userId)
      const row = user ? await repo.findToken(codeHash(user.id, input.code)) : undefined
      if (!user || !row || row.purpose !== 'verify_email' || row.usedAt || row.expiresAt <= clock.now() || !row.email) {
        if (user && (await repo.countFailedCodes(user.id)) >= MAX_CODE_TRIES) await repo.killTokens(user.id, ['verify_email'], clock.now())
        else if (user) await repo.audit({ at: clock.now(), actor: { type: 'user', id: user.id }, action: 'email.code_wrong', target: { type: 'user', id: user.id }, requestId: ctx.requestId, ip: ctx.ip })
        throw new AppError('TOKEN_INVALID')
      }
      return { user, approver: await markVerified(user, row.email, row.id, ctx) }
    },
  }
}

export type RegistrationService = ReturnType<typeof createRegistrationService>
