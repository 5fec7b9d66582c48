import { sql } from 'drizzle-orm'
import { bigserial, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { realms, users } from './identity.js'

/** What a connected app is allowed to do; it decides the OIDC client metadata. */
export type ClientKind = 'web' | 'public' | 'machine'

/** Connected apps (OIDC clients), one realm each. Secrets are stored only as SHA-256 of a 32-byte random value. */
export const ssoClients = pgTable('sso_clients', {
  clientId: text('client_id').primaryKey(),
  realm: text('realm').notNull().references(() => realms.key),
  name: text('name').notNull(),
  kind: text('kind').$type<ClientKind>().notNull(),
  /** First-party apps of the manufacturer skip the consent page; third-party apps ask once per scope. */
  firstParty: boolean('first_party').notNull().default(true),
  secretHash: text('secret_hash'),
  redirectUris: jsonb('redirect_uris').$type<string[]>().notNull().default([]),
  postLogoutRedirectUris: jsonb('post_logout_redirect_uris').$type<string[]>().notNull().default([]),
  /** OpenID Connect Back-Channel Logout: where the app receives a logout token when a person's session ends. */
  backchannelLogoutUri: text('backchannel_logout_uri'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('sso_clients_realm').on(t.realm)])

/**
 * Everything oidc-provider persists (sessions, interactions, codes, tokens, grants), one row per
 * artifact. Expiry is the provider's own (real time, compared with the database's now()).
 */
export const oidcPayloads = pgTable('oidc_payloads', {
  realm: text('realm').notNull(),
  model: text('model').notNull(),
  id: text('id').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  grantId: text('grant_id'),
  uid: text('uid'),
  userCode: text('user_code'),
  /** The subject (sso_subjects.sub) of sessions, grants, codes and tokens: ending a person's access finds them by it. */
  accountId: text('account_id'),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  consumedAt: timestamp('consumed_at', { withTimezone: true }),
}, (t) => [
  primaryKey({ columns: [t.realm, t.model, t.id] }),
  index('oidc_payloads_grant').on(t.realm, t.grantId),
  index('oidc_payloads_uid').on(t.realm, t.uid),
  index('oidc_payloads_expires').on(t.expiresAt),
  index('oidc_payloads_account').on(t.accountId),
])

/** The OIDC subject of an account: random and stable, never the user ID (which people may see or change). */
export const ssoSubjects = pgTable('sso_subjects', {
  userId: integer('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  sub: text('sub').notNull().unique(),
})

/**
 * Token signing keys. The private JWK is AES-256-GCM encrypted with a key derived from
 * OIDC_KEY_SECRET. The newest key signs; the one before it stays published so tokens it
 * signed still verify; older ones are retired.
 */
export const ssoSigningKeys = pgTable('sso_signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  encryptedJwk: text('encrypted_jwk').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  retiredAt: timestamp('retired_at', { withTimezone: true }),
})

export type LogoutDeliveryStatus = 'pending' | 'delivered' | 'failed'

/**
 * Back-channel logouts to deliver: written by identity's statement that ends a person's access (the
 * same transaction), then signed and posted by a schedule until the app answers 2xx (the outbox's
 * pattern). One pending row per app, subject and SSO session (`sid`; none when only a grant is known).
 */
export const ssoLogoutOutbox = pgTable('sso_logout_outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  realm: text('realm').notNull(),
  clientId: text('client_id').notNull().references(() => ssoClients.clientId, { onDelete: 'cascade' }),
  sub: text('sub').notNull(),
  sid: text('sid'),
  status: text('status').$type<LogoutDeliveryStatus>().notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
  lastError: text('last_error'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  deliveredAt: timestamp('delivered_at', { withTimezone: true }),
}, (t) => [
  index('sso_logout_outbox_due').on(t.status, t.nextAttemptAt),
  uniqueIndex('sso_logout_outbox_pending').on(t.clientId, t.sub, sql`coalesce(${t.sid}, '')`).where(sql`status = 'pending'`),
])
