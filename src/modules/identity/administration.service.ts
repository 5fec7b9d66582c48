import Type from 'typebox'
import Value from 'typebox/value'
import { randomBytes } from 'node:crypto'
import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { hashToken, type RequestContext } from './auth.service.js'
import type { IdentityRepo, UserRow } from './identity.repo.js'
import { assertMayAdminister, scopeFromRoles, type AdminAction, type AdminScope } from './identity.policy.js'
import { UserIdPattern } from './identity.schemas.js'

export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000
const ADMIN_RESET_TTL_MS = 24 * 60 * 60 * 1000

/** States an administrator restores to active: blocked for inactivity, warned, deactivated. */
const RESTORABLE = new Set(['blocked', 'block_warned', 'delete_warned', 'deactivated', 'active'])

const Email = Type.String({ format: 'email', maxLength: 256 })

export const InviteInput = Type.Object({
  realm: Type.Union([Type.Literal('partner'), Type.Literal('shop')]),
  userId: Type.String({ pattern: UserIdPattern }),
  firstName: Type.String({ minLength: 1, maxLength: 100 }),
  lastName: Type.String({ minLength: 1, maxLength: 100 }),
  /** Where the link goes; without one (CLI only) the link is printed and handed over by other means. */
  email: Type.Union([Email, Type.Null()]),
  companyNumber: Type.String({ minLength: 1, maxLength: 40 }),
  locale: Type.String({ minLength: 2, maxLength: 20 }),
  role: Type.Union([Type.Literal('user'), Type.Literal('org_admin')]),
})
export type InviteInput = Type.Static<typeof InviteInput>

export interface AdministrationDeps {
  findCompany(companyNumber: string): Promise<{ id: number; marketId: number } | undefined>
  isLocale(locale: string): boolean
}

function actorRef(actor: Actor): { type: string; id: number | null } {
  return actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }
}

function invalid(input: unknown): AppError {
  const [first] = Value.Errors(InviteInput, input)
  return new AppError('INVALID_INPUT', { field: first?.instancePath.slice(1) || 'input', reason: first?.message ?? '' })
}

/**
 * What administrators do to other people's accounts. The consoles of the administration issue and
 * the CLI call these; each checks the actor's scope before anything else and leaves an audit event.
 */
export function createAdministrationService(repo: IdentityRepo, deps: AdministrationDeps) {
  async function scopeOf(actor: Actor): Promise<AdminScope> {
    return scopeFromRoles(actor, actor.kind === 'user' ? await repo.rolesOf(actor.userId) : [])
  }

  /** The account, once the actor is known to be allowed `action` on it; unknown and out-of-scope look alike. */
  async function targetFor(actor: Actor, action: AdminAction, userId: number): Promise<UserRow> {
    const scope = await scopeOf(actor)
    const user = await repo.findUser(userId)
    if (!user || user.status === 'deleted') {
      if (!scope.all && scope.marketIds.size === 0 && scope.companyIds.size === 0) throw new AppError('FORBIDDEN_SCOPE')
      throw new AppError('NOT_FOUND')
    }
    const company = user.companyId ? await repo.companyOf(user.companyId) : undefined
    assertMayAdminister(scope, action, { companyId: user.companyId, marketId: company?.marketId ?? null })
    return user
  }

  return {
    /** What the actor may administer (the consoles build their navigation and queries on it). */
    scopeOf,

    /**
     * Creates an active account (an invitation needs no approval) without a password, and a
     * single-use link valid 7 days to choose one. At first sign-in the user confirms an email
     * address. The link is returned only to the CLI, whose operator hands it over; in the consoles
     * it goes by email only.
     */
    async invite(actor: Actor, input: InviteInput, ctx: RequestContext): Promise<{ user: UserRow; link: string | null }> {
      if (!Value.Check(InviteInput, input)) throw invalid(input)
      if (!deps.isLocale(input.locale)) throw new AppError('INVALID_INPUT', { field: 'locale', reason: input.locale })
      const company = await deps.findCompany(input.companyNumber)
      const scope = await scopeOf(actor)
      if (!company) {
        if (!scope.all && scope.marketIds.size === 0 && scope.companyIds.size === 0) throw new AppError('FORBIDDEN_SCOPE')
        throw new AppError('COMPANY_NOT_FOUND')
      }
      assertMayAdminister(scope, 'invite', { companyId: company.id, marketId: company.marketId })
      if (await repo.userIdTaken(input.realm, input.userId)) throw new AppError('USER_ID_TAKEN')
      if (input.email && await repo.findByEmail(input.realm, input.email)) throw new AppError('EMAIL_IN_USE')
      const now = clock.now()
      const token = randomBytes(32).toString('base64url')
      const link = `${ctx.publicUrl}/${input.locale}/invite/${token}`
      const user = await repo.insertUser({
        realm: input.realm, userId: input.userId, firstName: input.firstName.trim(), lastName: input.lastName.trim(), email: input.email,
        locale: input.locale, companyId: company.id, passwordHash: null, status: 'active', lastActivityAt: now, createdAt: now, updatedAt: now,
      }, [{ role: 'user' }, ...(input.role === 'org_admin' ? [{ role: 'org_admin' as const, companyId: company.id }] : [])])
      await repo.transaction(async (tx) => {
        await tx.createToken({ userId: user.id, purpose: 'invite', tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + INVITE_TTL_MS), createdAt: now })
        if (input.email) {
          await tx.enqueueMail({
            key: `invite:${user.id}:${hashToken(token).slice(0, 16)}`, to: input.email, locale: input.locale, template: 'invitation',
            data: { name: user.firstName, userId: user.userId, days: INVITE_TTL_MS / 86_400_000, url: link },
          }, now)
        }
        await tx.audit({
          at: now, actor: actorRef(actor), action: 'account.invited', target: { type: 'user', id: user.id },
          scope: { companyId: company.id, marketId: company.marketId }, data: { realm: input.realm, role: input.role, emailed: input.email !== null }, requestId: ctx.requestId, ip: ctx.ip,
        })
      })
      return { user, link: actor.kind === 'system' ? link : null }
    },

    /** What happened to an account, newest first: sign-ins, lockouts, changes and who made them. */
    async timeline(actor: Actor, userId: number, limit = 50) {
      const user = await targetFor(actor, 'view', userId)
      return repo.auditOf(user.id, limit)
    },

    /**
     * Gives access back after the administrator checked who is asking: a blocked, warned or
     * deactivated account becomes active, a lockout ends, and the inactivity clock starts again.
     */
    async restoreAccess(actor: Actor, userId: number, ctx: RequestContext): Promise<UserRow> {
      const user = await targetFor(actor, 'restore', userId)
      if (!RESTORABLE.has(user.status)) throw new AppError('RULE_BROKEN')
      const now = clock.now()
      await repo.transaction(async (tx) => {
        await tx.restore(user.id, now)
        await tx.audit({
          at: now, actor: actorRef(actor), action: 'account.restored', target: { type: 'user', id: user.id },
          data: { before: { status: user.status, lockedUntil: user.lockedUntil?.toISOString() ?? null }, after: { status: 'active', lockedUntil: null } },
          requestId: ctx.requestId, ip: ctx.ip,
        })
      })
      return { ...user, status: 'active', lockedUntil: null, lockouts: 0, lastActivityAt: now }
    },

    /**
     * Emails the user a reset link valid 24 hours; the administrator never sees it. When the user
     * lost the old mailbox, `newEmail` (checked in the identity check) replaces it unverified: the
     * link goes there, and at the next sign-in the user confirms the address with a code.
     */
    async issueAdminReset(actor: Actor, userId: number, options: { newEmail?: string | undefined }, ctx: RequestContext): Promise<void> {
      const user = await targetFor(actor, 'reset_password', userId)
      const newEmail = options.newEmail?.trim()
      if (newEmail !== undefined && !Value.Check(Email, newEmail)) throw new AppError('INVALID_INPUT', { field: 'email', reason: String(options.newEmail).slice(0, 256) })
      if (newEmail) {
        const owner = await repo.findByEmail(user.realm, newEmail)
        if (owner && owner.id !== user.id) throw new AppError('EMAIL_IN_USE')
      }
      const to = newEmail ?? user.email
      if (!to) throw new AppError('NO_EMAIL')
      const now = clock.now()
      const token = randomBytes(32).toString('base64url')
      await repo.transaction(async (tx) => {
        if (newEmail) await tx.setUnverifiedEmail(user.id, newEmail, now)
        await tx.killTokens(user.id, ['reset_password', 'admin_reset'], now)
        await tx.createToken({ userId: user.id, purpose: 'admin_reset', tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + ADMIN_RESET_TTL_MS), createdAt: now })
        await tx.enqueueMail({
          key: `admin-reset:${user.id}:${hashToken(token).slice(0, 16)}`, to, locale: user.locale, template: 'password-reset',
          data: { name: user.firstName, minutes: ADMIN_RESET_TTL_MS / 60000, url: `${ctx.publicUrl}/${user.locale}/password/reset/${token}` },
        }, now)
        await tx.audit({
          at: now, actor: actorRef(actor), action: 'password.admin_reset_issued', target: { type: 'user', id: user.id },
          data: { emailReplaced: newEmail !== undefined }, requestId: ctx.requestId, ip: ctx.ip,
        })
      })
    },
  }
}

export type AdministrationService = ReturnType<typeof createAdministrationService>
