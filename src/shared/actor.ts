import type { Role } from '../db/schema/index.js'

/** One role of an account, with its scope (a market or a company; neither for platform roles). */
export interface RoleGrant {
  role: Role
  marketId: number | null
  companyId: number | null
}

/**
 * Who is acting. Services take an Actor first and check policy against it
 * before anything else; routes build it from the session.
 */
export type Actor =
  | { kind: 'guest' }
  | {
    kind: 'user'; userId: number; realm: string; displayName: string; companyId: number | null
    /** False until the account has an address only it uses, proven by a link or code: most of the portal waits for it. */
    emailVerified: boolean
    /**
     * A self-registered account its company (or market) has not approved yet: it signs in, but sees
     * no partner contacts or administrator names, cannot mark a request urgent, and agents see its
     * requests as coming from a membership not yet approved.
     */
    awaitingApproval: boolean
    /** Loaded once, with the session: every access check of the request reads these (shared/access.ts). */
    roles: readonly RoleGrant[]
    sessionIdHash?: string
  }
  | { kind: 'system'; name: string }
  /**
   * A machine client acting on its own (SCIM provisioning): scoped to exactly one company (as that
   * company's organization administrators are) or one market (as its market administrators are).
   */
  | { kind: 'client'; clientId: string; companyId: number | null; marketId: number | null }

export const guest: Actor = { kind: 'guest' }

export function systemActor(name: string): Actor {
  return { kind: 'system', name }
}

export function isSignedIn(actor: Actor): actor is Extract<Actor, { kind: 'user' }> {
  return actor.kind === 'user'
}
