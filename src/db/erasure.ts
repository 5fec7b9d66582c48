import { sql } from 'drizzle-orm'
import type { Db, Tx } from './client.js'

/**
 * Erases people and keeps anonymous tombstones: user ID, names, email and password go, and so do
 * everything else that names them (sessions, tokens with addresses, sign-in attempts with IPs,
 * roles). Audit events stay: they name accounts by number only. Their support tickets stay for the
 * market's history without the requester's name, address and identity details, and without files.
 */
export async function eraseAccounts(tx: Db | Tx, ids: number[], at: Date): Promise<void> {
  if (ids.length === 0) return
  const list = sql.join(ids.map((id) => sql`${id}`), sql`, `)
  await tx.execute(sql`
    update users set user_id = 'deleted-' || id, first_name = '', last_name = '', email = null, email_verified_at = null,
      password_hash = null, locked_until = null, lockouts = 0, status = 'deleted',
      status_changed_at = ${at.toISOString()}::timestamptz, updated_at = ${at.toISOString()}::timestamptz
    where id in (${list})`)
  await tx.execute(sql`delete from sessions where user_id in (${list})`)
  await tx.execute(sql`delete from credential_tokens where user_id in (${list})`)
  await tx.execute(sql`delete from sign_in_attempts where user_id in (${list})`)
  await tx.execute(sql`delete from user_roles where user_id in (${list})`)
  await tx.execute(sql`delete from ticket_attachments where ticket_id in (select id from tickets where requester_user_id in (${list}))`)
  await tx.execute(sql`update tickets set requester_name = '', requester_email = '', identity = null where requester_user_id in (${list})`)
}
