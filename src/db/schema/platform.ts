import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'

/** Append-only record of what was done, by whom, to what. */
export const auditEvents = pgTable('audit_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  at: timestamp('at', { withTimezone: true }).notNull(),
  actorType: text('actor_type').notNull(),
  actorId: integer('actor_id'),
  action: text('action').notNull(),
  targetType: text('target_type'),
  targetId: integer('target_id'),
  scope: jsonb('scope').$type<Record<string, unknown>>(),
  data: jsonb('data').$type<Record<string, unknown>>(),
  requestId: text('request_id'),
  ip: text('ip'),
}, (t) => [index('audit_events_target').on(t.targetType, t.targetId), index('audit_events_at').on(t.at)])

/** Emails written in the same transaction as the change that caused them; a worker sends them. */
export const outbox = pgTable('outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** Unique: the same email (user, purpose, moment) can never be queued twice. */
  key: text('key').notNull(),
  toEmail: text('to_email').notNull(),
  locale: text('locale').notNull(),
  template: text('template').notNull(),
  data: jsonb('data').$type<Record<string, string | number>>().notNull(),
  status: text('status').$type<'pending' | 'sent' | 'failed'>().notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull(),
  lastError: text('last_error'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  sentAt: timestamp('sent_at', { withTimezone: true }),
}, (t) => [uniqueIndex('outbox_key').on(t.key), index('outbox_due').on(t.status, t.nextAttemptAt)])

/**
 * Requests per key (route and client address) in the current window of a rate limit, shared by
 * every process on the database so that a limit holds behind several nodes. Unlogged: counters
 * are not worth a WAL write each, and losing them in a crash only restarts the windows.
 */
export const rateLimitHits = pgTable('rate_limit_hits', {
  key: text('key').primaryKey(),
  hits: integer('hits').notNull(),
  resetsAt: timestamp('resets_at', { withTimezone: true }).notNull(),
}, (t) => [index('rate_limit_hits_resets_at').on(t.resetsAt)])
