import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import type { RequestContext } from './auth.service.js'
import type { Approver, EmailVerifier } from './email-verification.js'
import type { IdentityRepo, UserRow } from './identity.repo.js'
import { hashPassword, passwordError, passwordProblem } from './password.js'
import { uniqueViolation } from '../../db/errors.js'

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

export function createRegistrationService(repo: IdentityRepo, verifier: EmailVerifier, deps: RegistrationDeps) {
  return {
    /**
     * Self-registration. A user ID already taken is said so (the person must choose another); an
     * email already owned in the realm is not: the answer and the work are the same as a success
     * (the password is hashed, an account holds the user ID for a day, a link and code are stored),
     * but the account gets no address, its link and code can verify nothing, and the owner of the
     * address is told instead. So replaying the user ID later says "taken" either way.
     */
    async register(_actor: Actor, input: RegistrationInput, ctx: RequestContext): Promise<void> {
      if (input.password !== input.confirm) throw new AppError('PASSWORDS_DIFFER')
      const problem = passwordProblem(input.password, [input.userId, input.email, input.firstName, input.lastName])
      if (problem) throw passwordError(problem)
      if (await repo.userIdTaken(input.realm, input.userId)) throw new AppError('USER_ID_TAKEN')
      const company = input.company.kind === 'existing' ? await deps.findCompany(input.company.companyNumber) : undefined
      if (input.company.kind === 'existing' && !company) throw new AppError('COMPANY_NOT_FOUND')
      const now = clock.now()
      const passwordHash = await hashPassword(input.password)
      const owner = await repo.findByEmail(input.realm, input.email)
      const companyId = company?.id ?? (input.company.kind === 'new' && !owner ? (await deps.createPendingCompany(input.company)).id : null)
      try {
        await repo.transaction(async (tx) => {
          const [user] = await tx.insertUsers([{
            user: {
              realm: input.realm, userId: input.userId, firstName: input.firstName, lastName: input.lastName, email: owner ? null : input.email,
              locale: input.locale, companyId, passwordHash, passwordChangedAt: now,
              status: 'pending_verification', lastActivityAt: now, createdAt: now, updatedAt: now,
            },
            roles: [{ role: 'user' }],
          }])
          if (!user) throw new Error('account not inserted')
          await tx.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'account.registered', target: { type: 'user', id: user.id }, data: { realm: input.realm, newCompany: input.company.kind === 'new' }, requestId: ctx.requestId, ip: ctx.ip })
          const issued = await verifier.issue(tx, user, owner ? null : input.email, now)
          if (!owner) return verifier.mail(tx, user, input.email, issued, ctx, now)
          await tx.enqueueMail({
            key: `email-in-use:${owner.id}:${now.toISOString()}`, to: owner.email ?? input.email, locale: owner.locale, template: 'email-in-use',
            data: { name: `${owner.firstName} ${owner.lastName}`, userId: owner.userId, url: `${ctx.publicUrl}/${owner.locale}${owner.realm === 'shop' ? '/shop' : ''}/password/forgot` },
          }, now)
          await tx.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'email.verification_sent', target: { type: 'user', id: user.id }, requestId: ctx.requestId, ip: ctx.ip })
        })
      } catch (error) {
        // The same user ID registered a moment earlier by a parallel request: the unique index decides.
        if (uniqueViolation(error) === 'users_realm_user_id') throw new AppError('USER_ID_TAKEN')
        throw error
      }
    },

    /**
     * Sends a fresh link and code to an account still waiting for verification. The caller answers
     * the same whatever happens, so nobody learns whether the user ID exists.
     */
    async resendVerification(_actor: Actor, input: { realm: string; userId: string }, ctx: RequestContext): Promise<void> {
      const user = await repo.findByLogin(input.realm, input.userId)
      if (!user?.email || user.status !== 'pending_verification') return
      await verifier.send(user, user.email, ctx)
    },

    /** Verifies by the emailed link (signed in or not: the link is the proof). */
    async verifyLink(_actor: Actor, token: string, ctx: RequestContext): Promise<{ user: UserRow; approver: Approver | null }> {
      const link = await verifier.findLink(token)
      return { user: link.user, approver: await verifier.markVerified(link.user, link.email, link.id, ctx) }
    },

    /** Verifies by the 6-digit code, typed with the account's user ID; five wrong codes end that code. */
    async verifyCode(_actor: Actor, input: { realm: string; userId: string; code: string }, ctx: RequestContext): Promise<{ user: UserRow; approver: Approver | null }> {
      const user = await repo.findByLogin(input.realm, input.userId)
      if (!user) throw new AppError('TOKEN_INVALID')
      const code = await verifier.findCode(user, input.code, ctx)
      return { user, approver: await verifier.markVerified(user, code.email, code.id, ctx) }
    },
  }
}

export type RegistrationService = ReturnType<typeof createRegistrationService>
