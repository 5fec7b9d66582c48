import { randomUUID } from 'node:crypto'
import { and, asc, desc, eq, isNull, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { rows } from '../../db/query.js'
import { oidcPayloads, ssoClients, ssoLogoutOutbox, ssoSigningKeys, ssoSubjects, type AccountStatus, type ClientKind } from '../../db/schema/index.js'
import { recordAudit, type AuditInput } from '../../shared/audit/audit.repo.js'

export type ClientRow = typeof ssoClients.$inferSelect
export type NewClient = typeof ssoClients.$inferInsert
export type SigningKeyRow = typeof ssoSigningKeys.$inferSelect

/** What a connected app learns about an account, read in one statement. */
export interface AccountRow extends Record<string, unknown> {
  id: number
  realm: string
  sub: string
  /** The login name: the `preferred_username` claim. */
  user_id: string
  first_name: string
  last_name: string
  email: string | null
  email_verified_at: Date | string | null
  locale: string
  status: AccountStatus
  updated_at: Date | string
  company_number: string | null
  company_name: string | null
  market: string | null
  roles: string[] | null
}

export interface StoredPayload {
  payload: Record<string, unknown>
  consumed: boolean
}

/**
 * Ending a person's access (identity decides when, in its own statement): every SSO session, grant,
 * code and token of the accounts `ids` selects goes, so no app can refresh or use them again.
 */
export function revokedAppAccess(ids: SQL): SQL {
  return sql`revoked_app_access as (delete from oidc_payloads where account_id in (select sub from sso_subjects where user_id in (${ids})))`
}

/**
 * Ending a person's access also tells every app they used that registered a back-channel logout URI
 * (OpenID Connect Back-Channel Logout 1.0): one pending logout per app and SSO session (its `sid`),
 * or per app and subject when only a grant is left, queued in identity's statement beside
 * `revokedAppAccess` (same snapshot: it reads the rows that statement deletes). A schedule signs
 * and posts them (`deliverBackchannelLogouts`).
 */
export function queuedBackchannelLogouts(ids: SQL): SQL {
  const subs = sql`select sub from sso_subjects where user_id in (${ids})`
  return sql`queued_backchannel_logouts as (
    insert into sso_logout_outbox (realm, client_id, sub, sid)
    select c.realm, c.client_id, used.sub, used.sid
    from (
      select p.account_id as sub, a.key as client_id, a.value->>'sid' as sid
        from oidc_payloads p cross join lateral jsonb_each(case when jsonb_typeof(p.payload->'authorizations') = 'object' then p.payload->'authorizations' else '{}'::jsonb end) a
        where p.model = 'Session' and p.account_id in (${subs})
      union
      select g.account_id, g.payload->>'clientId', null
        from oidc_payloads g
        where g.model = 'Grant' and g.account_id in (${subs})
          and not exists (select 1 from oidc_payloads s where s.model = 'Session' and s.account_id = g.account_id and s.payload->'authorizations'->(g.payload->>'clientId') is not null)
    ) used
    join sso_clients c on c.client_id = used.client_id and c.backchannel_logout_uri is not null
    on conflict do nothing)`
}

/** A logout to deliver, with where it goes. */
export interface DueLogout extends Record<string, unknown> {
  id: number
  realm: string
  clientId: string
  sub: string
  sid: string | null
  attempts: number
  createdAt: Date | string
  uri: string | null
}

export function createSsoRepo(db: Db) {
  return {
    // ---- Connected apps ----

    async insertClient(client: NewClient, audit: AuditInput): Promise<ClientRow> {
      return db.transaction(async (tx) => {
        const [row] = await tx.insert(ssoClients).values(client).returning()
        if (!row) throw new Error('client not inserted')
        await recordAudit(tx, audit)
        return row
      })
    },

    async findClient(clientId: string): Promise<ClientRow | undefined> {
      const [row] = await db.select().from(ssoClients).where(eq(ssoClients.clientId, clientId))
      return row
    },

    async listClients(realm?: string): Promise<ClientRow[]> {
      return db.select().from(ssoClients).where(realm ? eq(ssoClients.realm, realm) : undefined).orderBy(asc(ssoClients.realm), asc(ssoClients.name))
    },

    /** Removes a client and everything the provider stored for it (tokens, grants, codes). */
    async deleteClient(clientId: string, audit: AuditInput): Promise<boolean> {
      return db.transaction(async (tx) => {
        const deleted = await tx.delete(ssoClients).where(eq(ssoClients.clientId, clientId)).returning({ clientId: ssoClients.clientId })
        if (deleted.length === 0) return false
        await tx.delete(oidcPayloads).where(sql`${oidcPayloads.payload}->>'clientId' = ${clientId}`)
        await recordAudit(tx, audit)
        return true
      })
    },

    // ---- oidc-provider's adapter ----

    async upsertPayload(realm: string, model: string, id: string, payload: Record<string, unknown>, expiresInSeconds: number | undefined): Promise<void> {
      const values = {
        realm, model, id, payload,
        grantId: typeof payload.grantId === 'string' ? payload.grantId : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        userCode: typeof payload.userCode === 'string' ? payload.userCode : null,
        accountId: typeof payload.accountId === 'string' ? payload.accountId : null,
        // The provider's expiry is real time, so it is the database's now(), not the app's clock.
        expiresAt: expiresInSeconds === undefined ? null : sql`now() + make_interval(secs => ${expiresInSeconds})`,
      }
      await db.insert(oidcPayloads).values(values).onConflictDoUpdate({
        target: [oidcPayloads.realm, oidcPayloads.model, oidcPayloads.id],
        set: { payload: values.payload, grantId: values.grantId, uid: values.uid, userCode: values.userCode, accountId: values.accountId, expiresAt: values.expiresAt },
      })
    },

    async findPayload(realm: string, model: string, column: 'id' | 'uid' | 'userCode', value: string): Promise<StoredPayload | undefined> {
      const key = column === 'id' ? oidcPayloads.id : column === 'uid' ? oidcPayloads.uid : oidcPayloads.userCode
      const [row] = await db.select({ payload: oidcPayloads.payload, consumedAt: oidcPayloads.consumedAt }).from(oidcPayloads)
        .where(and(eq(oidcPayloads.realm, realm), eq(oidcPayloads.model, model), eq(key, value), sql`(${oidcPayloads.expiresAt} is null or ${oidcPayloads.expiresAt} > now())`))
        .limit(1)
      return row ? { payload: row.payload, consumed: row.consumedAt !== null } : undefined
    },

    async consumePayload(realm: string, model: string, id: string): Promise<void> {
      await db.update(oidcPayloads).set({ consumedAt: sql`now()` }).where(and(eq(oidcPayloads.realm, realm), eq(oidcPayloads.model, model), eq(oidcPayloads.id, id)))
    },

    async destroyPayload(realm: string, model: string, id: string): Promise<void> {
      await db.delete(oidcPayloads).where(and(eq(oidcPayloads.realm, realm), eq(oidcPayloads.model, model), eq(oidcPayloads.id, id)))
    },

    async revokeByGrantId(realm: string, grantId: string): Promise<void> {
      await db.delete(oidcPayloads).where(and(eq(oidcPayloads.realm, realm), eq(oidcPayloads.grantId, grantId)))
    },

    /** Expired artifacts are dead already (find ignores them); this only reclaims the space. */
    async purgeExpired(): Promise<number> {
      const deleted = await db.delete(oidcPayloads).where(sql`${oidcPayloads.expiresAt} < now() - interval '1 hour'`).returning({ id: oidcPayloads.id })
      return deleted.length
    },

    // ---- Back-channel logout ----

    /** A logout the provider itself decided (RP-initiated logout ends its session before identity sees it). */
    async queueLogout(realm: string, clientId: string, sub: string, sid: string | null): Promise<void> {
      await db.insert(ssoLogoutOutbox).values({ realm, clientId, sub, sid }).onConflictDoNothing()
    },

    /**
     * Claims due logouts (SKIP LOCKED: several processes share the queue), counting the attempt and
     * leasing the row before the request, as the mail outbox does.
     */
    async claimDueLogouts(limit: number, leaseSeconds: number): Promise<DueLogout[]> {
      return rows<DueLogout>(db, sql`
        update sso_logout_outbox o set attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => ${leaseSeconds})
        from sso_clients c
        where c.client_id = o.client_id and o.id in (
          select id from sso_logout_outbox where status = 'pending' and next_attempt_at <= now()
          order by next_attempt_at, id limit ${limit} for update skip locked
        )
        returning o.id, o.realm, o.client_id as "clientId", o.sub, o.sid, o.attempts, o.created_at as "createdAt", c.backchannel_logout_uri as uri`)
    },

    async markLogoutDelivered(id: number): Promise<void> {
      await db.update(ssoLogoutOutbox).set({ status: 'delivered', deliveredAt: sql`now()`, lastError: null }).where(eq(ssoLogoutOutbox.id, id))
    },

    async markLogoutFailed(id: number, error: string, retryInSeconds: number | null): Promise<void> {
      await db.update(ssoLogoutOutbox).set(retryInSeconds === null
        ? { status: 'failed', lastError: error.slice(0, 500) }
        : { lastError: error.slice(0, 500), nextAttemptAt: sql`now() + make_interval(secs => ${retryInSeconds})` }).where(eq(ssoLogoutOutbox.id, id))
    },

    /** Delivered logouts are forgotten after a day; they name a subject and nothing else. */
    async purgeDeliveredLogouts(): Promise<number> {
      const deleted = await db.delete(ssoLogoutOutbox).where(sql`${ssoLogoutOutbox.status} <> 'pending' and ${ssoLogoutOutbox.createdAt} < now() - interval '1 day'`).returning({ id: ssoLogoutOutbox.id })
      return deleted.length
    },

    // ---- Accounts ----

    /** The account behind a subject, with what its claims need. */
    async accountBySub(sub: string): Promise<AccountRow | undefined> {
      const [row] = await rows<AccountRow>(db, sql`
        select u.id, u.realm, s.sub, u.user_id, u.first_name, u.last_name, u.email, u.email_verified_at, u.locale, u.status, u.updated_at,
          c.company_number, c.name as company_name, m.code as market,
          (select array_agg(distinct r.role order by r.role) from user_roles r where r.user_id = u.id) as roles
        from sso_subjects s
        join users u on u.id = s.user_id
        left join companies c on c.id = u.company_id
        left join markets m on m.id = c.market_id
        where s.sub = ${sub}`)
      return row
    },

    /** The subject of an account, created at its first connected-app sign-in. */
    async subjectOf(userId: number): Promise<string> {
      const [created] = await db.insert(ssoSubjects).values({ userId, sub: randomUUID() }).onConflictDoNothing().returning({ sub: ssoSubjects.sub })
      if (created) return created.sub
      const [row] = await db.select({ sub: ssoSubjects.sub }).from(ssoSubjects).where(eq(ssoSubjects.userId, userId))
      if (!row) throw new Error('subject not found')
      return row.sub
    },

    // ---- Signing keys ----

    /** Keys still published, newest first: the first signs. */
    async publishedKeys(): Promise<SigningKeyRow[]> {
      return db.select().from(ssoSigningKeys).where(isNull(ssoSigningKeys.retiredAt)).orderBy(desc(ssoSigningKeys.createdAt), desc(ssoSigningKeys.kid))
    },

    /** Adds a new signing key and retires all but the previous one, in one transaction. */
    async rotateKeys(key: { kid: string; alg: string; encryptedJwk: string }, at: Date, audit: AuditInput | undefined, keep: number): Promise<SigningKeyRow[]> {
      return db.transaction(async (tx) => {
        await tx.insert(ssoSigningKeys).values({ ...key, createdAt: at })
        const published = await tx.select().from(ssoSigningKeys).where(isNull(ssoSigningKeys.retiredAt)).orderBy(desc(ssoSigningKeys.createdAt), desc(ssoSigningKeys.kid))
        for (const old of published.slice(keep)) await tx.update(ssoSigningKeys).set({ retiredAt: at }).where(eq(ssoSigningKeys.kid, old.kid))
        if (audit) await recordAudit(tx, audit)
        return published.slice(0, keep)
      })
    },

    /** Changes whenever a key is added or retired: processes compare it to know when to reload. */
    async keysRevision(): Promise<string> {
      const [row] = await rows<{ revision: string | null }>(db, sql`select string_agg(kid, ',' order by kid) as revision from sso_signing_keys where retired_at is null`)
      return row?.revision ?? ''
    },
  }
}

export type SsoRepo = ReturnType<typeof createSsoRepo>
export type { ClientKind }
