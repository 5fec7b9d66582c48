import { sql, type SQL } from 'drizzle-orm'

/**
 * How a person's access and personal data end. Identity decides when (sign-out, password change,
 * blocking, deactivation, deletion); the modules that keep something of the person say how, as
 * SQL that identity runs inside its own statement and transaction, so the change and every ending
 * commit together.
 */

/** One data-modifying CTE, `name as (statement)`, over the accounts whose ids `ids` selects. */
export type AccountCte = (ids: SQL) => SQL

export interface AccountEndings {
  /** What connected apps hold for the accounts: SSO sessions, grants, codes and tokens (revoked). */
  appAccess: AccountCte[]
  /** Personal data other modules keep (support tickets' requester details and files), for erasure. */
  personalData: AccountCte[]
}

export const noEndings: AccountEndings = { appAccess: [], personalData: [] }

/** Which portal sessions end with the access: all, all but the one in use, or only the one signed out. */
export type SessionsToEnd = { all: true } | { except: string } | { only: string }

/** CTEs that end the accounts' portal sessions (as chosen) and every app's access. */
export function endedAccess(ids: SQL, endings: AccountEndings, sessions: SessionsToEnd = { all: true }): SQL {
  const which = 'all' in sessions ? sql`` : 'except' in sessions ? sql` and id_hash <> ${sessions.except}` : sql` and id_hash = ${sessions.only}`
  return sql.join([sql`ended_sessions as (delete from sessions where user_id in (${ids})${which} returning id_hash)`, ...endings.appAccess.map((cte) => cte(ids))], sql`, `)
}

/**
 * The SET list that blanks a users row (status and times are the caller's): an anonymous tombstone
 * stays. Audit events stay too: they name accounts by number only.
 */
export const erasedColumns: SQL = sql.raw(`user_id = 'deleted-' || u.id, first_name = '', last_name = '', email = null, email_verified_at = null,
  password_hash = null, locked_until = null, lockouts = 0`)

/** CTEs that remove everything else that names the accounts: identity's own rows, then the other modules'. */
export function erasedRecords(ids: SQL, endings: AccountEndings): SQL {
  return sql.join([
    endedAccess(ids, endings),
    sql`erased_tokens as (delete from credential_tokens where user_id in (${ids}))`,
    sql`erased_attempts as (delete from sign_in_attempts where user_id in (${ids}))`,
    sql`erased_roles as (delete from user_roles where user_id in (${ids}))`,
    sql`erased_factors as (delete from second_factors where user_id in (${ids}))`,
    sql`erased_recovery as (delete from recovery_codes where user_id in (${ids}))`,
    sql`erased_challenges as (delete from sign_in_challenges where user_id in (${ids}))`,
    // Passkeys go with their second_factors rows (foreign key, on delete cascade).
    sql`erased_passkey_challenges as (delete from passkey_challenges where user_id in (${ids}))`,
    ...endings.personalData.map((cte) => cte(ids)),
  ], sql`, `)
}
