import { bigserial, boolean, index, integer, jsonb, pgSequence, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
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
