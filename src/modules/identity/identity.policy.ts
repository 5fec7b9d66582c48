import type { Actor } from '../../shared/actor.js'
import { AppError } from '../../shared/errors.js'
import type { Role } from '../../db/schema/index.js'

/** What an actor may administer: everything (platform administrators, the CLI), some markets, some companies. */
export interface AdminScope {
  all: boolean
  marketIds: ReadonlySet<number>
  companyIds: ReadonlySet<number>
}

/**
 * Every administrative action, with who may take it. Organization administrators act inside their
 * company; market administrators inside their market (which includes its companies); platform
 * administrators everywhere.
 */
export const adminActions = {
  /** See an account, its timeline and the emails it was sent. */
  view: 'company',
  /** Create an account with a single-use link. */
  invite: 'company',
  /** Approve or refuse an account registered for the company. */
  approve: 'company',
  /** Switch an account off (someone left the company); a market administrator can restore it. */
  deactivate: 'company',
  /** Make a user of the company an organization administrator, or stop that. */
  grant_org_admin: 'company',
  /** Company details and its aftersales business partner. */
  edit_company: 'company',
  /** Compare what a requester says with the record before restoring access. */
  check_identity: 'market',
  /** Blocked or locked → active again, after an identity check. */
  restore: 'market',
  /** Email a reset link valid 24 hours, after an identity check. */
  reset_password: 'market',
  /** Approve or refuse a new independent company; create and edit the market's companies. */
  manage_companies: 'market',
  /** Import accounts from CSV; reports. */
  import_users: 'market',
  /** Markets, realms and their policies, market administrators. */
  manage_platform: 'platform',
} as const satisfies Record<string, 'company' | 'market' | 'platform'>

export type AdminAction = keyof typeof adminActions

/** Whose account or company it is: the company and its market (both null for staff without a company). */
export interface AdminTarget {
  companyId: number | null
  marketId: number | null
}

const noScope: AdminScope = { all: false, marketIds: new Set(), companyIds: new Set() }

export function scopeFromRoles(actor: Actor, roles: { role: Role; marketId: number | null; companyId: number | null }[]): AdminScope {
  if (actor.kind === 'system') return { all: true, marketIds: new Set(), companyIds: new Set() }
  if (actor.kind !== 'user') return noScope
  return {
    all: roles.some((r) => r.role === 'platform_admin'),
    marketIds: new Set(roles.flatMap((r) => (r.role === 'market_admin' && r.marketId !== null ? [r.marketId] : []))),
    companyIds: new Set(roles.flatMap((r) => (r.role === 'org_admin' && r.companyId !== null ? [r.companyId] : []))),
  }
}

export function isAdministrator(scope: AdminScope): boolean {
  return scope.all || scope.marketIds.size > 0 || scope.companyIds.size > 0
}

export function mayAdminister(scope: AdminScope, action: AdminAction, target: AdminTarget): boolean {
  if (scope.all) return true
  const level = adminActions[action]
  if (level === 'platform') return false
  if (target.marketId !== null && scope.marketIds.has(target.marketId)) return true
  return level === 'company' && target.companyId !== null && scope.companyIds.has(target.companyId)
}

export function assertMayAdminister(scope: AdminScope, action: AdminAction, target: AdminTarget): void {
  if (!mayAdminister(scope, action, target)) throw new AppError('FORBIDDEN_SCOPE')
}
