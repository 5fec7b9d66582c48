import { randomUUID } from 'node:crypto'
import { and, asc, desc, eq, gte, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm'
import type { Db, Executor, Tx } from '../../db/client.js'
import { rows } from '../../db/query.js'
import { markets, supportDeflections, ticketAccessKeys, ticketAttachments, ticketMessages, tickets, users, type TicketState, type Urgency } from '../../db/schema/index.js'
import { recordAudit, type AuditInput } from '../../shared/audit/audit.repo.js'
import { createOutboxRepo, type OutgoingMail } from '../../shared/mail/outbox.repo.js'

export type TicketRow = typeof tickets.$inferSelect
export type NewTicket = Omit<typeof tickets.$inferInsert, 'reference' | 'id'>
export type MessageRow = typeof ticketMessages.$inferSelect & { authorName?: string | null }
export type AttachmentInfo = Omit<typeof ticketAttachments.$inferSelect, 'content'>
export interface NewAttachment { fileName: string; contentType: string; content: Buffer }

/**
 * Erasing a person (identity decides when, in its own statement): their tickets stay for the
 * market's history, without the requester's name, address, identity details and files.
 */
export function erasedRequesterData(ids: SQL): SQL {
  return sql`erased_files as (delete from ticket_attachments where ticket_id in (select id from tickets where requester_user_id in (${ids}))),
    erased_requesters as (update tickets set requester_name = '', requester_email = '', identity = null where requester_user_id in (${ids}))`
}

/** What the agents' queue can be filtered by; `marketIds` null means every market (platform). */
export interface QueueFilter {
  marketIds: number[] | null
  state?: TicketState | 'active' | undefined
  topic?: string | undefined
  urgency?: Urgency | undefined
  /** Opened at least this long ago. */
  olderThan?: Date | undefined
  /** Only tickets past a due time they have not met. */
  breached?: boolean | undefined
  assigneeId?: number | undefined
  now: Date
  limit: number
  offset: number
}

/** A ticket in the queue list, with its market and assignee named. */
export type QueueRow = TicketRow & { marketCode: string; assigneeName: string | null; requesterAwaitingApproval: boolean }

/** Whether the ticket's requester is an account its company has not approved yet (read when shown: approval clears it). */
const requesterAwaitingApproval = sql<boolean>`exists (select 1 from users requester where requester.id = ${tickets.requesterUserId} and requester.status = 'pending_approval')`

/** SQL for "past a due time not met": first answer late, or not solved in time. */
function breachOf(now: Date): SQL {
  const at = now.toISOString()
  return sql`((${tickets.firstRespondedAt} is null and ${tickets.firstResponseDue} < ${at}::timestamptz and ${tickets.state} not in ('solved', 'closed'))
    or (${tickets.solvedAt} is null and ${tickets.resolutionDue} < ${at}::timestamptz and ${tickets.state} not in ('solved', 'closed')))`
}

/** Files that belong to no internal note (a file without a message is the requester's own, from the first request). */
function notInternal(): SQL {
  return sql`(${ticketAttachments.messageId} is null or ${ticketMessages.internal} = false)`
}

async function insertFiles(tx: Db | Tx, ticketId: number, messageId: number | null, files: NewAttachment[], at: Date): Promise<void> {
  if (files.length === 0) return
  await tx.insert(ticketAttachments).values(files.map((f) => ({ ticketId, messageId, fileName: f.fileName, contentType: f.contentType, size: f.content.length, content: f.content, createdAt: at })))
}

/** States in which a ticket waits for the support team (its place in the queue). */
export const WAITING_STATES: TicketState[] = ['new', 'open']

export function createSupportRepo(db: Db) {
  const outbox = createOutboxRepo(db)

  /**
   * The intake's hot path: ticket, first message, confirmation email and audit event in one
   * statement (one round trip, atomic without a transaction). The reference comes from the
   * sequence inside the statement, so the email and the event are built with a placeholder that
   * the statement replaces by it.
   */
  async function createInOneStatement(ticket: NewTicket, description: string, mail: (reference: string) => OutgoingMail, audit: (id: number, reference: string) => AuditInput, deflectionId: string | undefined): Promise<TicketRow> {
    const placeholder = `@ref-${randomUUID()}@`
    const email = mail(placeholder)
    const event = audit(0, placeholder)
    const at = ticket.createdAt.toISOString()
    const ts = (d: Date | null | undefined) => (d ? d.toISOString() : null)
    const [row] = await rows<{ id: number; reference: string }>(db, sql`
      with t as (
        insert into tickets (reference, market_id, topic, subject, urgency, state, locale, requester_user_id, requester_name, requester_email,
          company_name, company_address, identity, access_hash, article_key, branch, assignee_id, first_response_due, resolution_due,
          first_responded_at, solved_at, closed_at, created_at, updated_at)
        values (${`SR-${String(ticket.createdAt.getUTCFullYear())}-`} || lpad(nextval('ticket_number_seq')::text, 6, '0'), ${ticket.marketId}, ${ticket.topic},
          ${ticket.subject}, ${ticket.urgency}, ${ticket.state ?? 'new'}, ${ticket.locale}, ${ticket.requesterUserId ?? null}, ${ticket.requesterName},
          ${ticket.requesterEmail}, ${ticket.companyName}, ${ticket.companyAddress}, ${ticket.identity ? JSON.stringify(ticket.identity) : null}::jsonb,
          ${ticket.accessHash}, ${ticket.articleKey ?? null}, ${ticket.branch ?? null}, ${ticket.assigneeId ?? null},
          ${ticket.firstResponseDue.toISOString()}::timestamptz, ${ticket.resolutionDue.toISOString()}::timestamptz, ${ts(ticket.firstRespondedAt)}::timestamptz,
          ${ts(ticket.solvedAt)}::timestamptz, ${ts(ticket.closedAt)}::timestamptz, ${at}::timestamptz, ${ticket.updatedAt.toISOString()}::timestamptz)
        returning id, reference
      ), message as (
        insert into ticket_messages (ticket_id, author_type, author_user_id, body, internal, created_at)
        select t.id, 'requester', ${ticket.requesterUserId ?? null}::int, ${description}, false, ${at}::timestamptz from t
      ), mail as (
        insert into outbox (key, to_email, locale, template, data, next_attempt_at, created_at)
        select replace(${email.key}, ${placeholder}, t.reference), ${email.to}, ${email.locale}, ${email.template},
          replace(${JSON.stringify(email.data)}, ${placeholder}, t.reference)::jsonb, ${at}::timestamptz, ${at}::timestamptz from t
        on conflict (key) do nothing
      ), deflection as (
        update support_deflections set ticket_id = (select id from t) where id = ${deflectionId ?? null} and ticket_id is null
      ), audited as (
        insert into audit_events (at, actor_type, actor_id, action, target_type, target_id, scope, data, request_id, ip)
        select ${event.at.toISOString()}::timestamptz, ${event.actor.type}, ${event.actor.id}::int, ${event.action}, 'ticket', t.id,
          ${event.scope ? JSON.stringify(event.scope) : null}::jsonb, replace(${JSON.stringify(event.data ?? {})}, ${placeholder}, t.reference)::jsonb,
          ${event.requestId ?? null}, ${event.ip ?? null} from t
      )
      select id, reference from t`)
    if (!row) throw new Error('ticket not created')
    return {
      id: row.id, reference: row.reference, marketId: ticket.marketId, topic: ticket.topic, subject: ticket.subject, urgency: ticket.urgency, state: ticket.state ?? 'new',
      locale: ticket.locale, requesterUserId: ticket.requesterUserId ?? null, requesterName: ticket.requesterName, requesterEmail: ticket.requesterEmail,
      companyName: ticket.companyName, companyAddress: ticket.companyAddress, identity: ticket.identity ?? null, accessHash: ticket.accessHash,
      articleKey: ticket.articleKey ?? null, branch: ticket.branch ?? null, assigneeId: ticket.assigneeId ?? null, firstResponseDue: ticket.firstResponseDue,
      resolutionDue: ticket.resolutionDue, firstRespondedAt: ticket.firstRespondedAt ?? null, solvedAt: ticket.solvedAt ?? null, closedAt: ticket.closedAt ?? null,
      createdAt: ticket.createdAt, updatedAt: ticket.updatedAt,
    }
  }

  return {
    /**
     * Creates a ticket, its first message and its confirmation email in one transaction: a ticket
     * the server acknowledged always has its email queued, exactly once (the outbox key).
     */
    async createTicket(ticket: NewTicket, description: string, mail: (reference: string) => OutgoingMail, audit: (id: number, reference: string) => AuditInput, extra: { attachments?: NewAttachment[]; deflectionId?: string | undefined } = {}): Promise<TicketRow> {
      const files = extra.attachments ?? []
      const year = ticket.createdAt.getUTCFullYear()
      if (files.length === 0) return createInOneStatement(ticket, description, mail, audit, extra.deflectionId)
      return db.transaction(async (tx) => {
        const [row] = await tx.insert(tickets).values({
          ...ticket, reference: sql`${`SR-${String(year)}-`} || lpad(nextval('ticket_number_seq')::text, 6, '0')`,
        }).returning()
        if (!row) throw new Error('ticket not created')
        const [message] = await tx.insert(ticketMessages).values({ ticketId: row.id, authorType: 'requester', authorUserId: ticket.requesterUserId ?? null, body: description, createdAt: ticket.createdAt }).returning({ id: ticketMessages.id })
        await tx.insert(ticketAttachments).values(files.map((f) => ({ ticketId: row.id, messageId: message?.id ?? null, fileName: f.fileName, contentType: f.contentType, size: f.content.length, content: f.content, createdAt: ticket.createdAt })))
        if (extra.deflectionId) await tx.update(supportDeflections).set({ ticketId: row.id }).where(and(eq(supportDeflections.id, extra.deflectionId), isNull(supportDeflections.ticketId)))
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
      return db.select({
        id: ticketMessages.id, ticketId: ticketMessages.ticketId, authorType: ticketMessages.authorType, authorUserId: ticketMessages.authorUserId,
        body: ticketMessages.body, internal: ticketMessages.internal, createdAt: ticketMessages.createdAt,
        authorName: sql<string | null>`case when ${users.id} is null then null else ${users.firstName} || ' ' || ${users.lastName} end`,
      }).from(ticketMessages).leftJoin(users, eq(users.id, ticketMessages.authorUserId))
        .where(includeInternal ? eq(ticketMessages.ticketId, ticketId) : and(eq(ticketMessages.ticketId, ticketId), eq(ticketMessages.internal, false)))
        .orderBy(asc(ticketMessages.createdAt), asc(ticketMessages.id))
    },

    /** The ticket a further private link (from an agent's reply) opens. */
    async ticketIdOfAccessKey(hash: string): Promise<number | undefined> {
      const [row] = await db.select({ ticketId: ticketAccessKeys.ticketId }).from(ticketAccessKeys).where(eq(ticketAccessKeys.hash, hash))
      return row?.ticketId
    },

    /**
     * A requester's answer: the ticket goes back to the team's queue (a waiting or solved ticket
     * opens again). Only if it is not closed at that moment: a concurrent close wins.
     */
    async addRequesterMessage(ticket: TicketRow, body: string, at: Date, audit: AuditInput, files: NewAttachment[] = []): Promise<boolean> {
      return db.transaction(async (tx) => {
        const [updated] = await tx.update(tickets).set({ state: sql`case when ${tickets.state} = 'new' then 'new' else 'open' end`, solvedAt: null, updatedAt: at })
          .where(and(eq(tickets.id, ticket.id), sql`${tickets.state} <> 'closed'`)).returning({ id: tickets.id })
        if (!updated) return false
        const [message] = await tx.insert(ticketMessages).values({ ticketId: ticket.id, authorType: 'requester', authorUserId: ticket.requesterUserId, body, createdAt: at }).returning({ id: ticketMessages.id })
        await insertFiles(tx, ticket.id, message?.id ?? null, files, at)
        await recordAudit(tx, audit)
        return true
      })
    },

    async requesterAwaitingApproval(ticketId: number): Promise<boolean> {
      const [row] = await db.select({ waiting: requesterAwaitingApproval }).from(tickets).where(eq(tickets.id, ticketId))
      return row?.waiting ?? false
    },

    async userName(id: number): Promise<string | null> {
      const [row] = await db.select({ name: sql<string>`${users.firstName} || ' ' || ${users.lastName}` }).from(users).where(eq(users.id, id))
      return row?.name ?? null
    },

    async byId(id: number): Promise<TicketRow | undefined> {
      const [row] = await db.select().from(tickets).where(eq(tickets.id, id))
      return row
    },

    /** The agents' queue: oldest waiting first, breaches and urgent ones on top. */
    async queue(filter: QueueFilter): Promise<{ rows: QueueRow[]; total: number }> {
      const where = and(
        filter.marketIds ? (filter.marketIds.length > 0 ? inArray(tickets.marketId, filter.marketIds) : sql`false`) : undefined,
        filter.state === 'active' ? sql`${tickets.state} not in ('solved', 'closed')` : filter.state ? eq(tickets.state, filter.state) : undefined,
        filter.topic ? eq(tickets.topic, filter.topic) : undefined,
        filter.urgency ? eq(tickets.urgency, filter.urgency) : undefined,
        filter.olderThan ? lt(tickets.createdAt, filter.olderThan) : undefined,
        filter.breached ? breachOf(filter.now) : undefined,
        filter.assigneeId !== undefined ? eq(tickets.assigneeId, filter.assigneeId) : undefined,
      )
      const [found, [count]] = await Promise.all([
        db.select({ ticket: tickets, marketCode: markets.code, assigneeName: sql<string | null>`case when ${users.id} is null then null else ${users.firstName} || ' ' || ${users.lastName} end`, requesterAwaitingApproval })
          .from(tickets).innerJoin(markets, eq(markets.id, tickets.marketId)).leftJoin(users, eq(users.id, tickets.assigneeId))
          .where(where).orderBy(sql`case when ${breachOf(filter.now)} then 0 else 1 end`, desc(sql`${tickets.urgency} = 'urgent'`), asc(tickets.createdAt), asc(tickets.id))
          .limit(filter.limit).offset(filter.offset),
        db.select({ n: sql<number>`count(*)::int` }).from(tickets).where(where),
      ])
      return { rows: found.map((f) => ({ ...f.ticket, marketCode: f.marketCode, assigneeName: f.assigneeName, requesterAwaitingApproval: f.requesterAwaitingApproval })), total: count?.n ?? 0 }
    },

    /**
     * One agent action on a ticket, in one transaction: the change (only if the ticket is still in
     * the state the agent saw), its message, its email and new private link, its audit event.
     */
    async agentAction(ticket: TicketRow, action: {
      at: Date; set?: Partial<Pick<TicketRow, 'state' | 'assigneeId' | 'firstRespondedAt' | 'solvedAt' | 'closedAt'>>
      message?: { authorType: 'agent' | 'system'; authorUserId: number | null; body: string; internal: boolean }
      mail?: OutgoingMail; accessHash?: string; audit: AuditInput
      /** Files of the message, checked beforehand (stored in the same transaction). */
      files?: NewAttachment[]
    }, outer?: Executor): Promise<boolean> {
      // Inside the caller's transaction when one is given (the identity action commits with its note).
      const run = async (tx: Db | Tx) => {
        const [updated] = await tx.update(tickets).set({ ...action.set, updatedAt: action.at })
          .where(and(eq(tickets.id, ticket.id), eq(tickets.state, ticket.state))).returning({ id: tickets.id })
        if (!updated) return false
        if (action.message) {
          const [message] = await tx.insert(ticketMessages).values({ ticketId: ticket.id, ...action.message, createdAt: action.at }).returning({ id: ticketMessages.id })
          await insertFiles(tx, ticket.id, message?.id ?? null, action.files ?? [], action.at)
        }
        if (action.accessHash) await tx.insert(ticketAccessKeys).values({ hash: action.accessHash, ticketId: ticket.id, createdAt: action.at })
        if (action.mail) await outbox.enqueue(tx, action.mail, action.at)
        await recordAudit(tx, action.audit)
        return true
      }
      return outer ? run(outer) : db.transaction(run)
    },

    /**
     * Closes solved tickets nobody answered since `solvedBefore`, a batch at a time, each with a
     * system message and an audit event. Rows another process is closing are skipped.
     */
    async closeSolved(solvedBefore: Date, now: Date, limit: number): Promise<{ id: number; marketId: number; reference: string }[]> {
      return db.transaction(async (tx: Tx) => {
        const closed = await rows<{ id: number; market_id: number; reference: string }>(tx, sql`
          update tickets set state = 'closed', closed_at = ${now.toISOString()}::timestamptz, updated_at = ${now.toISOString()}::timestamptz
          where id in (select id from tickets where state = 'solved' and solved_at < ${solvedBefore.toISOString()}::timestamptz order by solved_at limit ${limit} for update skip locked)
          returning id, market_id, reference`)
        if (closed.length === 0) return []
        await tx.insert(ticketMessages).values(closed.map((c) => ({ ticketId: c.id, authorType: 'system' as const, authorUserId: null, body: JSON.stringify({ key: 'support.system.autoClosed' }), internal: false, createdAt: now })))
        for (const c of closed) {
          await recordAudit(tx, { at: now, actor: { type: 'system', id: null }, action: 'ticket.auto_closed', target: { type: 'ticket', id: c.id }, scope: { marketId: c.market_id }, data: { reference: c.reference } })
        }
        return closed.map((c) => ({ id: c.id, marketId: c.market_id, reference: c.reference }))
      })
    },

    /** For /metrics: tickets by market and state, and open breaches by market and kind. */
    async stateCounts(now: Date): Promise<{ market: string; state: string; n: number; firstResponseBreached: number; resolutionBreached: number }[]> {
      const at = now.toISOString()
      const found = await rows<{ market: string; state: string; n: number; fr: number; res: number }>(db, sql`
        select m.code as market, t.state, count(*)::int as n,
          count(*) filter (where t.first_responded_at is null and t.first_response_due < ${at}::timestamptz and t.state not in ('solved', 'closed'))::int as fr,
          count(*) filter (where t.solved_at is null and t.resolution_due < ${at}::timestamptz and t.state not in ('solved', 'closed'))::int as res
        from tickets t join markets m on m.id = t.market_id group by m.code, t.state`)
      return found.map((f) => ({ market: f.market, state: f.state, n: f.n, firstResponseBreached: f.fr, resolutionBreached: f.res }))
    },

    /** A ticket's files; without `includeInternal`, none of an internal note (the requester's view). */
    async attachments(ticketId: number, includeInternal: boolean): Promise<AttachmentInfo[]> {
      return db.select({
        id: ticketAttachments.id, ticketId: ticketAttachments.ticketId, messageId: ticketAttachments.messageId, fileName: ticketAttachments.fileName,
        contentType: ticketAttachments.contentType, size: ticketAttachments.size, createdAt: ticketAttachments.createdAt,
      }).from(ticketAttachments).leftJoin(ticketMessages, eq(ticketMessages.id, ticketAttachments.messageId))
        .where(and(eq(ticketAttachments.ticketId, ticketId), includeInternal ? undefined : notInternal())).orderBy(asc(ticketAttachments.id))
    },

    async attachment(ticketId: number, id: number, includeInternal: boolean): Promise<typeof ticketAttachments.$inferSelect | undefined> {
      const [row] = await db.select({ file: ticketAttachments }).from(ticketAttachments).leftJoin(ticketMessages, eq(ticketMessages.id, ticketAttachments.messageId))
        .where(and(eq(ticketAttachments.ticketId, ticketId), eq(ticketAttachments.id, id), includeInternal ? undefined : notInternal()))
      return row?.file
    },

    /** A suggested article opened from the ticket form (the same id twice counts once). */
    async recordDeflection(id: string, locale: string, articleSlug: string, at: Date): Promise<void> {
      await db.insert(supportDeflections).values({ id, locale, articleSlug, createdAt: at }).onConflictDoNothing()
    },

    /** Which articles and branches tickets came from, and articles opened from the form without a ticket after. */
    async report(marketIds: number[] | null, since: Date): Promise<{
      fromArticles: { articleKey: string; branch: string | null; tickets: number }[]
      deflections: { locale: string; articleSlug: string; opened: number; deflected: number }[]
    }> {
      const inMarkets = marketIds ? (marketIds.length > 0 ? inArray(tickets.marketId, marketIds) : sql`false`) : undefined
      const [fromArticles, deflections] = await Promise.all([
        db.select({ articleKey: sql<string>`${tickets.articleKey}`, branch: tickets.branch, tickets: sql<number>`count(*)::int` }).from(tickets)
          .where(and(sql`${tickets.articleKey} is not null`, gte(tickets.createdAt, since), inMarkets))
          .groupBy(tickets.articleKey, tickets.branch).orderBy(desc(sql`count(*)`), asc(tickets.articleKey)).limit(200),
        // Deflections happen before a market is known (guests pick it in the form): counted for everyone.
        db.select({
          locale: supportDeflections.locale, articleSlug: supportDeflections.articleSlug, opened: sql<number>`count(*)::int`,
          deflected: sql<number>`(count(*) filter (where ${supportDeflections.ticketId} is null))::int`,
        }).from(supportDeflections).where(gte(supportDeflections.createdAt, since))
          .groupBy(supportDeflections.locale, supportDeflections.articleSlug).orderBy(desc(sql`count(*)`), asc(supportDeflections.articleSlug)).limit(200),
      ])
      return { fromArticles, deflections }
    },

    /**
     * Requests per day (in `timeZone`) of the last `days` days up to `now`, by how their first answer
     * met the due time set at creation: in time, late (answered late, or still unanswered past it),
     * or still waiting and not yet due. Also per topic.
     */
    async dailyRequests(marketIds: number[] | null, days: number, now: Date, timeZone: string): Promise<{
      perDay: { day: string; in_time: number; late: number; waiting: number }[]
      perTopic: { topic: string; n: number }[]
    }> {
      const at = sql`${now.toISOString()}::timestamptz`
      const since = sql`((date_trunc('day', ${at} at time zone ${timeZone}) - ${String(days - 1)} * interval '1 day') at time zone ${timeZone})`
      const inMarkets = marketIds === null ? sql`` : marketIds.length === 0 ? sql`and false` : sql`and market_id in (${sql.join(marketIds.map((m) => sql`${m}`), sql`, `)})`
      const [perDay, perTopic] = await Promise.all([
        rows<{ day: string; in_time: number; late: number; waiting: number }>(db, sql`
          select to_char((created_at at time zone ${timeZone})::date, 'YYYY-MM-DD') as day,
            (count(*) filter (where first_responded_at is not null and first_responded_at <= first_response_due))::int as in_time,
            (count(*) filter (where (first_responded_at is not null and first_responded_at > first_response_due) or (first_responded_at is null and first_response_due < ${at})))::int as late,
            (count(*) filter (where first_responded_at is null and first_response_due >= ${at}))::int as waiting
          from tickets where created_at >= ${since} and created_at <= ${at} ${inMarkets}
          group by 1 order by 1`),
        rows<{ topic: string; n: number }>(db, sql`
          select topic, count(*)::int as n from tickets where created_at >= ${since} and created_at <= ${at} ${inMarkets}
          group by topic order by n desc, topic limit 50`),
      ])
      return { perDay, perTopic }
    },

    /** The time zone a report's days are counted in: the market's when there is one, else UTC. */
    async reportTimeZone(marketIds: number[] | null): Promise<string> {
      if (marketIds?.length !== 1 || marketIds[0] === undefined) return 'UTC'
      const [row] = await db.select({ timeZone: markets.timeZone }).from(markets).where(eq(markets.id, marketIds[0]))
      return row?.timeZone ?? 'UTC'
    },

    async ticketsFromEmailSince(email: string, since: Date): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(tickets)
        .where(and(sql`lower(${tickets.requesterEmail}) = ${email.toLowerCase()}`, gte(tickets.createdAt, since)))
      return row?.n ?? 0
    },

    async ticketsOf(userId: number): Promise<TicketRow[]> {
      return db.select().from(tickets).where(eq(tickets.requesterUserId, userId)).orderBy(sql`${tickets.createdAt} desc`).limit(50)
    },

    /** The latest answer the team sent on each of these tickets (internal notes are not answers). */
    async lastAnswers(ticketIds: number[]): Promise<{ ticketId: number; body: string; createdAt: Date }[]> {
      if (ticketIds.length === 0) return []
      return db.selectDistinctOn([ticketMessages.ticketId], { ticketId: ticketMessages.ticketId, body: ticketMessages.body, createdAt: ticketMessages.createdAt })
        .from(ticketMessages)
        .where(and(inArray(ticketMessages.ticketId, ticketIds), eq(ticketMessages.authorType, 'agent'), eq(ticketMessages.internal, false)))
        .orderBy(ticketMessages.ticketId, desc(ticketMessages.createdAt), desc(ticketMessages.id))
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
