import { createHash } from 'node:crypto'
import Type from 'typebox'
import Value from 'typebox/value'
import { can, reachOf, whereCan, type Action, type Target } from '../../shared/access.js'
import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import type { RequestContext } from './auth.service.js'
import type { AdministrationService } from './administration.service.js'
import { may } from './account-status.js'
import type { AccountFilter, AccountRecord, IdentityRepo, IdentityWrites } from './identity.repo.js'
import type { RoleGrant } from '../../shared/actor.js'
import { UserIdPattern } from './identity.schemas.js'

/** Provisioning clients manage the partner realm: the one ID dealers' staff use everywhere. */
const REALM = 'partner'

/** An account as a provisioning client sees it; `version` changes whenever anything here does. */
export interface ProvisionedAccount {
  id: number
  userId: string
  firstName: string
  lastName: string
  email: string | null
  emailVerified: boolean
  locale: string
  status: string
  /** May sign in (the state machine's `signIn`, and not waiting for approval). */
  active: boolean
  companyId: number | null
  companyNumber: string | null
  orgAdmin: boolean
  createdAt: Date
  updatedAt: Date
  version: string
}

/** What a provisioning client may change; absent fields stay as they are. */
export interface AccountChange {
  userId?: string | undefined
  firstName?: string | undefined
  lastName?: string | undefined
  email?: string | null | undefined
  locale?: string | undefined
  active?: boolean | undefined
  orgAdmin?: boolean | undefined
}

export interface NewProvisionedAccount {
  userId: string
  firstName: string
  lastName: string
  email: string | null
  locale: string
  /** The company's number; absent, the company of the client's own scope. */
  companyNumber: string | undefined
  orgAdmin: boolean
  active: boolean
}

/**
 * What a write may require of the account as it is (an If-Match): called with its current version,
 * inside the transaction that holds its row, and throws to refuse the write.
 */
export type Precondition = (version: string) => void

/** A company's two groups: everyone of the company, and its organization administrators. */
export interface CompanyGroups {
  companyId: number
  companyNumber: string
  name: string
  members: { id: number; userId: string; orgAdmin: boolean }[] | null
}

const Email = Type.String({ format: 'email', maxLength: 256 })
const Name = Type.String({ minLength: 1, maxLength: 100 })
const UserId = Type.String({ pattern: UserIdPattern })

export interface ProvisioningDeps {
  isLocale(locale: string): boolean
  /** A company by number, or by its id (to check it is in the actor's scope). */
  company(key: { number: string } | { id: number }): Promise<{ id: number; marketId: number; companyNumber: string } | undefined>
}

function versionOf(record: AccountRecord): string {
  const { user } = record
  const roles = record.roles.map((r) => `${r.role}:${String(r.companyId)}:${String(r.marketId)}`).sort()
  return createHash('sha256').update(JSON.stringify([
    user.id, user.userId, user.firstName, user.lastName, user.email, user.emailVerifiedAt?.getTime() ?? null, user.locale, user.status,
    user.companyId, user.updatedAt.getTime(), roles,
  ])).digest('base64url').slice(0, 22)
}

function accountOf(record: AccountRecord): ProvisionedAccount {
  const { user } = record
  return {
    id: user.id, userId: user.userId, firstName: user.firstName, lastName: user.lastName, email: user.email, emailVerified: user.emailVerifiedAt !== null,
    locale: user.locale, status: user.status, active: may(user.status, 'signIn') && user.status !== 'pending_approval' && user.status !== 'pending_verification',
    companyId: user.companyId, companyNumber: record.companyNumber,
    orgAdmin: record.roles.some((r) => r.role === 'org_admin' && r.companyId === user.companyId && user.companyId !== null),
    createdAt: user.createdAt, updatedAt: user.updatedAt, version: versionOf(record),
  }
}

function targetOf(record: Pick<AccountRecord, 'user' | 'roles' | 'marketId'>): Target {
  return { companyId: record.user.companyId, marketId: record.marketId, reach: reachOf(record.roles) }
}

function invalid(field: string, value: unknown): AppError {
  return new AppError('INVALID_INPUT', { field, reason: typeof value === 'string' ? value.slice(0, 100) : JSON.stringify(value ?? null).slice(0, 100) })
}

function clientRef(actor: Actor): Record<string, unknown> {
  return actor.kind === 'client' ? { via: 'scim', clientId: actor.clientId } : { via: 'scim' }
}

/**
 * Accounts as a provisioning client (SCIM) manages them: the same rules as the consoles. Every
 * change goes through identity's writes in one transaction with its audit event; a new account is
 * invited (email with a link to choose a password); switching off ends sessions and app access;
 * the actor's scope decides, and anything outside it does not exist (404, never 403: no client
 * learns of another company's people).
 */
export function createProvisioningService(repo: IdentityRepo, administration: Pick<AdministrationService, 'inviteIntoCompany'>, deps: ProvisioningDeps) {
  /** The account, if the actor may take `action` on it; otherwise it is not there. */
  function visible(actor: Actor, record: AccountRecord | undefined, action: Action = 'view'): AccountRecord {
    if (!record || !can(actor, 'view', targetOf(record))) throw new AppError('NOT_FOUND')
    if (action !== 'view' && !can(actor, action, targetOf(record))) throw new AppError('FORBIDDEN_SCOPE')
    return record
  }

  function assertId(id: number): void {
    if (!Number.isSafeInteger(id) || id <= 0) throw new AppError('NOT_FOUND')
  }

  function checkChange(change: AccountChange): void {
    if (change.userId !== undefined && !Value.Check(UserId, change.userId)) throw invalid('userName', change.userId)
    if (change.firstName !== undefined && !Value.Check(Name, change.firstName.trim())) throw invalid('name.givenName', change.firstName)
    if (change.lastName !== undefined && !Value.Check(Name, change.lastName.trim())) throw invalid('name.familyName', change.lastName)
    if (change.email !== undefined && change.email !== null && !Value.Check(Email, change.email)) throw invalid('emails', change.email)
    if (change.locale !== undefined && !deps.isLocale(change.locale)) throw invalid('preferredLanguage', change.locale)
  }

  /** User ID and address are unique per realm (ignoring case): both asked in one statement; the unique indexes stay the last word. */
  async function checkUnique(tx: IdentityWrites, id: number, change: AccountChange): Promise<void> {
    const holders = await tx.holders(REALM, { userId: change.userId, email: change.email })
    if (holders.userId !== null && holders.userId !== id) throw new AppError('USER_ID_TAKEN')
    if (holders.email !== null && holders.email !== id) throw new AppError('EMAIL_IN_USE')
  }

  /** The company a new account goes to: the one named, or the actor's own; out of scope it does not exist. */
  async function companyFor(actor: Actor, companyNumber: string | undefined): Promise<{ id: number; marketId: number; companyNumber: string }> {
    const company = companyNumber !== undefined
      ? await deps.company({ number: companyNumber.slice(0, 40) })
      : actor.kind === 'client' && actor.companyId !== null ? await deps.company({ id: actor.companyId }) : undefined
    if (!company || !can(actor, 'invite', { companyId: company.id, marketId: company.marketId })) throw new AppError('PROVISIONING_COMPANY_UNKNOWN')
    return company
  }

  /**
   * Applies a change to a locked account inside the transaction; answers the account as it is
   * now, from what the writes returned (no second read).
   */
  async function applyIn(tx: IdentityWrites, actor: Actor, record: AccountRecord, change: AccountChange, ctx: RequestContext): Promise<AccountRecord> {
    const { user } = record
    const target = targetOf(record)
    const now = clock.now()
    // Everything is decided (and every refusal made) before the first write.
    const changed: string[] = []
    const fields: Parameters<IdentityWrites['updateAccount']>[1] = {}
    if (change.userId !== undefined && change.userId !== user.userId) { fields.userId = change.userId; changed.push('userId') }
    if (change.firstName !== undefined && change.firstName.trim() !== user.firstName) { fields.firstName = change.firstName.trim(); changed.push('firstName') }
    if (change.lastName !== undefined && change.lastName.trim() !== user.lastName) { fields.lastName = change.lastName.trim(); changed.push('lastName') }
    if (change.locale !== undefined && change.locale !== user.locale) { fields.locale = change.locale; changed.push('locale') }
    if (change.email !== undefined && (change.email ?? '').toLowerCase() !== (user.email ?? '').toLowerCase()) {
      fields.email = change.email
      fields.emailChanged = true
      changed.push('email')
    }
    const recordChanged = changed.length > 0
    const { active, orgAdmin } = accountOf(record)
    let move: 'deactivate' | 'restore' | null = null
    if (change.active === false && active) {
      if (!can(actor, 'deactivate', target)) throw new AppError('FORBIDDEN_SCOPE')
      if (!may(user.status, 'deactivate')) throw new AppError('CONFLICT')
      move = 'deactivate'
    } else if (change.active === true && !active) {
      // Access back is a market administrator's decision, as in the consoles.
      if (!may(user.status, 'restore')) throw new AppError('CONFLICT')
      if (!can(actor, 'restore', target)) throw new AppError('FORBIDDEN_SCOPE')
      move = 'restore'
    }
    const before = user.status
    const after = move === 'deactivate' ? 'deactivated' : move === 'restore' ? 'active' : before
    if (after !== before) changed.push('status')
    const companyId = user.companyId
    const grant = change.orgAdmin !== undefined && change.orgAdmin !== orgAdmin ? change.orgAdmin : null
    if (grant !== null) {
      if (companyId === null || !can(actor, 'grant_org_admin', target)) throw new AppError('FORBIDDEN_SCOPE')
      changed.push('orgAdmin')
    }
    if (changed.length === 0) return record

    // The audit event goes out first and is awaited last: on PostgreSQL it travels with the writes
    // after it (pipelined on the transaction's connection) instead of costing a round trip of its own.
    const audited = tx.audit({
      at: now, actor: actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }, action: 'account.provisioned',
      target: { type: 'user', id: user.id }, scope: { companyId: target.companyId, marketId: target.marketId },
      data: { ...clientRef(actor), changed, before: { status: before }, after: { status: after } }, requestId: ctx.requestId, ip: ctx.ip,
    })
    audited.catch(() => undefined) // its error, if any, is the one awaited below (or the transaction's own)
    let row = user
    let roles: RoleGrant[] = record.roles
    if (recordChanged) row = await tx.updateAccount(user.id, fields, now)
    if (move === 'deactivate') {
      row = await tx.moveStatus(row, 'deactivated', now)
      await tx.endAccess(user.id, { all: true })
    } else if (move === 'restore') {
      row = await tx.restore(row, now)
    }
    if (grant !== null && companyId !== null) {
      if (grant) {
        await tx.grantRole(user.id, 'org_admin', { companyId })
        roles = [...roles, { role: 'org_admin', marketId: null, companyId }]
      } else {
        await tx.revokeRole(user.id, 'org_admin', { companyId })
        roles = roles.filter((r) => !(r.role === 'org_admin' && r.companyId === companyId))
      }
      // A role given or taken changes what a client reads: the record's time moves.
      if (!recordChanged && move === null) row = await tx.touch(user.id, now)
    }
    await audited
    return { ...record, user: row, roles }
  }

  return {
    /** A page of the accounts in the actor's scope matching `filter`, by number, with the total. */
    async list(actor: Actor, query: { filter?: AccountFilter | undefined; offset: number; limit: number }): Promise<{ total: number; accounts: ProvisionedAccount[] }> {
      const scope = whereCan(actor, 'view')
      if (scope && scope.companyIds.length + scope.marketIds.length === 0) return { total: 0, accounts: [] }
      const { total, records } = await repo.findAccounts({ realm: REALM, scope, filter: query.filter, offset: query.offset, limit: query.limit })
      return { total, accounts: records.map(accountOf) }
    },

    async get(actor: Actor, id: number): Promise<ProvisionedAccount> {
      assertId(id)
      return accountOf(visible(actor, await repo.findAccount(REALM, id)))
    },

    /**
     * A new account of a company, invited: active without a password, and an email with a link to
     * choose one (the same invitation as the consoles'). Created switched off, it is deactivated in
     * the next transaction, before anyone could use the link.
     */
    async create(actor: Actor, input: NewProvisionedAccount, ctx: RequestContext): Promise<ProvisionedAccount> {
      checkChange(input)
      const company = await companyFor(actor, input.companyNumber)
      // The invitation checks that the user ID and address are free, and answers the row and roles it wrote.
      const { user, roles } = await administration.inviteIntoCompany(actor, {
        realm: REALM, userId: input.userId, firstName: input.firstName, lastName: input.lastName, email: input.email, locale: input.locale,
        role: input.orgAdmin ? 'org_admin' : 'user', company,
      }, clientRef(actor), ctx)
      if (!input.active) return this.update(actor, user.id, { active: false }, {}, ctx)
      return accountOf({ user, roles, companyNumber: company.companyNumber, marketId: company.marketId })
    },

    /**
     * Changes an account in one transaction: the record, its status (switched off or, by a market's
     * client, given access back) and its organization administrator role, with one audit event.
     * The account is read once, locked, in the transaction: `precondition` (an If-Match) sees the
     * version the change is made on, and `change` may be a function of it (a PATCH computed from
     * what is stored). Inside the transaction only `tx` is queried (the embedded database has one
     * connection).
     */
    async update(actor: Actor, id: number, change: AccountChange | ((current: ProvisionedAccount) => AccountChange), options: { precondition?: Precondition | undefined }, ctx: RequestContext): Promise<ProvisionedAccount> {
      assertId(id)
      return repo.transaction(async (tx) => {
        const record = visible(actor, await tx.lockRecord(REALM, id))
        const current = accountOf(record)
        options.precondition?.(current.version)
        const wanted = typeof change === 'function' ? change(current) : change
        checkChange(wanted)
        if (wanted.userId !== undefined || wanted.email) await checkUnique(tx, id, wanted)
        return accountOf(await applyIn(tx, actor, record, wanted, ctx))
      })
    },

    /** Erases an account at once (the person left): personal data goes, an anonymous tombstone stays, audited. */
    async erase(actor: Actor, id: number, options: { precondition?: Precondition | undefined }, ctx: RequestContext): Promise<void> {
      assertId(id)
      const now = clock.now()
      await repo.transaction(async (tx) => {
        const record = visible(actor, await tx.lockRecord(REALM, id), 'erase')
        options.precondition?.(versionOf(record))
        const target = targetOf(record)
        await tx.erase([id], now)
        await tx.audit({
          at: now, actor: actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }, action: 'account.erased',
          target: { type: 'user', id }, scope: { companyId: target.companyId, marketId: target.marketId }, data: { ...clientRef(actor), before: { status: record.user.status } },
          requestId: ctx.requestId, ip: ctx.ip,
        })
      })
    },

    /** The companies in the actor's scope, a page of them, with their members unless `members` is false. */
    async companyGroups(actor: Actor, page: { offset: number; limit: number; companyId?: number | undefined; members: boolean }): Promise<{ total: number; groups: CompanyGroups[] }> {
      const scope = whereCan(actor, 'view')
      if (scope && scope.companyIds.length + scope.marketIds.length === 0) return { total: 0, groups: [] }
      const found = await repo.scopedCompanies(scope, page)
      const members = page.members ? await repo.companyMembers(REALM, found.companies.map((c) => c.id)) : []
      return {
        total: found.total,
        groups: found.companies.map((c) => ({
          companyId: c.id, companyNumber: c.companyNumber, name: c.name,
          members: page.members ? members.filter((m) => m.companyId === c.id).map((m) => ({ id: m.id, userId: m.userId, orgAdmin: m.orgAdmin })) : null,
        })),
      }
    },

    /**
     * Gives or takes the organization administrator role of a company's accounts, in one
     * transaction (a group's membership): each must be an account of the company in scope.
     */
    async setOrgAdmins(actor: Actor, companyId: number, change: { add: number[]; remove: number[] } | { set: number[] }, ctx: RequestContext): Promise<void> {
      const { groups } = await this.companyGroups(actor, { offset: 0, limit: 1, companyId, members: true })
      const group = groups[0]
      if (!group?.members) throw new AppError('NOT_FOUND')
      const byId = new Map(group.members.map((m) => [m.id, m]))
      const wanted = 'set' in change ? change.set : change.add
      for (const id of [...wanted, ...('remove' in change ? change.remove : [])]) if (!byId.has(id)) throw invalid('members', String(id))
      const target = new Set('set' in change ? change.set : [...group.members.filter((m) => m.orgAdmin).map((m) => m.id), ...change.add].filter((id) => !('remove' in change) || !change.remove.includes(id)))
      const flips = group.members.filter((m) => m.orgAdmin !== target.has(m.id))
      if (flips.length === 0) return
      const company = await deps.company({ id: companyId })
      await repo.transaction(async (tx) => {
        for (const member of flips) {
          const locked = await tx.lockAccount(member.id)
          if (!locked || locked.user.status === 'deleted' || locked.user.companyId !== companyId) throw new AppError('CONFLICT')
          await applyIn(tx, actor, { ...locked, companyNumber: group.companyNumber, marketId: company?.marketId ?? null }, { orgAdmin: target.has(member.id) }, ctx)
        }
      })
    },
  }
}

export type ProvisioningService = ReturnType<typeof createProvisioningService>
