import { sql, type SQL } from 'drizzle-orm'
import type { Db, Tx } from './client.js'

/**
 * Erasing a person keeps an anonymous tombstone: user ID, names, email and password go, and so
 * does everything else that names them (sessions, tokens with addresses, sign-in attempts with IPs,
 * roles). Audit events stay: they name accounts by number only. Their support tickets stay for the
 * market's history without the requester's name, address and identity details, and without files.
 */

/** The SET list that blanks a users row (status and times are the caller's). */
export const erasedColumns: SQL = sql.raw(`user_id = 'deleted-' || u.id, first_name = '', last_name = '', email = null, email_verified_at = null,
  password_hash = null, locked_until = null, lockouts = 0`)

/** Data-modifying CTEs that remove what names the accounts `ids` selects from every other table. */
export function erasedRecords(ids: SQL): SQL {
  return sql`
    erased_sessions as (delete from sessions where user_id in (${ids})),
    erased_tokens as (delete from credential_tokens where user_id in (${ids})),
    erased_attempts as (delete from sign_in_attempts where user_id in (${ids})),
    erased_roles as (delete from user_roles where user_id in (${ids})),
    erased_files as (delete from ticket_attachments where ticket_id in (select id from tickets where requester_user_id in (${ids}))),
    erased_requesters as (update tickets set requester_name = '', requester_email = '', identity = null where requester_user_id in (${ids}))`
}

export async function eraseAccounts(tx: Db | Tx, ids: number[], at: Date): Promise<void> {
  if (ids.length === 0) return
  const list = sql.join(ids.map((id) => sql`${id}`), sql`, `)
  const when = sql`${at.toISOString()}::timestamptz`
  await tx.execute(sql`
    with erased as (
      update users u set ${erasedColumns}, status = 'deleted', status_changed_at = ${when}, updated_at = ${when}
      where u.id in (${list}) returning u.id
    ), ${erasedRecords(sql`select id from erased`)}
    select count(*) from erased`)
}
