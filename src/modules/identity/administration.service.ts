import Type from 'typebox'
import Value from 'typebox/value'
import { randomBytes } from 'node:crypto'
import { assertCan, can, isAdministrator, reachOf, whereCan, type Action, type Target } from '../../shared/access.js'
import type { Actor, RoleGrant } from '../../shared/actor.js'
import type { Executor } from '../../db/client.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { hashToken, type RequestContext } from './auth.service.js'
import type { IdentityRepo, IdentityWrites, UserRow } from './identity.repo.js'
import type { Role } from '../../db/schema/index.js'
import { may } from './account-status.js'
import { createFactorsRepo } from './factors.repo.js'
import { UserIdPattern } from './identity.schemas.js'

export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000
const ADMIN_RESET_TTL_MS = 24 * 60 * 60 * 1000

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
  /** A new independent company is approved (or refused) together with its first account, in its transaction. */
  setCompanyStatus(companyId: number, status: 'active' | 'refused', tx: Executor): Promise<void>
  /** Asks the company's organization administrators to choose or confirm its aftersales partner, in the caller's transaction. */
  requestPartnerReview(companyId: number, tx: Executor): Promise<void>
}

/** How long a recorded identity check allows restoring access or sending a reset link. */
export const IDENTITY_CHECK_VALID_MS = 30 * 60 * 1000

/** What a requester says about themselves, compared field by field with the record. */
export const IdentityClaims = Type.Object({
  userId: Type.String({ maxLength: 256 }),
  firstName: Type.String({ maxLength: 100 }),
  lastName: Type.String({ maxLength: 100 }),
  email: Type.String({ maxLength: 256 }),
  companyName: Type.String({ maxLength: 200 }),
  companyAddress: Type.String({ maxLength: 400 }),
})
export type IdentityClaims = Type.Static<typeof IdentityClaims>
export type IdentityField = keyof IdentityClaims

const collator = new Intl.Collator('en', { sensitivity: 'base', ignorePunctuation: true })
/** Same text for a person checking by eye: case, accents, punctuation and spacing do not count. */
function sameText(a: string, b: string): boolean {
  const tidy = (s: string) => s.replace(/[\s,.;:/-]+/g, ' ').trim()
  return tidy(a) !== '' && collator.compare(tidy(a), tidy(b)) === 0
}

/** Which fields of a check passed, and whether they are enough to confirm the identity. */
export interface IdentityComparison { fields: Record<IdentityField, boolean>; passed: boolean }

/**
 * Compares what a requester gave with an account's record, field by field, with the rules a person
 * checking by eye uses (case, accents, punctuation and spacing do not count). It passes when user ID,
 * first and last name and company name match and so does the email or the company address (the
 * mailbox may be the thing that was lost). An account without a company (the manufacturer's own
 * staff) has no company to compare: its email must match instead. Pure: it reads and records nothing.
 */
export function compareIdentity(claims: IdentityClaims, record: IdentityClaims): IdentityComparison {
  const withoutCompany = record.companyName === '' && record.companyAddress === ''
  const fields: Record<IdentityField, boolean> = {
    userId: sameText(claims.userId, record.userId),
    firstName: sameText(claims.firstName, record.firstName),
    lastName: sameText(claims.lastName, record.lastName),
    email: sameText(claims.email, record.email),
    companyName: withoutCompany || sameText(claims.companyName, record.companyName),
    companyAddress: withoutCompany || sameText(claims.companyAddress, record.companyAddress),
  }
  const person = fields.userId && fields.firstName && fields.lastName
  const passed = withoutCompany ? person && fields.email : person && fields.companyName && (fields.email || fields.companyAddress)
  return { fields, passed }
}

/** An account's record in the shape of the claims it is compared with. */
function recordOf(user: UserRow, company: { name: string; street: string; postalCode: string; city: string } | undefined): IdentityClaims {
  return {
    userId: user.userId, firstName: user.firstName, lastName: user.lastName, email: user.email ?? '',
    companyName: company?.name ?? '', companyAddress: company ? `${company.street} ${company.postalCode} ${company.city}` : '',
  }
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
  /**
   * The account and where it sits (its company, market and how far its own roles reach), once the
   * actor may take `action` on it. Non-administrators get 403 whatever the number; administrators
   * get 404 for an unknown account and 403 for one outside their scope.
   */
  async function accountFor(actor: Actor, action: Action, userId: number): Promise<{ user: UserRow; target: Target; company: Awaited<ReturnType<IdentityRepo['companyOf']>>; roles: RoleGrant[] }> {
    if (!isAdministrator(actor)) throw new AppError('FORBIDDEN_SCOPE')
    const found = await repo.findUserWithRoles(userId)
    if (!found || found.user.status === 'deleted') throw new AppError('NOT_FOUND')
    const { user, roles } = found
    const company = user.companyId ? await repo.companyOf(user.companyId) : undefined
    const target: Target = { companyId: user.companyId, marketId: company?.marketId ?? null, reach: reachOf(roles) }
    assertCan(actor, action, target)
    return { user, target, company, roles }
  }

  /** An active account without a password, and a single-use link valid 7 days to choose one: account, roles, link, email and audit commit together. */
  async function createInvited(actor: Actor, input: {
    realm: string; userId: string; firstName: string; lastName: string; email: string | null; locale: string; companyId: number | null
    roles: { role: Role; companyId?: number; marketId?: number }[]; scope: Record<string, unknown>; auditData: Record<string, unknown>
  }, ctx: RequestContext): Promise<{ user: UserRow; roles: RoleGrant[]; link: string | null }> {
    // The user ID and the address, asked in one statement (the unique indexes stay the last word).
    const taken = await repo.takenInRealm(input.realm, [input.userId], input.email ? [input.email] : [])
    if (taken.userIds.size > 0) throw new AppError('USER_ID_TAKEN')
    if (taken.emails.size > 0) throw new AppError('EMAIL_IN_USE')
    const now = clock.now()
    const token = randomBytes(32).toString('base64url')
    const link = `${ctx.publicUrl}/${input.locale}/invite/${token}`
    const user = await repo.transaction(async (tx) => {
      const created = await tx.insertInvited({
        realm: input.realm, userId: input.userId, firstName: input.firstName, lastName: input.lastName, email: input.email,
        locale: input.locale, companyId: input.companyId, passwordHash: null, status: 'active', lastActivityAt: now, createdAt: now, updatedAt: now,
      }, input.roles, { purpose: 'invite', tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + INVITE_TTL_MS), createdAt: now })
      // The email and the audit event do not wait for each other: on PostgreSQL they travel together
      // (pipelined on the transaction's connection), one round trip for both.
      await Promise.all([
        input.email ? tx.enqueueMail({
          key: `invite:${created.id}:${hashToken(token).slice(0, 16)}`, to: input.email, locale: input.locale, template: 'invitation',
          data: { name: `${created.firstName} ${created.lastName}`, userId: created.userId, days: INVITE_TTL_MS / 86_400_000, url: link },
        }, now) : undefined,
        tx.audit({
          at: now, actor: actorRef(actor), action: 'account.invited', target: { type: 'user', id: created.id },
          scope: input.scope, data: { ...input.auditData, emailed: input.email !== null }, requestId: ctx.requestId, ip: ctx.ip,
        }),
      ])
      return created
    })
    // The roles as written: a caller answering with the account needs no second read.
    const roles = input.roles.map((r) => ({ role: r.role, marketId: r.marketId ?? null, companyId: r.companyId ?? null }))
    return { user, roles, link: actor.kind === 'system' ? link : null }
  }

  /**
   * The invitation itself, once the company is known (the consoles and CLI by its number, a
   * provisioning client by its scope): the actor must be allowed to invite into it.
   */
  async function inviteIntoCompany(actor: Actor, input: Omit<InviteInput, 'companyNumber'> & { company: { id: number; marketId: number } }, auditData: Record<string, unknown>, ctx: RequestContext): Promise<{ user: UserRow; roles: RoleGrant[]; link: string | null }> {
    const { company } = input
    assertCan(actor, 'invite', { companyId: company.id, marketId: company.marketId })
    return createInvited(actor, {
      realm: input.realm, userId: input.userId, firstName: input.firstName.trim(), lastName: input.lastName.trim(), email: input.email, locale: input.locale,
      companyId: company.id, roles: [{ role: 'user' }, ...(input.role === 'org_admin' ? [{ role: 'org_admin' as const, companyId: company.id }] : [])],
      scope: { companyId: company.id, marketId: company.marketId }, auditData: { realm: input.realm, role: input.role, ...auditData },
    }, ctx)
  }

  /** Restoring access and reset links need a passed identity check by the same administrator in the last 30 minutes. */
  async function assertRecentCheck(actor: Actor, userId: number): Promise<void> {
    if (actor.kind === 'system') return
    const since = new Date(clock.now().getTime() - IDENTITY_CHECK_VALID_MS)
    const check = await repo.lastIdentityCheck(actor.kind === 'user' ? actor.userId : null, userId, since)
    if (check?.data?.passed !== true) throw new AppError('IDENTITY_CHECK_REQUIRED')
  }

  function mailOf(user: UserRow, template: string, ctx: RequestContext, now: Date, data: Record<string, string | number> = {}) {
    return {
      key: `${template}:${user.id}:${now.toISOString()}`, to: user.email ?? '', locale: user.locale, template,
      data: { name: `${user.firstName} ${user.lastName}`, userId: user.userId, url: `${ctx.publicUrl}/${user.locale}${user.realm === 'shop' ? '/shop' : ''}/login`, ...data },
    }
  }

  /** Records an identity check (which fields matched, never the values) inside the caller's transaction. */
  async function recordCheck(tx: IdentityWrites, actor: Actor, user: UserRow, target: Target, comparison: IdentityComparison, ctx: RequestContext): Promise<void> {
    const entries = Object.entries(comparison.fields)
    await tx.audit({
      at: clock.now(), actor: actorRef(actor), action: 'identity.checked', target: { type: 'user', id: user.id },
      scope: { companyId: target.companyId, marketId: target.marketId },
      data: { passed: comparison.passed, matched: entries.filter(([, ok]) => ok).map(([f]) => f), mismatched: entries.filter(([, ok]) => !ok).map(([f]) => f) },
      requestId: ctx.requestId, ip: ctx.ip,
    })
  }

  /**
   * Access back: active, no lockout, the inactivity clock started again; audited with before and
   * after. Restored by hand, the person is told by email what to do next (a reset link's email
   * already does). An organization administrator who is back is asked to choose or confirm the
   * company's aftersales partner.
   */
  async function restoreIn(tx: IdentityWrites, actor: Actor, found: { user: UserRow; target: Target; roles: readonly RoleGrant[] }, ctx: RequestContext, via: 'restore' | 'reset'): Promise<void> {
    const { user, target } = found
    const now = clock.now()
    await tx.restore(user, now)
    if (user.companyId !== null && found.roles.some((r) => r.role === 'org_admin' && r.companyId === user.companyId)) {
      await deps.requestPartnerReview(user.companyId, tx.executor)
    }
    if (via === 'restore' && user.email) await tx.enqueueMail(mailOf(user, user.realm === 'shop' ? 'access-restored-shop' : 'access-restored', ctx, now), now)
    await tx.audit({
      at: now, actor: actorRef(actor), action: 'account.restored', target: { type: 'user', id: user.id }, scope: { companyId: target.companyId, marketId: target.marketId },
      data: { via, before: { status: user.status, lockedUntil: user.lockedUntil?.toISOString() ?? null }, after: { status: 'active', lockedUntil: null } },
      requestId: ctx.requestId, ip: ctx.ip,
    })
  }

  /** Whether an account in this state can be given access back (a lockout counts in any status that signs in). */
  function restorable(user: UserRow): boolean {
    const locked = user.lockedUntil !== null && user.lockedUntil > clock.now()
    return may(user.status, 'restore') || (locked && may(user.status, 'signIn'))
  }

  /**
   * A reset link valid 24 hours, emailed to the account (or to `newEmail`, which replaces a lost
   * address unverified). A blocked or warned account is restored by it, so the link works; a
   * status that an administrator's reset cannot serve is refused before anything is written.
   */
  async function resetIn(tx: IdentityWrites, actor: Actor, found: { user: UserRow; target: Target; roles: readonly RoleGrant[] }, newEmail: string | undefined, ctx: RequestContext): Promise<void> {
    const { user, target } = found
    const to = newEmail ?? user.email
    if (!to) throw new AppError('NO_EMAIL')
    const now = clock.now()
    const token = randomBytes(32).toString('base64url')
    if (user.status !== 'active' || (user.lockedUntil !== null && user.lockedUntil > now)) await restoreIn(tx, actor, found, ctx, 'reset')
    if (newEmail) await tx.setUnverifiedEmail(user.id, newEmail, now)
    await tx.killTokens(user.id, ['reset_password', 'admin_reset'], now)
    await tx.createToken({ userId: user.id, purpose: 'admin_reset', tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + ADMIN_RESET_TTL_MS), createdAt: now })
    await tx.enqueueMail({
      key: `admin-reset:${user.id}:${hashToken(token).slice(0, 16)}`, to, locale: user.locale, template: 'password-reset',
      data: { name: `${user.firstName} ${user.lastName}`, minutes: ADMIN_RESET_TTL_MS / 60000, url: `${ctx.publicUrl}/${user.locale}/password/reset/${token}` },
    }, now)
    await tx.audit({
      at: now, actor: actorRef(actor), action: 'password.admin_reset_issued', target: { type: 'user', id: user.id }, scope: { companyId: target.companyId, marketId: target.marketId },
      data: { emailReplaced: newEmail !== undefined, before: { status: user.status } }, requestId: ctx.requestId, ip: ctx.ip,
    })
  }

  /**
   * A lost phone: every second factor and recovery code of the account goes, its grace starts again
   * (it signs in with the password and adds a new factor), the person is emailed in their language;
   * the change, its audit event and the email commit together in the caller's transaction.
   */
  async function resetFactorsIn(tx: IdentityWrites, actor: Actor, found: { user: UserRow; target: Target }, ctx: RequestContext): Promise<void> {
    const { user, target } = found
    const now = clock.now()
    const factors = createFactorsRepo(tx.executor)
    const removed = await factors.removeAllFactors(user.id)
    if (removed === 0) throw new AppError('NO_SECOND_FACTOR')
    await factors.resetGrace(user.id)
    if (user.email) await tx.enqueueMail(mailOf(user, 'factors-reset', ctx, now), now)
    await tx.audit({
      at: now, actor: actorRef(actor), action: 'factors.reset', target: { type: 'user', id: user.id }, scope: { companyId: target.companyId, marketId: target.marketId },
      data: { removed }, requestId: ctx.requestId, ip: ctx.ip,
    })
  }

  /** Refuses, before any email, a reset the account's status does not allow, saying why. */
  function assertResettable(user: UserRow): void {
    if (may(user.status, 'adminReset')) return
    throw new AppError(user.status === 'deactivated' ? 'ACCOUNT_DEACTIVATED' : 'ACCOUNT_NOT_RESETTABLE')
  }

  async function checkedNewEmail(user: UserRow, value: string | undefined): Promise<string | undefined> {
    const newEmail = value?.trim()
    if (newEmail !== undefined && !Value.Check(Email, newEmail)) throw new AppError('INVALID_INPUT', { field: 'email', reason: String(value).slice(0, 256) })
    if (newEmail) {
      const owner = await repo.findByEmail(user.realm, newEmail)
      if (owner && owner.id !== user.id) throw new AppError('EMAIL_IN_USE')
    }
    return newEmail || undefined
  }

  return {
    /** Accounts in the actor's scope, searched by user ID, name, email or company; 50 a page. */
    async findUsers(actor: Actor, filter: { q?: string | undefined; status?: UserRow['status'] | undefined; companyId?: number | undefined; page?: number | undefined }) {
      if (!isAdministrator(actor)) throw new AppError('FORBIDDEN_SCOPE')
      if (filter.companyId !== undefined) {
        const company = await repo.companyOf(filter.companyId)
        if (!company) throw new AppError('NOT_FOUND')
        assertCan(actor, 'view', { companyId: company.id, marketId: company.marketId })
      }
      const page = Math.max(1, filter.page ?? 1)
      return repo.findUsers({
        scope: whereCan(actor, 'view'),
        q: filter.q?.trim() || undefined, status: filter.status, companyId: filter.companyId, limit: 50, offset: (page - 1) * 50,
      })
    },

    /**
     * The partner account with exactly this user ID (case-insensitive), as the identity panel beside
     * a sign-in ticket shows it; null when there is none or the actor may not check its identity.
     */
    async findForIdentityCheck(actor: Actor, userId: string): Promise<{
      id: number; userId: string; firstName: string; lastName: string; status: UserRow['status']; lockedUntil: Date | null; companyName: string | null
      /** What the one-click action may do for the account as it is now (the state machine, and whether it has a second factor to remove). */
      mayRestore: boolean; mayReset: boolean; mayResetFactors: boolean
    } | null> {
      if (!isAdministrator(actor)) throw new AppError('FORBIDDEN_SCOPE')
      const user = userId.trim() && userId.length <= 256 ? await repo.findByUserId('partner', userId.trim()) : undefined
      if (!user || user.status === 'deleted') return null
      const { company, target } = await accountFor(actor, 'view', user.id).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'FORBIDDEN_SCOPE') return { company: undefined, target: undefined }
        throw error
      })
      if (!target || !can(actor, 'check_identity', target)) return null
      const mayResetFactors = can(actor, 'reset_factors', target) && (await createFactorsRepo(repo.executor).confirmedFactors(user.id)).length > 0
      return {
        id: user.id, userId: user.userId, firstName: user.firstName, lastName: user.lastName, status: user.status, lockedUntil: user.lockedUntil, companyName: company?.name ?? null,
        mayRestore: can(actor, 'restore', target) && restorable(user), mayReset: can(actor, 'reset_password', target) && may(user.status, 'adminReset'), mayResetFactors,
      }
    },

    /** One account as its administrator sees it: record, roles, what the actor may do, timeline and emails sent. */
    async userRecord(actor: Actor, userId: number) {
      const { user, target, company } = await accountFor(actor, 'view', userId)
      const since = new Date(clock.now().getTime() - IDENTITY_CHECK_VALID_MS)
      const [roles, timeline, mails, check, factorCount] = await Promise.all([
        repo.rolesOf(user.id),
        repo.auditOf(user.id, 50),
        user.email ? repo.mailsTo(user.email) : Promise.resolve([]),
        repo.lastIdentityCheck(actor.kind === 'user' ? actor.userId : null, user.id, since),
        createFactorsRepo(repo.executor).confirmedFactors(user.id).then((list) => list.length),
      ])
      const allowed = (action: Action) => can(actor, action, target)
      const self = actor.kind === 'user' && actor.userId === user.id
      return {
        user, company: company ?? null, roles, timeline, factorCount,
        mails: mails.map((m) => ({ template: m.template, status: m.status, createdAt: m.createdAt, sentAt: m.sentAt })).reverse(),
        check: check ? { at: check.at, data: check.data } : null,
        may: {
          checkIdentity: allowed('check_identity'), resetFactors: allowed('reset_factors') && factorCount > 0, restore: allowed('restore') && restorable(user), resetPassword: allowed('reset_password') && may(user.status, 'adminReset'),
          approve: allowed('approve'), deactivate: allowed('deactivate') && !self && may(user.status, 'deactivate'),
          grantOrgAdmin: allowed('grant_org_admin') && user.companyId !== null && !self && may(user.status, 'signIn'),
        },
      }
    },

    // Inside repo.transaction only `tx` may be used: the embedded database has one connection, and a
    // query on it from outside the transaction would wait for the transaction forever.

    /**
     * The account's record as an identity check compares it, for a side-by-side preview before the
     * recorded check (same scope as the check itself). Reads only; records nothing.
     */
    async identityRecord(actor: Actor, userId: number): Promise<IdentityClaims> {
      const { user, company } = await accountFor(actor, 'check_identity', userId)
      return recordOf(user, company)
    },

    /** Compares what a requester gave with the record (`compareIdentity`) and records the result: which fields matched, never the values. */
    async checkIdentity(actor: Actor, userId: number, claims: IdentityClaims, ctx: RequestContext): Promise<IdentityComparison> {
      const { user, target, company } = await accountFor(actor, 'check_identity', userId)
      if (!Value.Check(IdentityClaims, claims)) throw new AppError('INVALID_INPUT', { field: 'identity', reason: '' })
      const comparison = compareIdentity(claims, recordOf(user, company))
      await repo.transaction((tx) => recordCheck(tx, actor, user, target, comparison, ctx))
      return comparison
    },

    /**
     * One click beside a sign-in request: the identity check with what the requester gave and, when
     * it passes, access restored or a reset link sent. The check, the change, their audit events and
     * email, and whatever the caller adds in `alongside` (the ticket's note) commit together.
     */
    async checkAndAct(actor: Actor, userId: number, claims: IdentityClaims, action: 'restore' | 'reset' | 'factors', ctx: RequestContext,
      alongside: (tx: Executor, comparison: IdentityComparison) => Promise<void>): Promise<IdentityComparison> {
      const found = await accountFor(actor, ({ restore: 'restore', reset: 'reset_password', factors: 'reset_factors' } as const)[action], userId)
      const { user, target, company } = found
      if (!Value.Check(IdentityClaims, claims)) throw new AppError('INVALID_INPUT', { field: 'identity', reason: '' })
      const comparison = compareIdentity(claims, recordOf(user, company))
      if (comparison.passed && action === 'restore' && !restorable(user)) throw new AppError('ACCOUNT_NOT_BLOCKED')
      if (comparison.passed && action === 'reset') assertResettable(user)
      await repo.transaction(async (tx) => {
        await recordCheck(tx, actor, user, target, comparison, ctx)
        if (comparison.passed && action === 'restore') await restoreIn(tx, actor, found, ctx, 'restore')
        if (comparison.passed && action === 'reset') await resetIn(tx, actor, found, undefined, ctx)
        if (comparison.passed && action === 'factors') await resetFactorsIn(tx, actor, found, ctx)
        await alongside(tx.executor, comparison)
      })
      return comparison
    },

    /** Approves an account registered for a company; for a new independent company, the company too (market administrators). */
    async approve(actor: Actor, userId: number, ctx: RequestContext): Promise<void> {
      const { user, target } = await accountFor(actor, 'approve', userId)
      if (user.status !== 'pending_approval') throw new AppError('CONFLICT')
      const newCompany = user.companyId !== null && await repo.companyIsPending(user.companyId)
      if (newCompany) assertCan(actor, 'manage_companies', target)
      const now = clock.now()
      await repo.transaction(async (tx) => {
        // A new workshop's founder becomes its organization administrator, asked to choose its aftersales partner.
        if (newCompany && user.companyId !== null) {
          await deps.setCompanyStatus(user.companyId, 'active', tx.executor)
          await tx.grantRole(user.id, 'org_admin', { companyId: user.companyId })
          await deps.requestPartnerReview(user.companyId, tx.executor)
          await tx.audit({ at: now, actor: actorRef(actor), action: 'role.granted', target: { type: 'user', id: user.id }, scope: { companyId: target.companyId, marketId: target.marketId }, data: { role: 'org_admin', via: 'approval' }, requestId: ctx.requestId, ip: ctx.ip })
        }
        await tx.moveStatus(user, 'active', now)
        if (user.email) await tx.enqueueMail(mailOf(user, 'account-approved', ctx, now), now)
        await tx.audit({ at: now, actor: actorRef(actor), action: 'account.approved', target: { type: 'user', id: user.id }, scope: { companyId: target.companyId, marketId: target.marketId }, data: { newCompany }, requestId: ctx.requestId, ip: ctx.ip })
      })
    },

    /** Refuses an account waiting for approval: the person is told, then erased (and a new independent company refused with it). */
    async refuse(actor: Actor, userId: number, ctx: RequestContext): Promise<void> {
      const { user, target } = await accountFor(actor, 'approve', userId)
      if (user.status !== 'pending_approval') throw new AppError('CONFLICT')
      const newCompany = user.companyId !== null && await repo.companyIsPending(user.companyId)
      if (newCompany) assertCan(actor, 'manage_companies', target)
      const now = clock.now()
      await repo.transaction(async (tx) => {
        if (newCompany && user.companyId !== null) await deps.setCompanyStatus(user.companyId, 'refused', tx.executor)
        if (user.email) await tx.enqueueMail({ ...mailOf(user, 'account-refused', ctx, now), key: `account-refused:${user.id}` }, now)
        await tx.erase([user.id], now)
        await tx.audit({ at: now, actor: actorRef(actor), action: 'account.refused', target: { type: 'user', id: user.id }, scope: { companyId: target.companyId, marketId: target.marketId }, data: { newCompany }, requestId: ctx.requestId, ip: ctx.ip })
      })
    },

    /** Switches an account off (the person left the company): its portal sessions and app grants end, it cannot sign in until restored. */
    async deactivate(actor: Actor, userId: number, ctx: RequestContext): Promise<void> {
      const { user, target } = await accountFor(actor, 'deactivate', userId)
      if (actor.kind === 'user' && actor.userId === user.id) throw new AppError('RULE_BROKEN')
      if (!may(user.status, 'deactivate')) throw new AppError('CONFLICT')
      const now = clock.now()
      await repo.transaction(async (tx) => {
        await tx.moveStatus(user, 'deactivated', now)
        await tx.endAccess(user.id, { all: true })
        await tx.audit({ at: now, actor: actorRef(actor), action: 'account.deactivated', target: { type: 'user', id: user.id }, scope: { companyId: target.companyId, marketId: target.marketId }, data: { before: { status: user.status }, after: { status: 'deactivated' } }, requestId: ctx.requestId, ip: ctx.ip })
      })
    },

    /** Makes a user an organization administrator of their company, or stops that (never oneself). */
    async setOrgAdmin(actor: Actor, userId: number, grant: boolean, ctx: RequestContext): Promise<void> {
      const { user, target } = await accountFor(actor, 'grant_org_admin', userId)
      if (user.companyId === null || (actor.kind === 'user' && actor.userId === user.id)) throw new AppError('RULE_BROKEN')
      const companyId = user.companyId
      const holders = await repo.roleHolders('org_admin', { companyId })
      if (grant === holders.includes(user.id)) return
      const now = clock.now()
      await repo.transaction(async (tx) => {
        if (grant) await tx.grantRole(user.id, 'org_admin', { companyId })
        else await tx.revokeRole(user.id, 'org_admin', { companyId })
        await tx.audit({ at: now, actor: actorRef(actor), action: grant ? 'role.granted' : 'role.revoked', target: { type: 'user', id: user.id }, scope: { companyId: target.companyId, marketId: target.marketId }, data: { role: 'org_admin' }, requestId: ctx.requestId, ip: ctx.ip })
      })
    },

    /** Platform administrators name and remove market administrators. */
    async setMarketAdmin(actor: Actor, input: { realm: string; userId: string; marketId: number; grant: boolean }, ctx: RequestContext): Promise<void> {
      assertCan(actor, 'manage_platform', { companyId: null, marketId: input.marketId })
      const user = await repo.findByUserId(input.realm, input.userId)
      if (!user || user.status === 'deleted') throw new AppError('NOT_FOUND')
      const holders = await repo.roleHolders('market_admin', { marketId: input.marketId })
      if (input.grant === holders.includes(user.id)) return
      const now = clock.now()
      await repo.transaction(async (tx) => {
        if (input.grant) await tx.grantRole(user.id, 'market_admin', { marketId: input.marketId })
        else await tx.revokeRole(user.id, 'market_admin', { marketId: input.marketId })
        await tx.audit({ at: now, actor: actorRef(actor), action: input.grant ? 'role.granted' : 'role.revoked', target: { type: 'user', id: user.id }, scope: { marketId: input.marketId }, data: { role: 'market_admin' }, requestId: ctx.requestId, ip: ctx.ip })
      })
    },

    /**
     * Creates an active account (an invitation needs no approval) without a password, and a
     * single-use link valid 7 days to choose one. At first sign-in the user confirms an email
     * address. The link is returned only to the CLI, whose operator hands it over; in the consoles
     * it goes by email only.
     */
    async invite(actor: Actor, input: InviteInput, ctx: RequestContext): Promise<{ user: UserRow; link: string | null }> {
      if (!Value.Check(InviteInput, input)) throw invalid(input)
      if (!deps.isLocale(input.locale)) throw new AppError('INVALID_INPUT', { field: 'locale', reason: input.locale })
      if (!isAdministrator(actor)) throw new AppError('FORBIDDEN_SCOPE')
      const company = await deps.findCompany(input.companyNumber)
      if (!company) throw new AppError('COMPANY_NOT_FOUND')
      return inviteIntoCompany(actor, { ...input, company }, {}, ctx)
    },

    inviteIntoCompany,

    /**
     * `sportello admin create`: the first platform administrator (or a market administrator) of a new
     * installation, invited like anyone else; the link is printed for the operator.
     */
    async createAdministrator(actor: Actor, input: { email: string; role: 'platform_admin' | 'market_admin'; marketId?: number | undefined; locale: string }, ctx: RequestContext) {
      assertCan(actor, 'manage_platform')
      if (!Value.Check(Email, input.email)) throw new AppError('INVALID_INPUT', { field: 'email', reason: String(input.email).slice(0, 256) })
      if (input.role === 'market_admin' && input.marketId === undefined) throw new AppError('INVALID_INPUT', { field: 'market', reason: '' })
      const local = input.email.split('@')[0]?.toLowerCase().replace(/[^a-z0-9._-]/g, '') ?? ''
      let userId = /^[a-z0-9]/.test(local) && local.length >= 3 ? local.slice(0, 60) : `admin.${local}`.slice(0, 60)
      for (let n = 2; await repo.userIdTaken('partner', userId); n++) userId = `${userId.replace(/-\d+$/, '')}-${String(n)}`
      return createInvited(actor, {
        realm: 'partner', userId, firstName: local || 'Admin', lastName: '', email: input.email, locale: input.locale, companyId: null,
        roles: [{ role: input.role, ...(input.marketId !== undefined ? { marketId: input.marketId } : {}) }],
        scope: input.marketId !== undefined ? { marketId: input.marketId } : {}, auditData: { role: input.role },
      }, ctx)
    },

    /** What happened to an account, newest first: sign-ins, lockouts, changes and who made them. */
    async timeline(actor: Actor, userId: number, limit = 50) {
      const { user } = await accountFor(actor, 'view', userId)
      return repo.auditOf(user.id, limit)
    },

    /**
     * Gives access back after the administrator checked who is asking: a blocked, warned or
     * deactivated account becomes active, a lockout ends, and the inactivity clock starts again.
     */
    async restoreAccess(actor: Actor, userId: number, ctx: RequestContext): Promise<UserRow> {
      const found = await accountFor(actor, 'restore', userId)
      const { user } = found
      if (!restorable(user)) throw new AppError('ACCOUNT_NOT_BLOCKED')
      await assertRecentCheck(actor, user.id)
      const now = clock.now()
      await repo.transaction((tx) => restoreIn(tx, actor, found, ctx, 'restore'))
      return { ...user, status: 'active', lockedUntil: null, lockouts: 0, lastActivityAt: now }
    },

    /**
     * Removes the person's second factors after the administrator checked who is asking (a lost
     * phone and lost recovery codes): the person signs in with the password and adds a new one.
     */
    async resetFactors(actor: Actor, userId: number, ctx: RequestContext): Promise<void> {
      const found = await accountFor(actor, 'reset_factors', userId)
      await assertRecentCheck(actor, found.user.id)
      await repo.transaction((tx) => resetFactorsIn(tx, actor, found, ctx))
    },

    /**
     * Emails the user a reset link valid 24 hours; the administrator never sees it. A blocked or
     * warned account is restored with it (audited), so the link works. When the user lost the old
     * mailbox, `newEmail` (checked in the identity check) replaces it unverified: the link goes
     * there, and at the next sign-in the user confirms the address with a code.
     */
    async issueAdminReset(actor: Actor, userId: number, options: { newEmail?: string | undefined }, ctx: RequestContext): Promise<void> {
      const found = await accountFor(actor, 'reset_password', userId)
      const { user } = found
      assertResettable(user)
      await assertRecentCheck(actor, user.id)
      const newEmail = await checkedNewEmail(user, options.newEmail)
      await repo.transaction((tx) => resetIn(tx, actor, found, newEmail, ctx))
    },
  }
}

export type AdministrationService = ReturnType<typeof createAdministrationService>
