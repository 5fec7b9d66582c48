import type { AccountStatus } from '../../db/schema/index.js'

/**
 * The account state machine: every status, what an account in it may do, and where it may go.
 * Sign-in, sessions, the OIDC provider, reset links, the consoles and the inactivity sweep all
 * read this one table; nothing else decides what a status allows.
 */
export interface StatusAbilities {
  /** Sign in to the portal and keep a session (a waiting account signs in to see why it waits). */
  signIn: boolean
  /** Receive tokens for connected apps (any grant, refresh included). */
  tokens: boolean
  /** Ask for a reset link on the "forgot password" page. */
  selfReset: boolean
  /**
   * Be sent a reset link by an administrator after an identity check. A blocked or warned account
   * is restored by it (audited), so the link works; other statuses are refused before any email.
   */
  adminReset: boolean
  /** Be given access back by an administrator (a lockout is lifted in any status that signs in). */
  restore: boolean
  /** Be switched off by an administrator (the person left the company). */
  deactivate: boolean
  /** Activity (a sign-in, an app's token) brings the account back to active. */
  activityRevives: boolean
  /** The next step of the inactivity sweep, if the sweep moves accounts in this status. */
  sweepsTo: AccountStatus | null
  /** Every status an account may move to from this one (by anyone: the person, an administrator, the sweep). */
  to: readonly AccountStatus[]
}

export const accountStatus = {
  pending_verification: { signIn: true, tokens: false, selfReset: false, adminReset: false, restore: false, deactivate: false, activityRevives: false, sweepsTo: null, to: ['pending_approval', 'deleted'] },
  pending_approval: { signIn: true, tokens: false, selfReset: true, adminReset: false, restore: false, deactivate: true, activityRevives: false, sweepsTo: null, to: ['active', 'deactivated', 'deleted'] },
  active: { signIn: true, tokens: true, selfReset: true, adminReset: true, restore: false, deactivate: true, activityRevives: false, sweepsTo: 'block_warned', to: ['block_warned', 'deactivated', 'deleted'] },
  block_warned: { signIn: true, tokens: true, selfReset: true, adminReset: true, restore: true, deactivate: true, activityRevives: true, sweepsTo: 'blocked', to: ['active', 'blocked', 'deactivated', 'deleted'] },
  // Blocked for inactivity: only an administrator of its scope gives access back (restore or reset).
  blocked: { signIn: false, tokens: false, selfReset: false, adminReset: true, restore: true, deactivate: false, activityRevives: false, sweepsTo: 'delete_warned', to: ['active', 'delete_warned', 'deleted'] },
  // Still blocked, and told that deletion follows: the same way back as blocked.
  delete_warned: { signIn: false, tokens: false, selfReset: false, adminReset: true, restore: true, deactivate: false, activityRevives: false, sweepsTo: 'deleted', to: ['active', 'deleted'] },
  // Switched off by an administrator: restored by one, never by a reset link.
  deactivated: { signIn: false, tokens: false, selfReset: false, adminReset: false, restore: true, deactivate: false, activityRevives: false, sweepsTo: null, to: ['active', 'deleted'] },
  deleted: { signIn: false, tokens: false, selfReset: false, adminReset: false, restore: false, deactivate: false, activityRevives: false, sweepsTo: null, to: [] },
} as const satisfies Record<AccountStatus, StatusAbilities>

export type AccountAbility = Exclude<keyof StatusAbilities, 'sweepsTo' | 'to'>

/** Whether an account may move from one status to another; anything else is a bug, refused. */
export function assertTransition(from: AccountStatus, to: AccountStatus): void {
  if (from !== to && !(accountStatus[from].to as readonly AccountStatus[]).includes(to)) throw new Error(`account status cannot move from ${from} to ${to}`)
}

/** Every status, in the order a person meets them (lists and filters of the consoles). */
export const accountStatuses = Object.keys(accountStatus) as AccountStatus[]

/** The statuses an administrator can filter by (deleted accounts are tombstones, not listed). */
export const listedStatuses = accountStatuses.filter((s) => s !== 'deleted')

export function isAccountStatus(value: unknown): value is AccountStatus {
  return typeof value === 'string' && Object.hasOwn(accountStatus, value)
}

export function may(status: AccountStatus, ability: AccountAbility): boolean {
  return accountStatus[status][ability]
}

/** The statuses that have an ability (for SQL filters that must agree with the table). */
export function statusesThat(ability: AccountAbility): AccountStatus[] {
  return accountStatuses.filter((s) => accountStatus[s][ability])
}

/** The inactivity sweep's steps, in order: each is the status an account is moved to. */
export const sweepSteps = ['block_warned', 'blocked', 'delete_warned', 'deleted'] as const satisfies readonly AccountStatus[]
export type SweepStep = (typeof sweepSteps)[number]

/** The status a sweep step moves accounts from. */
export function sweepsFrom(step: SweepStep): AccountStatus {
  const from = accountStatuses.find((s) => accountStatus[s].sweepsTo === step)
  if (!from) throw new Error(`no status sweeps to ${step}`)
  return from
}

/** The status an account has after activity (sign-in, an app's token): warned ones become active. */
export function afterActivity(status: AccountStatus): AccountStatus {
  return may(status, 'activityRevives') ? 'active' : status
}

/** Steps at which the person loses access: sessions and app grants end with them. */
export function endsAccess(status: AccountStatus): boolean {
  return !may(status, 'signIn') && !may(status, 'tokens')
}
