import { and, asc, desc, eq, gt, inArray, isNull, ne, or, sql, type SQL } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client.js'
import { rows } from '../../db/query.js'
import {
  auditEvents, companies, credentialTokens, realms, sessions, signInAttempts, signInChallenges, userRoles, users,
  type AccountStatus, type Role, type TokenPurpose,
} from '../../db/schema/index.js'
import { createOutboxRepo, type OutgoingMail } from '../../shared/mail/outbox.repo.js'
import { recordAudit, type AuditInput } from '../../shared/audit/audit.repo.js'
import type { RoleGrant } from '../../shared/actor.js'
import { endedAccess, erasedColumns, erasedRecords, noEndings, type AccountEndings, type SessionsToEnd } from './account-end.repo.js'
import { AppError } from '../../shared/errors.js'
import { assertTransition, statusesThat } from './account-status.js'

export type UserRow = typeof users.$inferSelect

/**
 * A query over accounts in identity's own terms (a provisioning client's filter is translated to
 * this): each comparison is one indexed predicate (user ID and address by the realm's unique
 * indexes, last change by `users_company_updated`).
 */
export type AccountFilter =
  | { op: 'and' | 'or'; filters: AccountFilter[] }
  | { op: 'eq'; field: 'userId' | 'email'; value: string }
  | { op: 'eq' | 'gt' | 'ge' | 'lt' | 'le'; field: 'updatedAt'; value: Date }

/** An account as a provisioning client reads it: the row, its roles, and its company's number and market. */
export interface AccountRecord { user: UserRow; roles: RoleGrant[]; companyNumber: string | null; marketId: number | null }

/** Where a scoped reader may look: companies (their accounts) and markets (all their companies' accounts). */
export interface AccountScope { companyIds: number[]; marketIds: number[] }

function filterSql(filter: AccountFilter): SQL {
  if ('filters' in filter) {
    const parts = filter.filters.map(filterSql)
    return (filter.op === 'and' ? and(...parts) : or(...parts)) ?? sql`true`
  }
  switch (filter.field) {
    case 'userId':
      return sql`lower(${users.userId}) = ${filter.value.toLowerCase()}`
    case 'email':
      // The realm's unique index on addresses leaves out registrations not yet verified (they hold none).
      return sql`(lower(${users.email}) = ${filter.value.toLowerCase()} and ${users.status} <> 'pending_verification')`
    case 'updatedAt': {
      const op = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' }[filter.op]
      return sql`${users.updatedAt} ${sql.raw(op)} ${filter.value.toISOString()}::timestamptz`
    }
  }
}

/** Like shared/access's reach rule: accounts whose roles go beyond the markets named (none: beyond a company). */
function reachesBeyond(allowedMarkets: number[]): SQL {
  return sql`exists (select 1 from user_roles r where r.user_id = "users"."id" and (r.role = 'platform_admin'
    or (r.role in ('market_admin', 'support_agent') and ${allowedMarkets.length > 0 ? sql`r.market_id not in (${sql.join(allowedMarkets.map((m) => sql`${m}`), sql`, `)})` : sql`true`})))`
}

/** The accounts a scoped reader may see (null: all), with the reach rule of the consoles. */
function inScope(scope: AccountScope | null): SQL | undefined {
  if (!scope) return undefined
  return or(
    scope.companyIds.length > 0 ? and(inArray(users.companyId, scope.companyIds), sql`not ${reachesBeyond([])}`) : sql`false`,
    scope.marketIds.length > 0 ? and(inArray(companies.marketId, scope.marketIds), sql`not ${reachesBeyond(scope.marketIds)}`) : sql`false`,
  )
}
export type NewUser = typeof users.$inferInsert
export type SessionRow = typeof sessions.$inferSelect

/**
 * What a sign-in reads of an account, in the one statement that finds it: the row, its roles (the
 * landing page and the second-factor policy need them), whether it has a confirmed second factor
 * and a passkey among them (the second step's page offers it), and whether its company's market
 * requires a second factor of everyone.
 */
export interface SignInAccount { user: UserRow; roles: RoleGrant[]; hasFactor: boolean; hasPasskey: boolean; marketRequires: boolean }

/** A pending second step with its account, the account's roles and its authenticators (sealed secrets). */
export interface PendingSecondStep {
  idHash: string
  realm: string
  user: UserRow
  roles: RoleGrant[]
  totp: { id: number; secret: string }[]
}

/** How a second step was passed: a code of an authenticator's time step, or a recovery code (its hash). */
export type SecondStepProof = { via: 'totp'; factorId: number; step: number } | { via: 'recovery'; codeHash: string }

/** The account's roles as one JSON array, beside the row of `users` in the query (named in full: a bare column would bind to user_roles). */
const rolesOfUser = sql<RoleGrant[]>`coalesce((select json_agg(json_build_object('role', r.role, 'marketId', r.market_id, 'companyId', r.company_id) order by r.id)
  from user_roles r where r.user_id = "users"."id"), '[]'::json)`

/** The writes a use case makes together: each transaction gets these, bound to it. */
function writes(tx: Db | Tx, outbox: ReturnType<typeof createOutboxRepo>, endings: AccountEndings) {
  return {
    /** The transaction itself, for another module's repository to write in it (one unit of work). */
    executor: tx,
    audit(event: AuditInput): Promise<void> {
      return recordAudit(tx, event)
    },
    enqueueMail(mail: OutgoingMail, now: Date): Promise<void> {
      return outbox.enqueue(tx, mail, now)
    },
    async recordAttempt(attempt: { realm: string; userId: number | null; success: boolean; ip: string | undefined; at: Date }): Promise<void> {
      await tx.insert(signInAttempts).values(attempt)
    },
    async setLock(userId: number, lockedUntil: Date | null, lockouts: number): Promise<void> {
      await tx.update(users).set({ lockedUntil, lockouts }).where(eq(users.id, userId))
    },
    /**
     * Locks an account after too many failures, once: only if it is not locked now and its lockout
     * count is still the one the caller read. Parallel failures (in any process) race on the row;
     * the first wins and the others change nothing, so one lock gets one event and one email.
     */
    async lockOnce(userId: number, readLockouts: number, lockedUntil: Date, now: Date): Promise<boolean> {
      const locked = await tx.update(users).set({ lockedUntil, lockouts: readLockouts + 1 })
        .where(and(eq(users.id, userId), eq(users.lockouts, readLockouts), or(isNull(users.lockedUntil), sql`${users.lockedUntil} <= ${now.toISOString()}::timestamptz`)))
        .returning({ id: users.id })
      return locked.length === 1
    },
    /** A successful sign-in: activity now, warned accounts active again, lockout history cleared. */
    async markSignedIn(userId: number, at: Date, status: AccountStatus): Promise<void> {
      await tx.update(users).set({ lastActivityAt: at, status, lockedUntil: null, lockouts: 0, updatedAt: at }).where(eq(users.id, userId))
    },
    async setEmailVerified(userId: number, email: string, at: Date, status: AccountStatus): Promise<void> {
      await tx.update(users).set({ email, emailVerifiedAt: at, status, updatedAt: at }).where(eq(users.id, userId))
    },
    /** Many accounts at once with their roles (an import), inside the caller's transaction. */
    async insertUsers(rows: { user: NewUser; roles: { role: Role; companyId?: number }[] }[]): Promise<UserRow[]> {
      if (rows.length === 0) return []
      // Prepared (by name, also inside the transaction): one round trip each instead of two, as on
      // the SCIM create path, where round trips are most of the cost. The same for the statements
      // marked `.prepare` below.
      const inserted = await tx.insert(users).values(rows.map((r) => r.user)).returning().prepare('identity_insert_users').execute()
      const roles = inserted.flatMap((u, i) => (rows[i]?.roles ?? []).map((r) => ({ userId: u.id, ...r })))
      if (roles.length > 0) await tx.insert(userRoles).values(roles).prepare('identity_insert_roles').execute()
      return inserted
    },
    /**
     * An invited account in one statement: its row, its roles and its invitation token (one round
     * trip where three inserts took three: the SCIM create path); answers the row.
     */
    async insertInvited(user: NewUser, roles: { role: Role; companyId?: number; marketId?: number }[], token: Omit<typeof credentialTokens.$inferInsert, 'userId'>): Promise<UserRow> {
      const inserted = tx.$with('inserted').as(tx.insert(users).values(user).returning())
      // Data-modifying CTEs run whether or not the final select reads them.
      const granted = tx.$with('granted', {}).as(roles.length === 0 ? sql`select 1` : sql`insert into user_roles (user_id, role, company_id, market_id) ${sql.join(
        roles.map((r) => sql`select inserted.id, ${r.role}, ${r.companyId ?? null}::int, ${r.marketId ?? null}::int from inserted`), sql` union all `)}`)
      const tokened = tx.$with('tokened', {}).as(sql`insert into credential_tokens (user_id, purpose, token_hash, email, expires_at, created_at)
        select inserted.id, ${token.purpose}, ${token.tokenHash}, ${token.email ?? null}, ${token.expiresAt.toISOString()}::timestamptz, ${token.createdAt.toISOString()}::timestamptz from inserted`)
      const [row] = await tx.with(inserted, granted, tokened).select().from(inserted).prepare('identity_insert_invited').execute()
      if (!row) throw new Error('account not inserted')
      return row
    },
    /**
     * Moves an account to `to`, if the state machine allows it and the account is still in the
     * status the use case read (another request may have moved it meanwhile: CONFLICT).
     */
    async moveStatus(user: { id: number; status: AccountStatus }, to: AccountStatus, at: Date): Promise<UserRow> {
      assertTransition(user.status, to)
      // The row as it is now (RETURNING): a use case that answers with the account needs no second read.
      const [moved] = await tx.update(users).set({ status: to, statusChangedAt: at, updatedAt: at })
        .where(and(eq(users.id, user.id), eq(users.status, user.status))).returning()
      if (!moved) throw new AppError('CONFLICT')
      return moved
    },
    async grantRole(userId: number, role: Role, scope: { marketId?: number; companyId?: number }): Promise<void> {
      await tx.insert(userRoles).values({ userId, role, ...scope })
    },
    async revokeRole(userId: number, role: Role, scope: { marketId?: number; companyId?: number }): Promise<number> {
      const removed = await tx.delete(userRoles).where(and(
        eq(userRoles.userId, userId), eq(userRoles.role, role),
        scope.marketId !== undefined ? eq(userRoles.marketId, scope.marketId) : sql`true`,
        scope.companyId !== undefined ? eq(userRoles.companyId, scope.companyId) : sql`true`,
      )).returning({ id: userRoles.id })
      return removed.length
    },
    /**
     * Erases people and keeps anonymous tombstones: user ID, names, email and password go, and
     * everything else that names them (sessions, tokens, attempts, roles, app grants, the other
     * modules' personal data), in one statement.
     */
    async erase(ids: number[], at: Date): Promise<void> {
      if (ids.length === 0) return
      const list = sql.join(ids.map((id) => sql`${id}`), sql`, `)
      const when = sql`${at.toISOString()}::timestamptz`
      await tx.execute(sql`
        with erased as (
          update users u set ${erasedColumns}, status = 'deleted', status_changed_at = ${when}, updated_at = ${when}
          where u.id in (${list}) returning u.id
        ), ${erasedRecords(sql`select id from erased`, endings)}
        select count(*) from erased`)
    },

    /**
     * Ends a person's access: their portal sessions (all, all but the one in use, or the one signed
     * out) and every connected app's SSO session, grant and token, in one statement.
     */
    async endAccess(userId: number, sessions: SessionsToEnd): Promise<number> {
      const [row] = await rows<{ n: number }>(tx, sql`with ${endedAccess(sql`select ${userId}::int`, endings, sessions)} select count(*)::int as n from ended_sessions`)
      return row?.n ?? 0
    },
    /** An administrator gives access back: active, no lockout, and the inactivity clock starts again. */
    async restore(user: { id: number; status: AccountStatus }, at: Date): Promise<UserRow> {
      assertTransition(user.status, 'active')
      const [moved] = await tx.update(users).set({ status: 'active', statusChangedAt: user.status === 'active' ? undefined : at, lockedUntil: null, lockouts: 0, lastActivityAt: at, updatedAt: at })
        .where(and(eq(users.id, user.id), eq(users.status, user.status))).returning()
      if (!moved) throw new AppError('CONFLICT')
      return moved
    },
    /**
     * An account of a realm as a provisioning client reads it (roles, company number and market),
     * its row locked until the transaction ends: the change is checked against it and made in the
     * same transaction, with one read (deleted accounts are gone).
     */
    async lockRecord(realm: string, id: number): Promise<AccountRecord | undefined> {
      const [row] = await tx.select({ user: users, roles: rolesOfUser, companyNumber: companies.companyNumber, marketId: companies.marketId })
        .from(users).leftJoin(companies, eq(companies.id, users.companyId))
        .where(and(eq(users.id, id), eq(users.realm, realm), ne(users.status, 'deleted'))).for('update', { of: users }).prepare('identity_lock_record').execute()
      return row
    },
    /**
     * Who holds a user ID and who an address in a realm (case-insensitive; a registration not yet
     * verified holds no address, as the unique index says), in one statement.
     */
    async holders(realm: string, wanted: { userId?: string | undefined; email?: string | null | undefined }): Promise<{ userId: number | null; email: number | null }> {
      const userId = wanted.userId?.toLowerCase()
      const email = wanted.email ? wanted.email.toLowerCase() : undefined
      if (userId === undefined && email === undefined) return { userId: null, email: null }
      const found = await tx.select({
        id: users.id,
        byUserId: userId === undefined ? sql<boolean>`false` : sql<boolean>`lower(${users.userId}) = ${userId}`,
        byEmail: email === undefined ? sql<boolean>`false` : sql<boolean>`(lower(${users.email}) = ${email} and ${users.status} <> 'pending_verification')`,
      }).from(users).where(and(eq(users.realm, realm), or(
        userId === undefined ? undefined : sql`lower(${users.userId}) = ${userId}`,
        email === undefined ? undefined : sql`(lower(${users.email}) = ${email} and ${users.status} <> 'pending_verification')`,
      ))).prepare('identity_holders').execute()
      return { userId: found.find((f) => f.byUserId)?.id ?? null, email: found.find((f) => f.byEmail)?.id ?? null }
    },
    /** The account and its roles, locked until the transaction ends (a provisioning change reads, checks its version, then writes). */
    async lockAccount(id: number): Promise<{ user: UserRow; roles: RoleGrant[] } | undefined> {
      const [row] = await tx.select({ user: users, roles: rolesOfUser }).from(users).where(eq(users.id, id)).for('update', { of: users })
      return row
    },
    /** A provisioning client's change of the record: user ID, names, locale and address (a new address is unverified); the row as it is now. */
    async updateAccount(id: number, change: { userId?: string; firstName?: string; lastName?: string; locale?: string; email?: string | null; emailChanged?: boolean }, at: Date): Promise<UserRow> {
      const { emailChanged, ...fields } = change
      const [row] = await tx.update(users).set({ ...fields, ...(emailChanged ? { emailVerifiedAt: null } : {}), updatedAt: at }).where(eq(users.id, id)).returning().prepare('identity_update_account').execute()
      if (!row) throw new AppError('NOT_FOUND')
      return row
    },
    /** Marks the record changed (a role given or taken by a provisioning client changes what it reads); the row as it is now. */
    async touch(id: number, at: Date): Promise<UserRow> {
      const [row] = await tx.update(users).set({ updatedAt: at }).where(eq(users.id, id)).returning()
      if (!row) throw new AppError('NOT_FOUND')
      return row
    },
    async setUnverifiedEmail(userId: number, email: string, at: Date): Promise<void> {
      await tx.update(users).set({ email, emailVerifiedAt: null, updatedAt: at }).where(eq(users.id, userId))
    },
    async updateProfile(userId: number, profile: { firstName: string; lastName: string; locale: string }, at: Date): Promise<void> {
      await tx.update(users).set({ ...profile, updatedAt: at }).where(eq(users.id, userId))
    },
    async setPassword(userId: number, passwordHash: string, at: Date): Promise<void> {
      await tx.update(users).set({ passwordHash, passwordChangedAt: at, updatedAt: at }).where(eq(users.id, userId))
    },
    async createSession(session: typeof sessions.$inferInsert): Promise<void> {
      await tx.insert(sessions).values(session)
    },
    /** Ends one portal session of the account (a step-up replaces it with a stronger one); apps keep their grants. */
    async replaceSession(idHash: string, userId: number): Promise<void> {
      await tx.delete(sessions).where(and(eq(sessions.idHash, idHash), eq(sessions.userId, userId)))
    },
    async createToken(token: typeof credentialTokens.$inferInsert): Promise<void> {
      await tx.insert(credentialTokens).values(token).prepare('identity_create_token').execute()
    },
    /** Marks a token used; false when it was already used or expired (a replay or a race lost). */
    async useToken(id: number, at: Date): Promise<boolean> {
      const used = await tx.update(credentialTokens).set({ usedAt: at })
        .where(and(eq(credentialTokens.id, id), isNull(credentialTokens.usedAt), gt(credentialTokens.expiresAt, at)))
        .returning({ id: credentialTokens.id })
      return used.length === 1
    },
    /** Any password change kills every outstanding reset link. */
    async killTokens(userId: number, purposes: TokenPurpose[], at: Date): Promise<void> {
      await tx.update(credentialTokens).set({ usedAt: at })
        .where(and(eq(credentialTokens.userId, userId), inArray(credentialTokens.purpose, purposes), isNull(credentialTokens.usedAt)))
    },
  }
}

export type IdentityWrites = ReturnType<typeof writes>

/**
 * The only writer of accounts (`users`), their roles, sessions and credentials. `endings` are the
 * other modules' parts of ending a person's access and erasing them, run inside identity's statements.
 */
export function createIdentityRepo(db: Db, endings: AccountEndings = noEndings) {
  const outbox = createOutboxRepo(db)
  const direct = writes(db, outbox, endings)
  const p = sql.placeholder
  // The statements every sign-in and every signed-in page run are built once and prepared by
  // name: PostgreSQL then skips parsing and planning them, and each costs one round trip instead
  // of two (an unnamed statement is described first). Measured on the sign-in benchmark.
  const loginLookup = db.select({
    user: users,
    roles: rolesOfUser,
    hasFactor: sql<boolean>`exists (select 1 from second_factors f where f.user_id = "users"."id" and f.confirmed_at is not null)`,
    hasPasskey: sql<boolean>`exists (select 1 from passkeys k where k.user_id = "users"."id")`,
    marketRequires: sql<boolean>`coalesce((select m.second_factor_required from companies c join markets m on m.id = c.market_id where c.id = "users"."company_id"), false)`,
  }).from(users).where(and(
    eq(users.realm, p('realm')),
    ne(users.status, 'deleted'),
    // By user ID, or by address: each branch is one index (the realm's user IDs; its addresses,
    // a partial index that leaves out registrations not yet verified; and those registrations, few,
    // by status). Written as one `lower(email) =` the address could use no index, and every sign-in
    // read the whole table (1.8 ms with 2,000 accounts, growing with each one).
    or(
      sql`lower(${users.userId}) = ${p('lowered')}`,
      sql`(lower(${users.email}) = ${p('lowered')} and ${users.status} <> 'pending_verification')`,
      sql`(${users.status} = 'pending_verification' and lower(${users.email}) = ${p('lowered')})`,
    ),
  // A registration not yet verified holds no address (issue 14): by email, the address's owner comes first.
  )).orderBy(sql`lower(${users.userId}) = ${p('lowered')} desc`, sql`${users.status} = 'pending_verification'`).limit(1).prepare('identity_find_by_login')
  const sessionLookup = db.select({ session: sessions, user: users, roles: rolesOfUser }).from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId)).where(eq(sessions.idHash, p('idHash'))).prepare('identity_find_session')
  // A failed sign-in: the attempt, its audit event, and the account's failures in the window. One
  // statement whether or not an account matched, so both take the same time.
  const failedAttempt = db.$with('added', { userId: sql<number | null>`user_id`.as('user_id') }).as(sql`
    insert into sign_in_attempts (realm, user_id, success, ip, at)
    values (${p('realm')}, ${p('userId')}, false, ${p('ip')}, ${p('at')}::timestamptz)
    returning user_id`)
  const failureAudit = db.$with('audited', {}).as(sql`
    insert into audit_events (at, actor_type, action, target_type, target_id, data, request_id, ip)
    values (${p('at')}::timestamptz, 'guest', 'sign_in.failed', ${p('targetType')}, ${p('userId')}, ${p('data')}::jsonb, ${p('requestId')}, ${p('ip')})`)
  const failureRecord = db.with(failedAttempt, failureAudit).select({
    n: sql<number>`1 + (select count(*)::int from sign_in_attempts a
      where a.user_id = added.user_id and a.success = false and a.at > ${p('since')}::timestamptz)`,
  }).from(failedAttempt).prepare('identity_record_failure')
  // The second step of a sign-in, as few statements as the password step: starting it (the
  // account's older pending step gives way), reading it with everything the code's check needs,
  // and passing it. Each statement costs a round trip and a socket write that the server's main
  // thread and PostgreSQL pay on the cores the password hashes need (bench/identity.bench.ts).
  const secondStepStart = db.with(db.$with('older', {}).as(sql`delete from sign_in_challenges where user_id = ${p('userId')}`))
    .insert(signInChallenges).values({
      idHash: sql`${p('idHash')}`, userId: sql`${p('userId')}`, realm: sql`${p('realm')}`,
      createdAt: sql`${p('at')}::timestamptz`, expiresAt: sql`${p('expiresAt')}::timestamptz`,
    }).prepare('identity_start_second_step')
  const secondStepLookup = db.select({
    idHash: signInChallenges.idHash, realm: signInChallenges.realm, user: users, roles: rolesOfUser,
    totp: sql<{ id: number; secret: string }[]>`coalesce((select json_agg(json_build_object('id', f.id, 'secret', f.secret) order by f.id)
      from second_factors f where f.user_id = "users"."id" and f.kind = 'totp' and f.confirmed_at is not null), '[]'::json)`,
  }).from(signInChallenges).innerJoin(users, eq(users.id, signInChallenges.userId))
    .where(and(eq(signInChallenges.idHash, p('idHash')), gt(signInChallenges.expiresAt, sql`${p('now')}::timestamptz`))).prepare('identity_find_second_step')
  const secondStepPrompt = db.select({
    userId: signInChallenges.userId, realm: signInChallenges.realm,
    hasPasskey: sql<boolean>`exists (select 1 from passkeys k where k.user_id = "sign_in_challenges"."user_id")`,
  }).from(signInChallenges).where(and(eq(signInChallenges.idHash, p('idHash')), gt(signInChallenges.expiresAt, sql`${p('now')}::timestamptz`)))
    .prepare('identity_second_step_prompt')
  /**
   * A successful sign-in's writes in one statement (atomic without a transaction), for a password
   * alone and for a second step alike. A second step's `proof` comes first: the code is used (an
   * authenticator's time step moves forward only, a recovery code is spent), and only then the
   * pending step ends. Only when both happened (a password alone: always), the replaced session
   * (a step-up) goes and the new one comes, with activity now (warned accounts active again,
   * lockout cleared), the attempt and the audit event. A replayed code changes nothing and leaves
   * the step pending. Answers how many codes were used and steps ended (a password: 1 and 1).
   */
  const signInRecord = (name: string, proof?: SQL) => {
    // A password alone: the account's row is the one "ended" row, and nothing is gated on it (the
    // gates and counts cost PostgreSQL ~10 % more per password sign-in; measured, so left out).
    const gate = proof ? sql` and exists (select 1 from ended)` : sql``
    const ended = db.$with('ended', { userId: sql<number>`user_id`.as('user_id') }).as(proof
      ? sql`delete from sign_in_challenges where id_hash = ${p('idHash')} and exists (select 1 from used) returning user_id`
      : sql`select ${p('userId')}::int as user_id`)
    const proven = proof ? [db.$with('used', {}).as(proof), ended, db.$with('replaced', {}).as(sql`
      delete from sessions where id_hash = ${p('replaced')}::text and user_id = ${p('userId')} and exists (select 1 from ended)`)] : [ended]
    return db.with(
      ...proven,
      db.$with('new_session', {}).as(sql`
        insert into sessions (id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, amr, must_enrol)
        select ${p('sessionHash')}, user_id, ${p('at')}::timestamptz, ${p('at')}::timestamptz, ${p('expiresAt')}::timestamptz, ${p('ip')}, ${p('userAgent')}, ${p('amr')}::jsonb, ${p('mustEnrol')}::boolean from ended`),
      db.$with('activity', {}).as(sql`
        update users set last_activity_at = ${p('at')}::timestamptz, status = ${p('status')}, locked_until = null, lockouts = 0, updated_at = ${p('at')}::timestamptz
        where id = ${p('userId')}${gate}`),
      db.$with('attempt', {}).as(sql`
        insert into sign_in_attempts (realm, user_id, success, ip, at) select ${p('realm')}, user_id, true, ${p('ip')}, ${p('at')}::timestamptz from ended`),
      db.$with('audited', {}).as(sql`
        insert into audit_events (at, actor_type, actor_id, action, target_type, target_id, data, request_id, ip)
        select ${p('at')}::timestamptz, 'user', user_id, 'sign_in', 'user', user_id, ${p('data')}::jsonb, ${p('requestId')}, ${p('ip')} from ended`),
    ).select({
      used: proof ? sql<number>`(select count(*)::int from used)` : sql<number>`1`,
      ended: proof ? sql<number>`(select count(*)::int from ended)` : sql<number>`1`,
    }).from(sql`(select 1) as one`).prepare(name)
  }
  const passwordRecord = signInRecord('identity_record_sign_in')
  const totpStepRecord = signInRecord('identity_second_step_totp', sql`
    update second_factors set last_used_step = ${p('step')}::bigint, last_used_at = ${p('at')}::timestamptz
    where id = ${p('factorId')}::int and user_id = ${p('userId')} and (last_used_step is null or last_used_step < ${p('step')}::bigint) returning id`)
  const recoveryStepRecord = signInRecord('identity_second_step_recovery', sql`
    update recovery_codes set used_at = ${p('at')}::timestamptz
    where user_id = ${p('userId')} and code_hash = ${p('codeHash')}::text and used_at is null returning id`)
  /** The parameters every sign-in's record takes (see signInRecord). */
  const recordParams = (input: { idHash?: string; session: typeof sessions.$inferInsert; replaced?: string | undefined; status: AccountStatus; realm: string; data: Record<string, unknown>; requestId: string | undefined }) => {
    const { session } = input
    return {
      idHash: input.idHash ?? null, userId: session.userId, replaced: input.replaced ?? null, sessionHash: session.idHash, at: session.createdAt.toISOString(),
      expiresAt: session.expiresAt.toISOString(), ip: session.ip ?? null, userAgent: session.userAgent ?? null, amr: JSON.stringify(session.amr ?? ['pwd']),
      mustEnrol: session.mustEnrol ?? false, status: input.status, realm: input.realm, data: JSON.stringify(input.data), requestId: input.requestId ?? null,
    }
  }
  return {
    ...direct,

    transaction<T>(run: (tx: IdentityWrites) => Promise<T>): Promise<T> {
      return db.transaction((tx) => run(writes(tx, outbox, endings)))
    },

    /** The account a person means by a user ID or an email address, in one realm (case-insensitive). */
    async findByLogin(realm: string, identifier: string): Promise<UserRow | undefined> {
      const [row] = await loginLookup.execute({ realm, lowered: identifier.toLowerCase() })
      return row?.user
    },

    /** The account of a sign-in with what the sign-in decides by (one statement, see SignInAccount). */
    async findForSignIn(realm: string, identifier: string): Promise<SignInAccount | undefined> {
      const [row] = await loginLookup.execute({ realm, lowered: identifier.toLowerCase() })
      return row
    },

    /** Starts the second step of a sign-in; an older pending one of the account ends (one statement). */
    async startSecondStep(row: { idHash: string; userId: number; realm: string; createdAt: Date; expiresAt: Date }): Promise<void> {
      await secondStepStart.execute({ idHash: row.idHash, userId: row.userId, realm: row.realm, at: row.createdAt.toISOString(), expiresAt: row.expiresAt.toISOString() })
    },

    /** A pending, unexpired second step with its account, roles and authenticators. */
    async findSecondStep(idHash: string, now: Date): Promise<PendingSecondStep | undefined> {
      const [row] = await secondStepLookup.execute({ idHash, now: now.toISOString() })
      return row
    },

    /** A pending, unexpired second step: whose, and whether the account has a passkey to offer. */
    async secondStepPrompt(idHash: string, now: Date): Promise<{ userId: number; realm: string; hasPasskey: boolean } | undefined> {
      const [row] = await secondStepPrompt.execute({ idHash, now: now.toISOString() })
      return row
    },

    /**
     * Passes a second step with `proof` (one statement, see signInRecord). `used` false: the
     * code was already used (nothing changed); `ended` false: the step was no longer pending.
     */
    async recordSecondStep(input: {
      idHash: string; proof: SecondStepProof; session: typeof sessions.$inferInsert; replaced: string | undefined
      status: AccountStatus; realm: string; data: Record<string, unknown>; requestId: string | undefined
    }): Promise<{ used: boolean; ended: boolean }> {
      const { proof } = input
      const params = recordParams(input)
      const [row] = proof.via === 'totp'
        ? await totpStepRecord.execute({ ...params, factorId: proof.factorId, step: proof.step })
        : await recoveryStepRecord.execute({ ...params, codeHash: proof.codeHash })
      return { used: (row?.used ?? 0) > 0, ended: (row?.ended ?? 0) > 0 }
    },

    /** A password sign-in without a second step (one statement, see signInRecord). */
    async recordSignIn(input: {
      session: typeof sessions.$inferInsert; status: AccountStatus; realm: string; requestId: string | undefined
    }): Promise<void> {
      await passwordRecord.execute(recordParams({ ...input, data: { realm: input.realm } }))
    },

    /** Which of these user IDs and emails a realm already has (case-insensitive), for an import's check. */
    async takenInRealm(realm: string, userIds: string[], emails: string[]): Promise<{ userIds: Set<string>; emails: Set<string> }> {
      const lowerIds = userIds.map((u) => u.toLowerCase())
      const lowerEmails = emails.map((e) => e.toLowerCase())
      const found = lowerIds.length + lowerEmails.length === 0 ? [] : await db.select({ userId: users.userId, email: users.email, status: users.status }).from(users).where(and(eq(users.realm, realm), or(
        lowerIds.length > 0 ? inArray(sql`lower(${users.userId})`, lowerIds) : sql`false`,
        lowerEmails.length > 0 ? and(inArray(sql`lower(${users.email})`, lowerEmails), ne(users.status, 'pending_verification')) : sql`false`,
      ))).prepare('identity_taken_in_realm').execute()
      return {
        userIds: new Set(found.map((f) => f.userId.toLowerCase()).filter((u) => lowerIds.includes(u))),
        emails: new Set(found.flatMap((f) => (f.email && f.status !== 'pending_verification' ? [f.email.toLowerCase()] : [])).filter((e) => lowerEmails.includes(e))),
      }
    },

    async userIdTaken(realm: string, userId: string): Promise<boolean> {
      const [row] = await db.select({ id: users.id }).from(users).where(and(eq(users.realm, realm), sql`lower(${users.userId}) = ${userId.toLowerCase()}`))
      return row !== undefined
    },

    /** The owner of an address in a realm; a registration not yet verified owns none (the unique index agrees). */
    async findByEmail(realm: string, email: string): Promise<UserRow | undefined> {
      const [row] = await db.select().from(users).where(and(eq(users.realm, realm), sql`lower(${users.email}) = ${email.toLowerCase()}`, ne(users.status, 'pending_verification')))
      return row
    },

    /**
     * Registrations never verified, made before `before`, are removed with everything that hangs on
     * them (roles, tokens, attempts: foreign keys cascade): their user ID and address are free again.
     */
    async purgeUnverified(before: Date): Promise<number> {
      const removed = await rows<{ n: number }>(db, sql`with removed as (delete from users where status = 'pending_verification'
        and email_verified_at is null and created_at < ${before.toISOString()}::timestamptz returning 1) select count(*)::int as n from removed`)
      return removed[0]?.n ?? 0
    },

    async companyIsPending(companyId: number): Promise<boolean> {
      const [row] = await db.select({ status: companies.status }).from(companies).where(eq(companies.id, companyId))
      return row?.status === 'pending_approval'
    },

    /**
     * Wrong verification codes sent from one client address since `since`, whatever account they
     * named: the limit falls on whoever guesses, not on the account guessed at.
     */
    async countWrongCodesFrom(ip: string | undefined, since: Date): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(auditEvents)
        .where(and(eq(auditEvents.action, 'email.code_wrong'), sql`${auditEvents.ip} is not distinct from ${ip ?? null}`, gt(auditEvents.at, since)))
      return row?.n ?? 0
    },

    async findUser(id: number): Promise<UserRow | undefined> {
      const [row] = await db.select().from(users).where(eq(users.id, id))
      return row
    },

    async insertUser(user: NewUser, roles: { role: Role; marketId?: number; companyId?: number }[] = []): Promise<UserRow> {
      return db.transaction(async (tx) => {
        const [row] = await tx.insert(users).values(user).returning()
        if (!row) throw new Error('user not inserted')
        if (roles.length > 0) await tx.insert(userRoles).values(roles.map((r) => ({ userId: row.id, ...r })))
        return row
      })
    },

    async rolesOf(userId: number) {
      return db.select({ role: userRoles.role, marketId: userRoles.marketId, companyId: userRoles.companyId }).from(userRoles).where(eq(userRoles.userId, userId))
    },

    async recentAttempts(userId: number, limit: number) {
      return db.select().from(signInAttempts).where(eq(signInAttempts.userId, userId)).orderBy(desc(signInAttempts.at)).limit(limit)
    },

    async sessionsOf(userId: number): Promise<SessionRow[]> {
      return db.select().from(sessions).where(eq(sessions.userId, userId)).orderBy(desc(sessions.lastSeenAt))
    },

    /** One of a user's own sessions, named by the start of its hash (what the account page shows). */
    async sessionByRef(userId: number, ref: string): Promise<SessionRow | undefined> {
      const [row] = await db.select().from(sessions).where(and(eq(sessions.userId, userId), sql`left(${sessions.idHash}, 16) = ${ref}`))
      return row
    },

    async realm(key: string) {
      const [row] = await db.select().from(realms).where(eq(realms.key, key))
      return row
    },

    /** The person's accounts in every realm, found by their verified email address. */
    async accountsWithEmail(email: string): Promise<{ realm: string; userId: string; status: string }[]> {
      return db.select({ realm: users.realm, userId: users.userId, status: users.status }).from(users)
        .where(and(sql`lower(${users.email}) = ${email.toLowerCase()}`, sql`${users.emailVerifiedAt} is not null`, ne(users.status, 'deleted')))
    },

    /** Records a failed sign-in and returns the account's failures since `since`, this one included. */
    async recordFailure(attempt: { realm: string; userId: number | null; ip: string | undefined; at: Date; requestId: string | undefined }, since: Date): Promise<number> {
      const [row] = await failureRecord.execute({
        realm: attempt.realm, userId: attempt.userId, ip: attempt.ip ?? null, at: attempt.at.toISOString(), since: since.toISOString(),
        targetType: attempt.userId === null ? null : 'user', data: JSON.stringify({ realm: attempt.realm }), requestId: attempt.requestId ?? null,
      })
      return row?.n ?? 1
    },

    /** A session with its account and the account's roles (the request's Actor needs no other query). */
    async findSession(idHash: string): Promise<(SessionRow & { user: UserRow; roles: RoleGrant[] }) | undefined> {
      const [row] = await sessionLookup.execute({ idHash })
      return row ? { ...row.session, user: row.user, roles: row.roles } : undefined
    },

    /** An account with its roles, by its number. */
    async findUserWithRoles(id: number): Promise<{ user: UserRow; roles: RoleGrant[] } | undefined> {
      const [row] = await db.select({ user: users, roles: rolesOfUser }).from(users).where(eq(users.id, id))
      return row
    },

    /** The account of a realm with exactly this user ID (case-insensitive, the realm's unique index). */
    async findByUserId(realm: string, userId: string): Promise<UserRow | undefined> {
      const [row] = await db.select().from(users).where(and(eq(users.realm, realm), sql`lower(${users.userId}) = ${userId.toLowerCase()}`))
      return row
    },

    /**
     * A token issued to a connected app is activity in the account's realm, like a portal sign-in:
     * activity now, and a warned account active again. An app refreshing every few minutes writes
     * the row at most once a minute (a policy counted in days loses nothing by it).
     */
    async recordAppActivity(userId: number, at: Date): Promise<void> {
      const revives = sql.join(statusesThat('activityRevives').map((s) => sql`${s}`), sql`, `)
      const when = sql`${at.toISOString()}::timestamptz`
      await db.execute(sql`
        update users set last_activity_at = ${when}, updated_at = ${when},
          status = case when status in (${revives}) then 'active' else status end
        where id = ${userId} and (last_activity_at is null or last_activity_at < ${when} - interval '1 minute'
          or last_activity_at > ${when} or status in (${revives}))`)
    },

    /** Portal sessions idle or past their end are dead already (the lookup refuses them): this reclaims them. */
    async deleteExpiredSessions(now: Date, idleBefore: Date): Promise<number> {
      const removed = await rows<{ n: number }>(db, sql`with removed as (delete from sessions where expires_at < ${now.toISOString()}::timestamptz
        or last_seen_at < ${idleBefore.toISOString()}::timestamptz returning 1) select count(*)::int as n from removed`)
      return removed[0]?.n ?? 0
    },

    async touchSession(idHash: string, at: Date): Promise<void> {
      await db.update(sessions).set({ lastSeenAt: at }).where(eq(sessions.idHash, idHash))
    },

    async deleteSession(idHash: string): Promise<void> {
      await db.delete(sessions).where(eq(sessions.idHash, idHash))
    },


    async findToken(tokenHash: string) {
      const [row] = await db.select().from(credentialTokens).where(eq(credentialTokens.tokenHash, tokenHash))
      return row
    },

    /** The address of the newest verification still waiting to be used. */
    async pendingVerificationEmail(userId: number, now: Date): Promise<string | undefined> {
      const [row] = await db.select({ email: credentialTokens.email }).from(credentialTokens)
        .where(and(eq(credentialTokens.userId, userId), eq(credentialTokens.purpose, 'verify_email'), isNull(credentialTokens.usedAt), gt(credentialTokens.expiresAt, now)))
        .orderBy(desc(credentialTokens.id)).limit(1)
      return row?.email ?? undefined
    },

    /**
     * Accounts an administrator may see, newest activity first: `scope` limits them to companies
     * and markets (absent: all). `q` matches user ID, name, email or company name, in part.
     */
    async findUsers(filter: {
      scope: { companyIds: number[]; marketIds: number[] } | null; q?: string | undefined; status?: AccountStatus | undefined
      companyId?: number | undefined; limit: number; offset: number
    }) {
      const like = filter.q ? `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null
      // Like shared/access's reach rule: through a company, only accounts whose roles stay in it;
      // through a market, only accounts whose market-wide roles are in the administrator's markets.
      const marketIds = filter.scope?.marketIds ?? []
      const reachesBeyond = (allowedMarkets: number[]) => sql`exists (select 1 from user_roles r where r.user_id = "users"."id" and (r.role = 'platform_admin'
        or (r.role in ('market_admin', 'support_agent') and ${allowedMarkets.length > 0 ? sql`r.market_id not in (${sql.join(allowedMarkets.map((m) => sql`${m}`), sql`, `)})` : sql`true`})))`
      const inScope = filter.scope
        ? or(
            filter.scope.companyIds.length > 0 ? and(inArray(users.companyId, filter.scope.companyIds), sql`not ${reachesBeyond([])}`) : sql`false`,
            marketIds.length > 0 ? and(inArray(companies.marketId, marketIds), sql`not ${reachesBeyond(marketIds)}`) : sql`false`,
          )
        : undefined
      return db.select({
        id: users.id, realm: users.realm, userId: users.userId, firstName: users.firstName, lastName: users.lastName, email: users.email,
        status: users.status, lastActivityAt: users.lastActivityAt, lockedUntil: users.lockedUntil, companyId: users.companyId,
        companyName: companies.name, companyNumber: companies.companyNumber, marketId: companies.marketId,
      }).from(users).leftJoin(companies, eq(companies.id, users.companyId)).where(and(
        ne(users.status, 'deleted'),
        inScope,
        filter.status ? eq(users.status, filter.status) : undefined,
        filter.companyId !== undefined ? eq(users.companyId, filter.companyId) : undefined,
        like ? or(
          sql`lower(${users.userId}) like ${like}`, sql`lower(${users.firstName} || ' ' || ${users.lastName}) like ${like}`,
          sql`lower(${users.email}) like ${like}`, sql`lower(${companies.name}) like ${like}`,
        ) : undefined,
      )).orderBy(sql`${users.lastActivityAt} desc nulls last`, users.id).limit(filter.limit).offset(filter.offset)
    },

    /**
     * A provisioning client's page of accounts in a realm: in `scope`, matching `filter`, ordered by
     * number, with the total (one statement; the count is a window over the same rows).
     */
    async findAccounts(query: { realm: string; scope: AccountScope | null; filter?: AccountFilter | undefined; offset: number; limit: number }): Promise<{ total: number; records: AccountRecord[] }> {
      const where = and(eq(users.realm, query.realm), ne(users.status, 'deleted'), inScope(query.scope), query.filter ? filterSql(query.filter) : undefined)
      const select = { user: users, roles: rolesOfUser, companyNumber: companies.companyNumber, marketId: companies.marketId }
      if (query.limit === 0) {
        const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(users).leftJoin(companies, eq(companies.id, users.companyId)).where(where)
        return { total: row?.n ?? 0, records: [] }
      }
      const found = await db.select({ ...select, total: sql<number>`(count(*) over ())::int` }).from(users).leftJoin(companies, eq(companies.id, users.companyId))
        .where(where).orderBy(asc(users.id)).limit(query.limit).offset(query.offset)
      if (found.length === 0 && query.offset > 0) return { total: (await this.findAccounts({ ...query, offset: 0, limit: 0 })).total, records: [] }
      return { total: found[0]?.total ?? 0, records: found.map(({ total: _total, ...record }) => record) }
    },

    /** One account as a provisioning client reads it (deleted accounts are gone). */
    async findAccount(realm: string, id: number): Promise<AccountRecord | undefined> {
      const [row] = await db.select({ user: users, roles: rolesOfUser, companyNumber: companies.companyNumber, marketId: companies.marketId })
        .from(users).leftJoin(companies, eq(companies.id, users.companyId)).where(and(eq(users.id, id), eq(users.realm, realm), ne(users.status, 'deleted')))
      return row
    },

    /** Companies a scoped reader may see (null: all), by number, with the total. */
    async scopedCompanies(scope: AccountScope | null, page: { offset: number; limit: number; companyId?: number | undefined }): Promise<{ total: number; companies: { id: number; companyNumber: string; name: string; marketId: number }[] }> {
      const where = and(ne(companies.status, 'refused'), page.companyId !== undefined ? eq(companies.id, page.companyId) : undefined, scope ? or(
        scope.companyIds.length > 0 ? inArray(companies.id, scope.companyIds) : sql`false`,
        scope.marketIds.length > 0 ? inArray(companies.marketId, scope.marketIds) : sql`false`,
      ) : undefined)
      const [count] = await db.select({ n: sql<number>`count(*)::int` }).from(companies).where(where)
      const found = page.limit === 0 ? [] : await db.select({ id: companies.id, companyNumber: companies.companyNumber, name: companies.name, marketId: companies.marketId })
        .from(companies).where(where).orderBy(asc(companies.id)).limit(page.limit).offset(page.offset)
      return { total: count?.n ?? 0, companies: found }
    },

    /**
     * The accounts of companies (not deleted, whose roles stay in their company) and which of them
     * administer it: the members of a company's groups.
     */
    async companyMembers(realm: string, companyIds: number[]): Promise<{ id: number; userId: string; companyId: number; orgAdmin: boolean }[]> {
      if (companyIds.length === 0) return []
      const found = await db.select({
        id: users.id, userId: users.userId, companyId: sql<number>`${users.companyId}`,
        orgAdmin: sql<boolean>`exists (select 1 from user_roles r where r.user_id = "users"."id" and r.role = 'org_admin' and r.company_id = "users"."company_id")`,
      }).from(users).where(and(eq(users.realm, realm), inArray(users.companyId, companyIds), ne(users.status, 'deleted'), sql`not ${reachesBeyond([])}`)).orderBy(asc(users.id))
      return found
    },

    /** The user IDs holding a role in a company or market (to show who administers what). */
    async roleHolders(role: Role, scope: { companyId?: number; marketId?: number }): Promise<number[]> {
      const found = await db.select({ userId: userRoles.userId }).from(userRoles).where(and(eq(userRoles.role, role),
        scope.companyId !== undefined ? eq(userRoles.companyId, scope.companyId) : eq(userRoles.marketId, scope.marketId ?? -1)))
      return found.map((r) => r.userId)
    },

    /** The newest identity check an administrator recorded on an account since `since`. */
    async lastIdentityCheck(actorId: number | null, userId: number, since: Date) {
      const [row] = await db.select().from(auditEvents).where(and(
        eq(auditEvents.action, 'identity.checked'), eq(auditEvents.targetType, 'user'), eq(auditEvents.targetId, userId),
        actorId === null ? sql`${auditEvents.actorId} is null` : eq(auditEvents.actorId, actorId), gt(auditEvents.at, since),
      )).orderBy(desc(auditEvents.at)).limit(1)
      return row
    },

    mailsTo: (email: string) => outbox.to(email),

    async auditOf(userId: number, limit: number) {
      return db.select().from(auditEvents).where(and(eq(auditEvents.targetType, 'user'), eq(auditEvents.targetId, userId)))
        .orderBy(desc(auditEvents.at), desc(auditEvents.id)).limit(limit)
    },

    async companyOf(companyId: number) {
      const [row] = await db.select().from(companies).where(eq(companies.id, companyId))
      return row
    },
  }
}

export type IdentityRepo = ReturnType<typeof createIdentityRepo>
