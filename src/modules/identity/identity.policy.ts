import type { Actor } from '../../shared/actor.js'
import { AppError } from '../../shared/errors.js'
import type { Role } from '../../db/schema/index.js'

/** What an actor may administer: everything (platform administrators, the CLI), some markets, some companies. */
export interface AdminScope {
  all: boolean
  marketIds: ReadonlySet<number>
  companyIds: ReadonlySet<number>
}

export type AdminAction =
  /** Create an account with a single-use link: organization administrators for their company, market administrators for their market. */
  | 'invite'
  /** See the account's record and timeline: organization administrators for their company, market administrators for their market. */
  | 'view'
  /** Blocked or locked → active again, after an identity check: market administrators only. */
  | 'restore'
  /** Email a reset link valid 24 hours: market administrators only. */
  | 'reset_password'

/** Whose account it is: the company the user belongs to and that company's market (both null for staff without a company). */
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

export function mayAdminister(scope: AdminScope, action: AdminAction, target: AdminTarget): boolean {
  if (scope.all) return true
  if (target.marketId !== null && scope.marketIds.has(target.marketId)) return true
  return (action === 'invite' || action === 'view') && target.companyId !== null && scope.companyIds.has(target.companyId)
}

export function assertMayAdminister(scope: AdminScope, action: AdminAction, target: AdminTarget): void {
  if (!mayAdminister(scope, action, target)) throw new AppError('FORBIDDEN_SCOPE')
}
