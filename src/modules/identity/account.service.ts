import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import type { RequestContext } from './auth.service.js'
import type { EmailVerifier } from './email-verification.js'
import type { IdentityRepo, UserRow } from './identity.repo.js'
import { acceptNewPassword, verifyPassword } from './password.js'

const DAY_MS = 24 * 60 * 60 * 1000

/** The apps that sign users in through each realm (the SSO issue registers them as clients). */
export const connectedApps: Record<string, string[]> = {
  partner: ['Sportello', 'Service Manual', 'Warranty Claims', 'Vehicle Diagnostics', 'Training Campus'],
  shop: ['Parts Shop'],
}

function signedInUser(actor: Actor): Extract<Actor, { kind: 'user' }> {
  if (actor.kind !== 'user') throw new AppError('NOT_SIGNED_IN')
  return actor
}

/** The self-service "Identity and access management" page: what a user sees and repairs alone. */
export function createAccountService(repo: IdentityRepo, verifier: EmailVerifier) {
  async function me(actor: Actor): Promise<UserRow> {
    const user = await repo.findUser(signedInUser(actor).userId)
    if (!user) throw new AppError('NOT_SIGNED_IN')
    return user
  }

  return {
    async overview(actor: Actor) {
      const current = signedInUser(actor)
      const user = await me(actor)
      const [realm, sessions, attempts, company, accounts, roles] = await Promise.all([
        repo.realm(user.realm),
        repo.sessionsOf(user.id),
        repo.recentAttempts(user.id, 10),
        user.companyId ? repo.companyOf(user.companyId) : Promise.resolve(undefined),
        user.email && user.emailVerifiedAt ? repo.accountsWithEmail(user.email) : Promise.resolve([]),
        repo.rolesOf(user.id),
      ])
      // Named by role only: an account nobody has approved yet learns no administrator's name.
      const approver = user.status === 'pending_approval' && company
        ? { kind: company.status === 'pending_approval' ? 'market_admin' as const : 'org_admin' as const }
        : null
      const lastActivity = user.lastActivityAt ?? user.createdAt
      const at = (days: number | undefined) => (days === undefined ? null : new Date(lastActivity.getTime() + days * DAY_MS))
      return {
        user,
        company: company ?? null,
        /** Administrators find their console from their own page. */
        administers: roles.some((r) => r.role === 'org_admin' || r.role === 'market_admin' || r.role === 'platform_admin'),
        /** Support agents (and platform administrators) find the agent console there too. */
        supportAgent: roles.some((r) => r.role === 'support_agent' || r.role === 'platform_admin'),
        /** Who approves an account still waiting (the role, never names), so the user knows whom to ask. */
        approver,
        lifecycle: { lastActivity, warnAt: at(realm?.warnBlockDays), blockAt: at(realm?.blockDays) },
        sessions: sessions.map((s) => ({ ref: s.idHash.slice(0, 16), current: s.idHash === current.sessionIdHash, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, ip: s.ip, userAgent: s.userAgent })),
        attempts,
        realms: (accounts.length > 0 ? accounts : [{ realm: user.realm, userId: user.userId, status: user.status }])
          .map((a) => ({ ...a, apps: connectedApps[a.realm] ?? [] })),
      }
    },

    /** What a support request needs to know about a signed-in requester; null for guests. */
    async requesterProfile(actor: Actor) {
      if (actor.kind !== 'user') return null
      const user = await me(actor)
      const company = user.companyId ? await repo.companyOf(user.companyId) : undefined
      return {
        userId: user.userId, firstName: user.firstName, lastName: user.lastName, email: user.emailVerifiedAt ? user.email : null,
        companyName: company?.name ?? '', companyAddress: company ? `${company.street}, ${company.postalCode} ${company.city}` : '', marketId: company?.marketId ?? null,
      }
    },

    /** Changes the password after checking the current one; other sessions end, reset links die, the owner is told. */
    async changePassword(actor: Actor, input: { current: string; password: string; confirm: string }, ctx: RequestContext): Promise<void> {
      const current = signedInUser(actor)
      const user = await me(actor)
      if (!user.passwordHash || !(await verifyPassword(user.passwordHash, input.current))) throw new AppError('CURRENT_PASSWORD_WRONG')
      const passwordHash = await acceptNewPassword(input, user)
      const now = clock.now()
      await repo.transaction(async (tx) => {
        await tx.setPassword(user.id, passwordHash, now)
        await tx.killTokens(user.id, ['reset_password', 'admin_reset'], now)
        await tx.endAccess(user.id, current.sessionIdHash ? { except: current.sessionIdHash } : { all: true })
        if (user.email) {
          await tx.enqueueMail({
            key: `password-changed:${user.id}:${now.toISOString()}`, to: user.email, locale: user.locale, template: 'password-changed',
            data: { name: `${user.firstName} ${user.lastName}`, url: `${ctx.publicUrl}/${user.locale}${user.realm === 'shop' ? '/shop' : ''}/password/forgot` },
          }, now)
        }
        await tx.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'password.changed', target: { type: 'user', id: user.id }, requestId: ctx.requestId, ip: ctx.ip })
      })
    },

    /** The address the user must verify or is changing to: the account's own when unverified, else the one last sent a code. */
    async emailStatus(actor: Actor): Promise<{ user: UserRow; verified: boolean; pending: string | null }> {
      const user = await me(actor)
      const pending = await repo.pendingVerificationEmail(user.id, clock.now())
      return { user, verified: user.emailVerifiedAt !== null, pending: pending ?? null }
    },

    /**
     * Sends a link and code to a new address. Changing a verified address needs the password (a
     * session left open must not be enough to take the account over); giving a first address after
     * an invitation or an administrator's reset does not, the user has just signed in.
     */
    async requestEmailChange(actor: Actor, input: { email: string; password?: string | undefined }, ctx: RequestContext): Promise<void> {
      const user = await me(actor)
      if (user.emailVerifiedAt) {
        if (!user.passwordHash || !input.password || !(await verifyPassword(user.passwordHash, input.password))) throw new AppError('CURRENT_PASSWORD_WRONG')
        if (user.email?.toLowerCase() === input.email.toLowerCase()) throw new AppError('EMAIL_UNCHANGED')
      }
      const owner = await repo.findByEmail(user.realm, input.email)
      if (owner && owner.id !== user.id) throw new AppError('EMAIL_IN_USE')
      await verifier.send(user, input.email, ctx)
    },

    /** Verifies the pending address with the code the user typed on their own account page. */
    async verifyOwnCode(actor: Actor, code: string, ctx: RequestContext): Promise<void> {
      const user = await me(actor)
      const token = await verifier.findCode(user, code, ctx)
      await verifier.markVerified(user, token.email, token.id, ctx)
    },

    async updateProfile(actor: Actor, input: { firstName: string; lastName: string; locale: string }, ctx: RequestContext): Promise<void> {
      const user = await me(actor)
      const now = clock.now()
      // Names stay out of the audit trail (it outlives a deleted account): only which fields changed.
      const changed = (['firstName', 'lastName', 'locale'] as const).filter((field) => user[field] !== input[field])
      await repo.transaction(async (tx) => {
        await tx.updateProfile(user.id, input, now)
        await tx.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'profile.updated', target: { type: 'user', id: user.id }, data: { changed }, requestId: ctx.requestId, ip: ctx.ip })
      })
    },

    /** Ends one of the user's own sessions (a lost phone, a shared computer). */
    async revokeSession(actor: Actor, ref: string, ctx: RequestContext): Promise<void> {
      const current = signedInUser(actor)
      const session = await repo.sessionByRef(current.userId, ref)
      if (!session) throw new AppError('NOT_FOUND')
      // Like signing out on that device: the person's connected apps sign in again too.
      await repo.transaction(async (tx) => {
        await tx.endAccess(current.userId, { only: session.idHash })
        await tx.audit({ at: clock.now(), actor: { type: 'user', id: current.userId }, action: 'session.revoked', target: { type: 'user', id: current.userId }, requestId: ctx.requestId, ip: ctx.ip })
      })
    },

    async revokeOtherSessions(actor: Actor, ctx: RequestContext): Promise<number> {
      const current = signedInUser(actor)
      return repo.transaction(async (tx) => {
        const removed = await tx.endAccess(current.userId, current.sessionIdHash ? { except: current.sessionIdHash } : { all: true })
        await tx.audit({ at: clock.now(), actor: { type: 'user', id: current.userId }, action: 'session.revoked_others', target: { type: 'user', id: current.userId }, data: { count: removed }, requestId: ctx.requestId, ip: ctx.ip })
        return removed
      })
    },
  }
}

export type AccountService = ReturnType<typeof createAccountService>
