import { and, asc, eq, gte, inArray, lt, sql } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { rows } from '../../db/query.js'
import { ticketMessages, tickets, type TicketState } from '../../db/schema/index.js'
import { recordAudit, type AuditInput } from '../../shared/audit/audit.repo.js'
import { createOutboxRepo, type OutgoingMail } from '../../shared/mail/outbox.repo.js'

export type TicketRow = typeof tickets.$inferSelect
export type NewTicket = Omit<typeof tickets.$inferInsert, 'reference' | 'id'>
export type MessageRow = typeof ticketMessages.$inferSelect

/** States in which a ticket waits for the support team (its place in the queue). */
export const WAITING_STATES: TicketState[] = ['new', 'open']

export function createSupportRepo(db: Db) {
  const outbox = createOutboxRepo(db)
  return {
    /**
     * Creates a ticket, its first message and its confirmation email in one transaction: a ticket
     * the server acknowledged always has its email queued, exactly once (the outbox key).
     */
    async createTicket(ticket: NewTicket, description: string, mail: (reference: string) => OutgoingMail, audit: (id: number, reference: string) => AuditInput): Promise<TicketRow> {
      return db.transaction(async (tx) => {
        const year = ticket.createdAt.getUTCFullYear()
        const [row] = await tx.insert(tickets).values({
          ...ticket, reference: sql`${`SR-${String(year)}-`} || lpad(nextval('ticket_number_seq')::text, 6, '0')`,
        }).returning()
        if (!row) throw new Error('ticket not created')
        await tx.insert(ticketMessages).values({ ticketId: row.id, authorType: 'requester', authorUserId: ticket.requesterUserId ?? null, body: description, createdAt: ticket.createdAt })
        await outbox.enqueue(tx, mail(row.reference), ticket.createdAt)
        await recordAudit(tx, audit(row.id, row.reference))
        return row
      })
    },

    async byReference(reference: string): Promise<TicketRow | undefined> {
      const [row] = await db.select().from(tickets).where(eq(tickets.reference, reference))
      return row
    },

    async messages(ticketId: number, includeInternal: boolean): Promise<MessageRow[]> {
      return db.select().from(ticketMessages)
        .where(includeInternal ? eq(ticketMessages.ticketId, ticketId) : and(eq(ticketMessages.ticketId, ticketId), eq(ticketMessages.internal, false)))
        .orderBy(asc(ticketMessages.createdAt), asc(ticketMessages.id))
    },

    /** A requester's answer: the ticket goes back to the team's queue. */
    async addRequesterMessage(ticket: TicketRow, body: string, at: Date): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.insert(ticketMessages).values({ ticketId: ticket.id, authorType: 'requester', authorUserId: ticket.requesterUserId, body, createdAt: at })
        await tx.update(tickets).set({ state: ticket.state === 'new' ? 'new' : 'open', updatedAt: at }).where(eq(tickets.id, ticket.id))
      })
    },

    async ticketsFromEmailSince(email: string, since: Date): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(tickets)
        .where(and(sql`lower(${tickets.requesterEmail}) = ${email.toLowerCase()}`, gte(tickets.createdAt, since)))
      return row?.n ?? 0
    },

    async ticketsOf(userId: number): Promise<TicketRow[]> {
      return db.select().from(tickets).where(eq(tickets.requesterUserId, userId)).orderBy(sql`${tickets.createdAt} desc`).limit(50)
    },

    /** Tickets of a market waiting for the team that were opened before `before`: the queue ahead of a new one. */
    async queueAhead(marketId: number, before: Date): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(tickets)
        .where(and(eq(tickets.marketId, marketId), inArray(tickets.state, WAITING_STATES), sql`${tickets.firstRespondedAt} is null`, lt(tickets.createdAt, before)))
      return row?.n ?? 0
    },

    /**
     * A market's tickets first answered since `since`: when each was opened and answered, and how
     * many tickets were waiting ahead of it when it arrived (the recent handling times and queues).
     */
    async recentFirstResponses(marketId: number, since: Date): Promise<{ createdAt: Date; firstRespondedAt: Date; aheadAtArrival: number }[]> {
      const found = await rows<{ created_at: Date | string; first_responded_at: Date | string; ahead: number }>(db, sql`
        select t.created_at, t.first_responded_at, (
          select count(*)::int from tickets a
          where a.market_id = t.market_id and a.created_at < t.created_at and (a.first_responded_at is null or a.first_responded_at > t.created_at)
        ) as ahead
        from tickets t
        where t.market_id = ${marketId} and t.first_responded_at >= ${since.toISOString()}::timestamptz
        order by t.first_responded_at desc limit 500`)
      return found.map((f) => ({ createdAt: new Date(f.created_at), firstRespondedAt: new Date(f.first_responded_at), aheadAtArrival: f.ahead }))
    },
  }
}

export type SupportRepo = ReturnType<typeof createSupportRepo>
