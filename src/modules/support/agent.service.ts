import { createHash, randomBytes } from 'node:crypto'
import { assertCan, can, canAnywhere, whereCan } from '../../shared/access.js'
import type { Actor } from '../../shared/actor.js'
import type { Executor } from '../../db/client.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import type { TicketIdentity, TicketState, Urgency } from '../../db/schema/index.js'
import type { MarketRow } from '../organizations/index.js'
import { compareIdentity, type IdentityComparison } from '../identity/index.js'
import type { AttachmentInfo, MessageRow, QueueRow, SupportRepo, TicketRow } from './support.repo.js'
import { agentTransitions } from './support.policy.js'
import { IDENTITY_TOPICS } from './support.service.js'
import { checkAttachments, type UploadedFile } from './attachments.js'

/** Solved tickets nobody answers close on their own after this long. */
export const AUTO_CLOSE_DAYS = 7
const PAGE_SIZE = 50

export interface RequestCtx { publicUrl: string; requestId?: string | undefined; ip?: string | undefined }

/** What the identity panel shows before the click: the account's record and how each given field compares (nothing recorded). */
export interface IdentityPreview extends IdentityComparison { record: TicketIdentity }

/** An account as the identity panel beside a sign-in ticket shows it. */
export interface PanelAccount {
  id: number; userId: string; firstName: string; lastName: string; status: string; lockedUntil: Date | null; companyName: string | null
  /** Which one-click actions the account's state allows (and, for the factors, whether it has one). */
  mayRestore: boolean; mayReset: boolean; mayResetFactors: boolean
}

/** The one-click actions beside a sign-in ticket: restore access, email a reset link, remove the second factors (a lost phone). */
export type IdentityAction = 'restore' | 'reset' | 'factors'
const identityOutcome = { restore: 'restored', reset: 'reset', factors: 'factors_reset' } as const
const identityNote = { restore: 'support.system.restored', reset: 'support.system.resetSent', factors: 'support.system.factorsReset' } as const

export interface DeskDeps {
  marketById(id: number): Promise<MarketRow | undefined>
  listMarkets(): Promise<MarketRow[]>
  /** The identity module's administration use cases: they check the actor's scope themselves. */
  identity: {
    /** The partner account with exactly this user ID, if the actor may check its identity. */
    findAccount(actor: Actor, userId: string): Promise<PanelAccount | null>
    /** The account's record as the check compares it (read only, nothing recorded). */
    identityRecord(actor: Actor, userId: number): Promise<TicketIdentity>
    /** The recorded check and, if it passes, restore or reset; `alongside` writes in the same transaction. */
    checkAndAct(actor: Actor, userId: number, claims: TicketIdentity, action: IdentityAction, ctx: RequestCtx,
      alongside: (tx: Executor, comparison: IdentityComparison) => Promise<void>): Promise<IdentityComparison>
  }
}

export interface QueueQuery {
  state?: TicketState | 'active' | undefined
  topic?: string | undefined
  urgency?: Urgency | undefined
  /** Opened at least this many hours ago. */
  ageHours?: number | undefined
  breached?: boolean | undefined
  mine?: boolean | undefined
  page?: number | undefined
}

function hash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

function actorRef(actor: Actor): { type: string; id: number | null } {
  return actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }
}

/** A message the portal writes into a ticket: a text key and its values, translated when shown. */
export function systemBody(key: string, params: Record<string, string | number> = {}): string {
  return JSON.stringify({ key, params })
}

/** A ticket is late when a due time passed unmet (first answer, or resolution) while it is still open. */
export function breaches(ticket: TicketRow, now: Date): { firstResponse: boolean; resolution: boolean } {
  const active = ticket.state !== 'solved' && ticket.state !== 'closed'
  return {
    firstResponse: active && ticket.firstRespondedAt === null && ticket.firstResponseDue < now,
    resolution: active && ticket.solvedAt === null && ticket.resolutionDue < now,
  }
}

function checkText(body: string, max = 10_000): string {
  const text = body.trim()
  if (text.length < 1 || text.length > max) throw new AppError('INVALID_INPUT', { field: 'message', reason: 'length' })
  return text
}

/** The agent console's use cases: every one checks the desk scope first and leaves an audit event. */
export function createDeskService(repo: SupportRepo, deps: DeskDeps) {
  /** The ticket, once the actor is known to work its market's queue; unknown references are 404, others' markets 403. */
  async function ticketFor(actor: Actor, reference: string, action: 'view_tickets' | 'work_tickets' = 'view_tickets'): Promise<{ ticket: TicketRow }> {
    if (!canAnywhere(actor, 'view_tickets')) throw new AppError('FORBIDDEN_SCOPE')
    const ticket = /^SR-\d{4}-\d{6,}$/.test(reference) ? await repo.byReference(reference) : undefined
    if (!ticket) throw new AppError('NOT_FOUND')
    assertCan(actor, action, { companyId: null, marketId: ticket.marketId })
    return { ticket }
  }

  /** Whether the actor may use the identity panel beside a ticket of this market (a market administrator there). */
  const mayActOnIdentity = (actor: Actor, marketId: number) => can(actor, 'check_identity', { companyId: null, marketId })

  function audit(actor: Actor, ticket: TicketRow, action: string, at: Date, ctx: RequestCtx, data: Record<string, unknown> = {}) {
    return {
      at, actor: actorRef(actor), action, target: { type: 'ticket', id: ticket.id }, scope: { marketId: ticket.marketId },
      data: { reference: ticket.reference, ...data }, requestId: ctx.requestId, ip: ctx.ip,
    }
  }

  /** Applies an action to the ticket as the agent saw it; a ticket changed meanwhile answers 409 (reload and retry). */
  async function apply(ticket: TicketRow, action: Parameters<SupportRepo['agentAction']>[1], tx?: Executor): Promise<void> {
    if (!(await repo.agentAction(ticket, action, tx))) throw new AppError('CONFLICT')
  }

  function stateChange(ticket: TicketRow, to: TicketState, at: Date): Partial<Pick<TicketRow, 'state' | 'solvedAt' | 'closedAt'>> {
    if (to === ticket.state) return {}
    if (!agentTransitions[ticket.state].includes(to)) throw new AppError('RULE_BROKEN')
    return { state: to, ...(to === 'solved' ? { solvedAt: at } : to === 'closed' ? { closedAt: at } : { solvedAt: null }) }
  }

  return {
    /** Whether the actor has an agent console at all (for navigation). */
    async isAgent(actor: Actor): Promise<boolean> {
      return canAnywhere(actor, 'view_tickets')
    },

    async queue(actor: Actor, query: QueueQuery): Promise<{ rows: QueueRow[]; total: number; page: number; pageSize: number; markets: MarketRow[] }> {
      if (!canAnywhere(actor, 'view_tickets')) throw new AppError('FORBIDDEN_SCOPE')
      const now = clock.now()
      const page = Math.max(1, Math.min(query.page ?? 1, 10_000))
      const marketIds = whereCan(actor, 'view_tickets')?.marketIds ?? null
      const [result, allMarkets] = await Promise.all([
        repo.queue({
          marketIds, state: query.state, topic: query.topic, urgency: query.urgency, breached: query.breached,
          olderThan: query.ageHours ? new Date(now.getTime() - query.ageHours * 3_600_000) : undefined,
          assigneeId: query.mine && actor.kind === 'user' ? actor.userId : undefined, now, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE,
        }),
        deps.listMarkets(),
      ])
      return { ...result, page, pageSize: PAGE_SIZE, markets: allMarkets.filter((m) => marketIds === null || marketIds.includes(m.id)) }
    },

    /** A ticket as its agents see it: every message and note, attachments, and the identity panel when the agent may use it. */
    async ticket(actor: Actor, reference: string): Promise<{
      ticket: TicketRow; messages: MessageRow[]; attachments: AttachmentInfo[]; market: MarketRow | undefined
      identityPanel: { claims: TicketIdentity; account: PanelAccount | null; preview: IdentityPreview | null } | null; allowedStates: readonly TicketState[]; assigneeName: string | null
      /** The requester's company has not approved their account yet: the request is not the company's word. */
      requesterAwaitingApproval: boolean
    }> {
      const { ticket } = await ticketFor(actor, reference)
      const panelAllowed = IDENTITY_TOPICS.has(ticket.topic) && ticket.identity !== null && mayActOnIdentity(actor, ticket.marketId)
      const [messages, attachments, market, assigneeName, account, requesterAwaitingApproval] = await Promise.all([
        repo.messages(ticket.id, true), repo.attachments(ticket.id, true), deps.marketById(ticket.marketId),
        ticket.assigneeId === null ? Promise.resolve(null) : repo.userName(ticket.assigneeId),
        panelAllowed && ticket.identity ? deps.identity.findAccount(actor, ticket.identity.userId) : Promise.resolve(null),
        ticket.requesterUserId === null ? Promise.resolve(false) : repo.requesterAwaitingApproval(ticket.id),
      ])
      // The same comparison the recorded check makes, shown before the click; only the click is audited.
      const record = account && ticket.identity ? await deps.identity.identityRecord(actor, account.id) : null
      const preview = record && ticket.identity ? { record, ...compareIdentity(ticket.identity, record) } : null
      return {
        ticket, messages, attachments, market, assigneeName, requesterAwaitingApproval, allowedStates: agentTransitions[ticket.state],
        identityPanel: panelAllowed && ticket.identity ? { claims: ticket.identity, account, preview } : null,
      }
    },

    async assignToSelf(actor: Actor, reference: string, ctx: RequestCtx): Promise<void> {
      const { ticket } = await ticketFor(actor, reference, 'work_tickets')
      if (actor.kind !== 'user') throw new AppError('RULE_BROKEN')
      if (ticket.state === 'closed') throw new AppError('TICKET_CLOSED')
      const at = clock.now()
      await apply(ticket, {
        at, set: { assigneeId: actor.userId, ...(ticket.state === 'new' ? { state: 'open' as const } : {}) },
        audit: audit(actor, ticket, 'ticket.assigned', at, ctx, { before: { assigneeId: ticket.assigneeId }, after: { assigneeId: actor.userId } }),
      })
    },

    /**
     * A reply to the requester: shown on the ticket page and emailed with a new private link (the
     * only way a guest can come back), in the ticket's language. The first one meets the first-response due time.
     */
    async reply(actor: Actor, reference: string, input: { body: string; state: TicketState }, ctx: RequestCtx, files: UploadedFile[] = []): Promise<void> {
      const { ticket } = await ticketFor(actor, reference, 'work_tickets')
      const body = checkText(input.body)
      if (ticket.state === 'closed') throw new AppError('TICKET_CLOSED')
      const attachments = await checkAttachments(files)
      const at = clock.now()
      const secret = randomBytes(24).toString('base64url')
      const accessHash = hash(secret)
      await apply(ticket, {
        at,
        set: {
          ...stateChange(ticket, input.state, at), ...(ticket.firstRespondedAt ? {} : { firstRespondedAt: at }),
          ...(ticket.assigneeId === null && actor.kind === 'user' ? { assigneeId: actor.userId } : {}),
        },
        message: { authorType: 'agent', authorUserId: actor.kind === 'user' ? actor.userId : null, body, internal: false },
        files: attachments,
        accessHash,
        mail: {
          key: `ticket-reply:${ticket.reference}:${accessHash.slice(0, 16)}`, to: ticket.requesterEmail, locale: ticket.locale, template: 'ticket-reply',
          data: { name: ticket.requesterName, reference: ticket.reference, subject: ticket.subject, message: body, url: `${ctx.publicUrl}/${ticket.locale}/support/tickets/${ticket.reference}/access/${secret}` },
        },
        audit: audit(actor, ticket, 'ticket.replied', at, ctx, { state: { before: ticket.state, after: input.state }, attachments: attachments.length }),
      })
    },

    /** A note for the team only: never on the requester's page, never in an email; its files neither. */
    async note(actor: Actor, reference: string, body: string, ctx: RequestCtx, files: UploadedFile[] = []): Promise<void> {
      const { ticket } = await ticketFor(actor, reference, 'work_tickets')
      const text = checkText(body)
      const attachments = await checkAttachments(files)
      const at = clock.now()
      await apply(ticket, {
        at, message: { authorType: 'agent', authorUserId: actor.kind === 'user' ? actor.userId : null, body: text, internal: true }, files: attachments,
        audit: audit(actor, ticket, 'ticket.noted', at, ctx, { attachments: attachments.length }),
      })
    },

    async setState(actor: Actor, reference: string, state: TicketState, ctx: RequestCtx): Promise<void> {
      const { ticket } = await ticketFor(actor, reference, 'work_tickets')
      if (ticket.state === 'closed') throw new AppError('TICKET_CLOSED')
      const at = clock.now()
      const set = stateChange(ticket, state, at)
      if (!set.state) return
      await apply(ticket, { at, set, audit: audit(actor, ticket, 'ticket.state_changed', at, ctx, { before: { state: ticket.state }, after: { state } }) })
    },

    /**
     * One click beside a sign-in ticket: the identity check with what the requester gave, then
     * access restored, a reset link sent or the second factors removed (each its own action in the
     * access table) if it passed. The identity module checks the scope and
     * audits both steps; the result is written into the ticket (for the requester when it worked,
     * as a note with the mismatched fields when it did not).
     */
    async identityAction(actor: Actor, reference: string, action: IdentityAction, ctx: RequestCtx): Promise<{ outcome: (typeof identityOutcome)[IdentityAction] | 'check_failed' | 'no_account' }> {
      const { ticket } = await ticketFor(actor, reference, 'work_tickets')
      if (!IDENTITY_TOPICS.has(ticket.topic) || !ticket.identity) throw new AppError('RULE_BROKEN')
      if (!mayActOnIdentity(actor, ticket.marketId)) throw new AppError('FORBIDDEN_SCOPE')
      if (ticket.state === 'closed') throw new AppError('TICKET_CLOSED')
      const claims = ticket.identity
      const account = await deps.identity.findAccount(actor, claims.userId)
      const note = (tx: Executor | undefined, key: string, params: Record<string, string | number>, internal: boolean, outcome: string) => {
        const now = clock.now()
        return apply(ticket, {
          at: now, message: { authorType: 'system', authorUserId: actor.kind === 'user' ? actor.userId : null, body: systemBody(key, params), internal },
          audit: audit(actor, ticket, 'ticket.identity_action', now, ctx, { action, outcome, ...(account ? { userId: account.id } : {}) }),
        }, tx)
      }
      if (!account) {
        await note(undefined, 'support.system.noAccount', { userId: claims.userId }, true, 'no_account')
        return { outcome: 'no_account' }
      }
      // The check, the restore or reset link, and the ticket's note commit together or not at all.
      const check = await deps.identity.checkAndAct(actor, account.id, claims, action, ctx, async (tx, comparison) => {
        if (comparison.passed) {
          await note(tx, identityNote[action], {}, false, identityOutcome[action])
        } else {
          const mismatched = Object.entries(comparison.fields).filter(([, ok]) => !ok).map(([f]) => f).join(', ')
          await note(tx, 'support.system.checkFailed', { fields: mismatched }, true, 'check_failed')
        }
      })
      if (!check.passed) return { outcome: 'check_failed' }
      return { outcome: identityOutcome[action] }
    },

    /** An attachment for the ticket's agents. */
    async attachment(actor: Actor, reference: string, id: number) {
      const { ticket } = await ticketFor(actor, reference)
      const file = await repo.attachment(ticket.id, id, true)
      if (!file) throw new AppError('NOT_FOUND')
      return file
    },

    /** Which articles and branches lead to tickets in the actor's markets, and deflections, over `days`. */
    async report(actor: Actor, options: { days?: number | undefined } = {}) {
      const marketIds = whereCan(actor, 'view_ticket_report')?.marketIds ?? null
      if (marketIds !== null && marketIds.length === 0) throw new AppError('FORBIDDEN_SCOPE')
      const days = Math.max(1, Math.min(options.days ?? 30, 3650))
      const since = new Date(clock.now().getTime() - days * 86_400_000)
      return { days, ...(await repo.report(marketIds, since)) }
    },

    /**
     * The charts' figures for the actor's markets (or one of them) over the last `days` days, days
     * counted in the market's time zone (UTC over several markets): requests per day against their due time, per topic, and the articles
     * that spared a request.
     */
    async chartData(actor: Actor, options: { days: number; marketId?: number | undefined }) {
      const allowed = whereCan(actor, 'view_ticket_report')?.marketIds ?? null
      if (allowed !== null && allowed.length === 0) throw new AppError('FORBIDDEN_SCOPE')
      if (options.marketId !== undefined && allowed !== null && !allowed.includes(options.marketId)) throw new AppError('FORBIDDEN_SCOPE')
      const marketIds = options.marketId !== undefined ? [options.marketId] : allowed
      const days = Math.max(1, Math.min(options.days, 366))
      const now = clock.now()
      const timeZone = await repo.reportTimeZone(marketIds)
      const [requests, report] = await Promise.all([
        repo.dailyRequests(marketIds, days, now, timeZone),
        repo.report(marketIds, new Date(now.getTime() - days * 86_400_000)),
      ])
      return { days, now, timeZone, ...requests, deflections: report.deflections }
    },

    /** Closes solved tickets without an answer for 7 days (the server's schedule and the CLI). */
    async closeSolved(actor: Actor, options: { now?: Date | undefined } = {}): Promise<{ closed: number; at: Date }> {
      assertCan(actor, 'run_schedules')
      const now = options.now ?? clock.now()
      const before = new Date(now.getTime() - AUTO_CLOSE_DAYS * 86_400_000)
      let closed = 0
      for (;;) {
        const batch = await repo.closeSolved(before, now, 500)
        closed += batch.length
        if (batch.length < 500) break
      }
      return { closed, at: now }
    },

    /** Tickets by market and state, and unmet due times, for /metrics. */
    async counts() {
      return repo.stateCounts(clock.now())
    },
  }
}

export type DeskService = ReturnType<typeof createDeskService>
