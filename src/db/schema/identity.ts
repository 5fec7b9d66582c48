import { sql } from 'drizzle-orm'
import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { companies, markets } from './organizations.js'

/** A set of credentials: 'partner' (one ID for every connected app) or an app's own, like 'shop'. */
export const realms = pgTable('realms', {
  key: text('key').primaryKey(),
  names: jsonb('names').$type<Record<string, string>>().notNull(),
  /** Days without activity before each lifecycle step. */
  warnBlockDays: integer('warn_block_days').notNull().default(150),
  blockDays: integer('block_days').notNull().default(180),
  warnDeleteDays: integer('warn_delete_days').notNull().default(335),
  deleteDays: integer('delete_days').notNull().default(365),
})

export type AccountStatus =
  | 'pending_verification' | 'pending_approval' | 'active' | 'block_warned' | 'blocked' | 'delete_warned' | 'deleted' | 'deactivated'

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  realm: text('realm').notNull().references(() => realms.key),
  /** The login name the person chose or was given, as typed; unique per realm ignoring case. */
  userId: text('user_id').notNull(),
  firstName: text('first_name').notNull(),
  lastName: text('last_name').notNull(),
  email: text('email'),
  emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true }),
  locale: text('locale').notNull().default('en'),
  status: text('status').$type<AccountStatus>().notNull().default('active'),
  companyId: integer('company_id').references(() => companies.id),
  passwordHash: text('password_hash'),
  passwordChangedAt: timestamp('password_changed_at', { withTimezone: true }),
  lastActivityAt: timestamp('last_activity_at', { withTimezone: true }),
  /** When the lifecycle last moved the account (warned, blocked…): each warning gets its full notice period. */
  statusChangedAt: timestamp('status_changed_at', { withTimezone: true }),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  /** Lockouts in a row: each one lasts twice as long as the previous. */
  lockouts: integer('lockouts').notNull().default(0),
  /** Sign-ins made without a second factor while one is required: a few are allowed, to enrol one. */
  factorGraceUsed: integer('factor_grace_used').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('users_realm_user_id').on(t.realm, sql`lower(${t.userId})`),
  // A registration not yet verified holds no address: its owner may register, be invited or imported (issue 14).
  uniqueIndex('users_realm_email').on(t.realm, sql`lower(${t.email})`).where(sql`${t.status} <> 'pending_verification'`),
  index('users_company').on(t.companyId),
  // SCIM's `meta.lastModified gt` within a company (a provisioning client's incremental sync).
  index('users_company_updated').on(t.companyId, t.updatedAt),
  index('users_lifecycle').on(t.realm, t.status, t.lastActivityAt),
  // The inactivity forecast counts, company by company and status by status, the accounts whose
  // activity falls in a range: one contiguous stretch of this index each, read without the table
  // (the plain columns are there so PostgreSQL may compute the coalesces from the index alone).
  // Only the statuses the sweep moves accounts from: tombstones and pending accounts stay out.
  index('users_inactivity_forecast').on(t.realm, t.status, t.companyId, sql`coalesce(${t.lastActivityAt}, ${t.createdAt})`, t.statusChangedAt, t.lastActivityAt, t.createdAt)
    .where(sql`${t.status} in ('active', 'block_warned', 'blocked', 'delete_warned')`),
])

export type Role = 'user' | 'org_admin' | 'market_admin' | 'support_agent' | 'platform_admin'

export const userRoles = pgTable('user_roles', {
  id: serial('id').primaryKey(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  role: text('role').$type<Role>().notNull(),
  marketId: integer('market_id').references(() => markets.id),
  companyId: integer('company_id').references(() => companies.id),
}, (t) => [index('user_roles_user').on(t.userId)])

/** Server-side sessions; the cookie holds a random id, the table only its hash. */
export const sessions = pgTable('sessions', {
  idHash: text('id_hash').primaryKey(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  ip: text('ip'),
  userAgent: text('user_agent'),
  /** How the person proved who they are (OIDC `amr`): ["pwd"], or ["pwd","otp"] after a second factor. */
  amr: jsonb('amr').$type<string[]>().notNull().default(['pwd']),
  /** Signed in without a second factor after the grace: the session only reaches the enrolment page. */
  mustEnrol: boolean('must_enrol').notNull().default(false),
}, (t) => [index('sessions_user').on(t.userId)])

export type TokenPurpose = 'verify_email' | 'reset_password' | 'admin_reset' | 'invite'

/** Single-use tokens sent by email; only their hash is stored. */
export const credentialTokens = pgTable('credential_tokens', {
  id: serial('id').primaryKey(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  purpose: text('purpose').$type<TokenPurpose>().notNull(),
  tokenHash: text('token_hash').notNull(),
  /** For email verification: the address being verified. */
  email: text('email'),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [uniqueIndex('credential_tokens_hash').on(t.tokenHash), index('credential_tokens_user').on(t.userId, t.purpose)])

/** Sign-in attempts, for lockouts and the account page's "recent sign-ins". */
export const signInAttempts = pgTable('sign_in_attempts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  realm: text('realm').notNull(),
  userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
  success: boolean('success').notNull(),
  ip: text('ip'),
  at: timestamp('at', { withTimezone: true }).notNull(),
}, (t) => [index('sign_in_attempts_user').on(t.userId, t.at)])

export type FactorKind = 'totp' | 'passkey'

/**
 * Second factors. An authenticator's secret has to be kept (a code is computed from it); the
 * newest time step used is kept so a code is accepted once. A factor without `confirmed_at` is an
 * enrolment waiting for its first code and never counts.
 */
export const secondFactors = pgTable('second_factors', {
  id: serial('id').primaryKey(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  kind: text('kind').$type<FactorKind>().notNull(),
  name: text('name').notNull(),
  secret: text('secret').notNull(),
  lastUsedStep: bigint('last_used_step', { mode: 'number' }),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [index('second_factors_user').on(t.userId)])

/** Ten single-use recovery codes per account; only their SHA-256 is stored. */
export const recoveryCodes = pgTable('recovery_codes', {
  id: serial('id').primaryKey(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  codeHash: text('code_hash').notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [uniqueIndex('recovery_codes_user_hash').on(t.userId, t.codeHash)])

/**
 * A passkey (WebAuthn credential) of a `second_factors` row of kind 'passkey' (which holds its name,
 * creation and last use, and an empty secret). The public key is stored as the authenticator sent it
 * (COSE, base64url); the signature counter only moves forward.
 */
export const passkeys = pgTable('passkeys', {
  factorId: integer('factor_id').primaryKey().references(() => secondFactors.id, { onDelete: 'cascade' }),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  credentialId: text('credential_id').notNull(),
  publicKey: text('public_key').notNull(),
  counter: bigint('counter', { mode: 'number' }).notNull().default(0),
  transports: jsonb('transports').$type<string[]>().notNull().default([]),
}, (t) => [uniqueIndex('passkeys_credential').on(t.credentialId), index('passkeys_user').on(t.userId)])

export type PasskeyPurpose = 'enrol' | 'second_step' | 'sign_in'

/**
 * WebAuthn challenges waiting for their answer: only the SHA-256 of the challenge is kept, bound to
 * what it was issued for (an account's enrolment, a pending second step, a passwordless sign-in of a
 * realm), deleted by the answer that uses it, and good for a few minutes.
 */
export const passkeyChallenges = pgTable('passkey_challenges', {
  challengeHash: text('challenge_hash').primaryKey(),
  purpose: text('purpose').$type<PasskeyPurpose>().notNull(),
  realm: text('realm').notNull(),
  userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
  /** The pending second step (`sign_in_challenges.id_hash`) a 'second_step' challenge belongs to. */
  stepHash: text('step_hash'),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
}, (t) => [index('passkey_challenges_expiry').on(t.expiresAt), index('passkey_challenges_user').on(t.userId)])

/**
 * The second step of a sign-in: the password was right, the factor is still to come. Not a
 * session: a random id in a cookie of that browser (the table keeps its hash), a few minutes,
 * deleted when the step succeeds.
 */
export const signInChallenges = pgTable('sign_in_challenges', {
  idHash: text('id_hash').primaryKey(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  realm: text('realm').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
}, (t) => [index('sign_in_challenges_user').on(t.userId)])
