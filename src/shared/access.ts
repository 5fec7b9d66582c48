import type { Role } from '../db/schema/index.js'
import type { Actor, RoleGrant } from './actor.js'
import { AppError } from './errors.js'

/**
 * Who may do what, in one table. Roles come with the Actor (loaded once per request with the
 * session), so a check is a pure function: no query, the same answer everywhere. Every module
 * asks here — administration, support, single sign-on, lifecycle — and nowhere else.
 *
 * Levels:
 * - `company`: the company's organization administrators, the market's administrators, platform.
 * - `market`: the market's administrators, platform.
 * - `platform`: platform administrators (and the system: CLI, schedules).
 * - `desk`: the market's support agents, platform.
 * - `desk_report`: the market's support agents and administrators, platform.
 */
export const actions = {
  /** See an account, its timeline and the emails it was sent. */
  view: 'company',
  /** Create an account with a single-use link. */
  invite: 'company',
  /** Approve or refuse an account registered for the company. */
  approve: 'company',
  /** Switch an account off (someone left the company); a market administrator can restore it. */
  deactivate: 'company',
  /** Erase an account at once, keeping its anonymous tombstone (a provisioning client's DELETE). */
  erase: 'company',
  /** Make a user of the company an organization administrator, or stop that. */
  grant_org_admin: 'company',
  /** Company details and its aftersales business partner. */
  edit_company: 'company',
  /** The inactivity forecast of a company (or, for a market administrator, of the market) and its reminders. */
  forecast_inactivity: 'company',
  /** Compare what a requester says with the record before restoring access. */
  check_identity: 'market',
  /** Blocked or locked → active again, after an identity check. */
  restore: 'market',
  /** Email a reset link valid 24 hours, after an identity check. */
  reset_password: 'market',
  /** Remove a person's second factors (a lost phone), after an identity check. */
  reset_factors: 'market',
  /** Approve or refuse a new independent company; create and edit the market's companies. */
  manage_companies: 'market',
  /** Import accounts from CSV; the market's reports. */
  import_users: 'market',
  /** Markets, realms and their lifecycle policies, market administrators. */
  manage_platform: 'platform',
  /** Connected apps (OIDC clients) and the signing keys. */
  manage_sso: 'platform',
  /** Run the inactivity sweep and the ticket auto-close by hand. */
  run_schedules: 'platform',
  /** Read a market's queue and its tickets, internal notes included. */
  view_tickets: 'desk',
  /** Assign, reply, note, change a ticket's state. */
  work_tickets: 'desk',
  /** Which articles lead to tickets, deflections. */
  view_ticket_report: 'desk_report',
} as const satisfies Record<string, Level>

export type Level = 'company' | 'market' | 'platform' | 'desk' | 'desk_report'
export type Action = keyof typeof actions

/**
 * What an action is taken on. For an account, `reach` says how far its own roles reach: an
 * administrator acts on it only if their scope covers all of that (an organization administrator
 * never acts on a market administrator of their company, for one).
 */
export interface Target {
  companyId: number | null
  marketId: number | null
  reach?: Reach | undefined
}

export interface Reach {
  platform: boolean
  /** Markets where the account holds a market-wide role (market administrator, support agent). */
  markets: readonly number[]
}

/** How far roles reach: platform, some markets, or only their company. */
export function reachOf(roles: readonly { role: Role; marketId: number | null }[]): Reach {
  return {
    platform: roles.some((r) => r.role === 'platform_admin'),
    markets: [...new Set(roles.flatMap((r) => ((r.role === 'market_admin' || r.role === 'support_agent') && r.marketId !== null ? [r.marketId] : [])))],
  }
}

/** The actor's roles as sets, derived once per actor object. */
export interface Scope {
  all: boolean
  marketAdminOf: ReadonlySet<number>
  orgAdminOf: ReadonlySet<number>
  agentOf: ReadonlySet<number>
}

const none: Scope = { all: false, marketAdminOf: new Set(), orgAdminOf: new Set(), agentOf: new Set() }
const everything: Scope = { all: true, marketAdminOf: new Set(), orgAdminOf: new Set(), agentOf: new Set() }
const scopes = new WeakMap<readonly RoleGrant[], Scope>()

const clientScopes = new WeakMap<Actor, Scope>()

export function scopeOf(actor: Actor): Scope {
  if (actor.kind === 'system') return everything
  if (actor.kind === 'client') {
    let scope = clientScopes.get(actor)
    if (!scope) {
      const one = (id: number | null) => new Set(id === null ? [] : [id])
      scope = { all: false, marketAdminOf: one(actor.marketId), orgAdminOf: one(actor.companyId), agentOf: new Set() }
      clientScopes.set(actor, scope)
    }
    return scope
  }
  if (actor.kind !== 'user') return none
  let scope = scopes.get(actor.roles)
  if (!scope) {
    const of = (role: Role, key: 'marketId' | 'companyId') => new Set(actor.roles.flatMap((r) => (r.role === role && r[key] !== null ? [r[key]] : [])))
    scope = {
      all: actor.roles.some((r) => r.role === 'platform_admin'),
      marketAdminOf: of('market_admin', 'marketId'), orgAdminOf: of('org_admin', 'companyId'), agentOf: of('support_agent', 'marketId'),
    }
    scopes.set(actor.roles, scope)
  }
  return scope
}

/** Whether an account's roles stay inside what the actor administers (platform: everything). */
function covers(scope: Scope, reach: Reach | undefined, viaMarket: boolean): boolean {
  if (!reach || scope.all) return true
  if (reach.platform) return false
  if (reach.markets.length === 0) return true
  return viaMarket && reach.markets.every((m) => scope.marketAdminOf.has(m))
}

export function can(actor: Actor, action: Action, target: Target = { companyId: null, marketId: null }): boolean {
  const scope = scopeOf(actor)
  if (scope.all) return true
  const inMarket = (set: ReadonlySet<number>) => target.marketId !== null && set.has(target.marketId)
  const level = actions[action]
  // A provisioning client manages accounts: never a support desk's tickets or reports.
  if (actor.kind === 'client' && (level === 'desk' || level === 'desk_report')) return false
  switch (level) {
    case 'platform':
      return false
    case 'market':
      return inMarket(scope.marketAdminOf) && covers(scope, target.reach, true)
    case 'company':
      if (inMarket(scope.marketAdminOf)) return covers(scope, target.reach, true)
      return target.companyId !== null && scope.orgAdminOf.has(target.companyId) && covers(scope, target.reach, false)
    case 'desk':
      return inMarket(scope.agentOf)
    case 'desk_report':
      return inMarket(scope.agentOf) || inMarket(scope.marketAdminOf)
  }
}

/** Out of scope is 403 FORBIDDEN_SCOPE, decided before anything is read or written. */
export function assertCan(actor: Actor, action: Action, target?: Target): void {
  if (!can(actor, action, target)) throw new AppError('FORBIDDEN_SCOPE')
}

/** Whether the actor may take the action somewhere at all (navigation, and a 403 before a search). */
export function canAnywhere(actor: Actor, action: Action): boolean {
  const scope = scopeOf(actor)
  if (scope.all) return true
  if (actor.kind === 'client' && (actions[action] === 'desk' || actions[action] === 'desk_report')) return false
  switch (actions[action]) {
    case 'platform':
      return false
    case 'market':
      return scope.marketAdminOf.size > 0
    case 'company':
      return scope.marketAdminOf.size > 0 || scope.orgAdminOf.size > 0
    case 'desk':
      return scope.agentOf.size > 0
    case 'desk_report':
      return scope.agentOf.size > 0 || scope.marketAdminOf.size > 0
  }
}

/**
 * Where the actor may take an action, for queries that list rows: null means everywhere, else the
 * markets (all their companies) and the single companies.
 */
export function whereCan(actor: Actor, action: Action): { marketIds: number[]; companyIds: number[] } | null {
  const scope = scopeOf(actor)
  if (scope.all) return null
  if (actor.kind === 'client' && (actions[action] === 'desk' || actions[action] === 'desk_report')) return { marketIds: [], companyIds: [] }
  switch (actions[action]) {
    case 'platform':
      return { marketIds: [], companyIds: [] }
    case 'market':
      return { marketIds: [...scope.marketAdminOf], companyIds: [] }
    case 'company':
      return { marketIds: [...scope.marketAdminOf], companyIds: [...scope.orgAdminOf] }
    case 'desk':
      return { marketIds: [...scope.agentOf], companyIds: [] }
    case 'desk_report':
      return { marketIds: [...new Set([...scope.agentOf, ...scope.marketAdminOf])], companyIds: [] }
  }
}

/** Whether the actor administers anything (the admin console's door). */
export function isAdministrator(actor: Actor): boolean {
  return canAnywhere(actor, 'view')
}
