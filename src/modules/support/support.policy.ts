import type { Actor } from '../../shared/actor.js'
import { AppError } from '../../shared/errors.js'
import type { Role, TicketState } from '../../db/schema/index.js'

/**
 * Whose queues an actor works: support agents their markets' (role `support_agent` scoped to a
 * market), platform administrators every market. Market administrators of a market may read its
 * report, and act on the identity of a sign-in ticket's requester (the identity module decides).
 */
export interface DeskScope {
  all: boolean
  agentOf: ReadonlySet<number>
  marketAdminOf: ReadonlySet<number>
}

export function deskScopeFromRoles(actor: Actor, roles: { role: Role; marketId: number | null }[]): DeskScope {
  if (actor.kind === 'system') return { all: true, agentOf: new Set(), marketAdminOf: new Set() }
  const of = (role: Role) => new Set(roles.flatMap((r) => (r.role === role && r.marketId !== null ? [r.marketId] : [])))
  return { all: roles.some((r) => r.role === 'platform_admin'), agentOf: of('support_agent'), marketAdminOf: of('market_admin') }
}

export const deskActions = {
  /** Read a market's queue and its tickets, internal notes included. */
  'ticket.view': (s: DeskScope, marketId: number) => s.all || s.agentOf.has(marketId),
  /** Assign, reply, note, change state. */
  'ticket.work': (s: DeskScope, marketId: number) => s.all || s.agentOf.has(marketId),
  /** Which articles lead to tickets, deflections. */
  'report.view': (s: DeskScope, marketId: number) => s.all || s.agentOf.has(marketId) || s.marketAdminOf.has(marketId),
} as const satisfies Record<string, (s: DeskScope, marketId: number) => boolean>

export type DeskAction = keyof typeof deskActions

export function isDeskMember(scope: DeskScope): boolean {
  return scope.all || scope.agentOf.size > 0
}

export function assertDesk(scope: DeskScope, action: DeskAction, marketId: number): void {
  if (!deskActions[action](scope, marketId)) throw new AppError('FORBIDDEN_SCOPE')
}

/** The markets whose rows the actor may list for an action; null means all. */
export function marketsFor(scope: DeskScope, action: DeskAction): number[] | null {
  if (scope.all) return null
  return [...new Set([...scope.agentOf, ...(action === 'report.view' ? scope.marketAdminOf : [])])]
}

/**
 * The states an agent may move a ticket to. A requester's answer reopens waiting and solved
 * tickets (the repo does that); closed is final, and solved tickets close on their own after 7 days.
 */
export const agentTransitions: Record<TicketState, readonly TicketState[]> = {
  new: ['open', 'waiting_on_requester', 'solved', 'closed'],
  open: ['waiting_on_requester', 'solved', 'closed'],
  waiting_on_requester: ['open', 'solved', 'closed'],
  solved: ['open', 'closed'],
  closed: [],
}
