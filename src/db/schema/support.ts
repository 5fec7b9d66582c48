import { sql } from 'drizzle-orm'
import { bigserial, boolean, customType, index, integer, jsonb, pgSequence, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { markets } from './organizations.js'
import { users } from './identity.js'

/** Ticket numbers: one sequence, never reused; the reference shows the year it was opened in. */
export const ticketNumbers = pgSequence('ticket_number_seq', { startWith: 100, increment: 1 })

export type TicketState = 'new' | 'open' | 'waiting_on_requester' | 'solved' | 'closed'
export type Urgency = 'normal' | 'urgent'

/** What the requester says about themselves: what a market administrator checks before restoring access. */
export interface TicketIdentity {
  userId: string
  firstName: string
  lastName: string
  email: string
  companyName: string
  companyAddress: string
}

export const tickets = pgTable('tickets', {
  id: serial('id').primaryKey(),
  /** SR-2026-000123 */
  reference: text('reference').notNull(),
  marketId: integer('market_id').notNull().references(() => markets.id),
  topic: text('topic').notNull(),
  subject: text('subject').notNull(),
  urgency: text('urgency').$type<Urgency>().notNull(),
  state: text('state').$type<TicketState>().notNull().default('new'),
  locale: text('locale').notNull(),
  requesterUserId: integer('requester_user_id').references(() => users.id, { onDelete: 'set null' }),
  requesterName: text('requester_name').notNull(),
  requesterEmail: text('requester_email').notNull(),
  companyName: text('company_name').notNull(),
  companyAddress: text('company_address').notNull(),
  identity: jsonb('identity').$type<TicketIdentity>(),
  /** Hash of the private link's secret: guests follow their ticket without an account. */
  accessHash: text('access_hash').notNull(),
  /** The help article (and branch) that did not solve it, when the ticket came from one. */
  articleKey: text('article_key'),
  branch: text('branch'),
  assigneeId: integer('assignee_id').references(() => users.id, { onDelete: 'set null' }),
  firstResponseDue: timestamp('first_response_due', { withTimezone: true }).notNull(),
  resolutionDue: timestamp('resolution_due', { withTimezone: true }).notNull(),
  firstRespondedAt: timestamp('first_responded_at', { withTimezone: true }),
  solvedAt: timestamp('solved_at', { withTimezone: true }),
  closedAt: timestamp('closed_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
}, (t) => [
  uniqueIndex('tickets_reference').on(t.reference),
  index('tickets_queue').on(t.marketId, t.state, t.createdAt),
  index('tickets_requester').on(t.requesterUserId),
  // The per-address hourly limit counts an address's recent tickets on every new one.
  index('tickets_requester_email').on(sql`lower(${t.requesterEmail})`, t.createdAt),
  // Recent handling times (waiting-time estimate) and the solved tickets the auto-close finds.
  index('tickets_first_response').on(t.marketId, t.firstRespondedAt),
  index('tickets_solved').on(t.state, t.solvedAt),
])

export const ticketMessages = pgTable('ticket_messages', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  ticketId: integer('ticket_id').notNull().references(() => tickets.id, { onDelete: 'cascade' }),
  authorType: text('author_type').$type<'requester' | 'agent' | 'system'>().notNull(),
  authorUserId: integer('author_user_id').references(() => users.id, { onDelete: 'set null' }),
  body: text('body').notNull(),
  /** Internal notes: agents only, never shown to or emailed to the requester. */
  internal: boolean('internal').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [index('ticket_messages_ticket').on(t.ticketId, t.createdAt)])

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
})

/**
 * Files sent with a ticket (screenshots, PDF), kept in the database: they are written in the
 * ticket's own transaction, so a refused file leaves nothing behind, and backups hold them too.
 */
export const ticketAttachments = pgTable('ticket_attachments', {
  id: serial('id').primaryKey(),
  ticketId: integer('ticket_id').notNull().references(() => tickets.id, { onDelete: 'cascade' }),
  messageId: integer('message_id'),
  /** As the sender named it (shown as text, sent back as a download name only after sanitising). */
  fileName: text('file_name').notNull(),
  /** Found from the content, never from the sender's claim. */
  contentType: text('content_type').notNull(),
  size: integer('size').notNull(),
  content: bytea('content').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [index('ticket_attachments_ticket').on(t.ticketId)])

/**
 * Further private links to a ticket (one per agent reply emailed): only hashes are stored, and the
 * first link (tickets.access_hash) keeps working beside them.
 */
export const ticketAccessKeys = pgTable('ticket_access_keys', {
  hash: text('hash').primaryKey(),
  ticketId: integer('ticket_id').notNull().references(() => tickets.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
})

/**
 * A help article suggested on the ticket form and opened. `ticketId` is set when the person came
 * back and sent the request anyway; an opened article without a ticket is a deflection.
 */
export const supportDeflections = pgTable('support_deflections', {
  id: text('id').primaryKey(),
  locale: text('locale').notNull(),
  articleSlug: text('article_slug').notNull(),
  ticketId: integer('ticket_id').references(() => tickets.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [index('support_deflections_created').on(t.createdAt)])
