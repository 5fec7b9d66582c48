import Type from 'typebox'
import Value from 'typebox/value'
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import type { MarketRow, PartnerListing } from '../organizations/index.js'
import type { TicketIdentity } from '../../db/schema/index.js'
import type { AttachmentInfo, MessageRow, SupportRepo, TicketRow } from './support.repo.js'
import { checkAttachments, type UploadedFile } from './attachments.js'
import { estimateWait, WINDOW_DAYS, type WaitEstimate } from './wait-estimate.js'
import { addWorkingHours } from './working-hours.js'

/** Topics about getting in: a market administrator must be able to check who is asking. */
export const IDENTITY_TOPICS = new Set(['sign-in', 'password', 'account-status', 'registration'])
/** More tickets than this from one address in an hour are refused (a loop or a flood, not a person). */
const MAX_TICKETS_PER_EMAIL_HOUR = 5

const Text = (min: number, max: number) => Type.String({ minLength: min, maxLength: max })
export const TicketInput = Type.Object({
  topic: Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 80 }),
  subject: Text(3, 200),
  description: Text(10, 10_000),
  urgency: Type.Union([Type.Literal('normal'), Type.Literal('urgent')]),
  locale: Text(2, 20),
  /** Guests only: signed-in users' come from their account. */
  name: Type.Optional(Text(0, 200)),
  email: Type.Optional(Type.Union([Type.Literal(''), Type.String({ format: 'email', maxLength: 256 })])),
  companyName: Type.Optional(Text(0, 200)),
  companyAddress: Type.Optional(Text(0, 400)),
  marketCode: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })),
  /** For sign-in and account topics. */
  identity: Type.Optional(Type.Object({
    userId: Text(0, 256), firstName: Text(0, 100), lastName: Text(0, 100), email: Text(0, 256), companyName: Text(0, 200), companyAddress: Text(0, 400),
  })),
  article: Type.Optional(Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 80 })),
  branch: Type.Optional(Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 80 })),
  /** The id the deflection script gave a suggested article the person opened before sending anyway. */
  deflection: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{16,40}$' })),
})
/** How long a market's waiting-time estimate is reused: live data, without two queries on every ticket of a rush. */
const ESTIMATE_TTL_MS = 5_000
/**
 * Markets (service levels, hours, contacts) and help topics are kept until the database notifies a
 * change (LISTEN/NOTIFY: `forgetMarket`, `forgetTopics`), from this process or any other. Read
 * again after this long anyway, only as a safety net for a notification lost while reconnecting.
 */
const SETTINGS_SAFETY_TTL_MS = 5 * 60_000
export type TicketInput = Type.Static<typeof TicketInput>

export interface SupportDeps {
  topics(locale: string): Promise<string[]>
  market(code: string): Promise<MarketRow | undefined>
  marketById(id: number): Promise<MarketRow | undefined>
  /** The signed-in requester's own record, to fill the ticket from. */
  requester(actor: Actor): Promise<{ userId: string; firstName: string; lastName: string; email: string | null; companyName: string; companyAddress: string; marketId: number | null } | null>
  myPartner(actor: Actor): Promise<PartnerListing | null>
}

function hash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

function required(field: string, value: string | undefined): string {
  const trimmed = value?.trim() ?? ''
  if (!trimmed) throw new AppError('INVALID_INPUT', { field, reason: 'required' })
  return trimmed
}

export interface CreatedTicket {
  ticket: TicketRow
  /** The private link's secret; only its hash is stored. */
  accessSecret: string
  estimate: WaitEstimate
  /** For urgent tickets: the signed-in requester's own partner, who is faster for urgent problems. */
  partner: PartnerListing | null
  market: MarketRow
}

/** "Ask for help": tickets routed to their market's queue, with an honest expected wait. */
export function createSupportService(repo: SupportRepo, deps: SupportDeps) {
  const estimates = new Map<number, { at: number; value: Promise<WaitEstimate> }>()
  const topicCache = new Map<string, { at: number; value: Promise<string[]> }>()

  async function computeEstimate(market: MarketRow, now: Date): Promise<WaitEstimate> {
    const [ahead, recent] = await Promise.all([
      repo.queueAhead(market.id, now),
      repo.recentFirstResponses(market.id, new Date(now.getTime() - WINDOW_DAYS * 86_400_000)),
    ])
    return estimateWait({ hours: market.businessHours, timeZone: market.timeZone, now, ahead, recent })
  }

  /** The estimate for a market now, computed at most every few seconds (the clock may be moved by tests: then always fresh). */
  function estimateFor(market: MarketRow, now: Date): Promise<WaitEstimate> {
    const cached = estimates.get(market.id)
    const wall = Date.now()
    if (cached && wall - cached.at < ESTIMATE_TTL_MS && Math.abs(now.getTime() - wall) < 1000) return cached.value
    const value = computeEstimate(market, now)
    estimates.set(market.id, { at: wall, value })
    value.catch(() => { estimates.delete(market.id) })
    return value
  }

  /** Markets change rarely (a platform administrator's edit, notified to every process). */
  const marketCache = new Map<string, { at: number; value: Promise<MarketRow | undefined> }>()
  function cachedMarket(key: string, load: () => Promise<MarketRow | undefined>): Promise<MarketRow | undefined> {
    const cached = marketCache.get(key)
    if (cached && Date.now() - cached.at < SETTINGS_SAFETY_TTL_MS) return cached.value
    const value = load()
    marketCache.set(key, { at: Date.now(), value })
    value.catch(() => { marketCache.delete(key) })
    return value
  }

  function topics(locale: string): Promise<string[]> {
    const cached = topicCache.get(locale)
    if (cached && Date.now() - cached.at < SETTINGS_SAFETY_TTL_MS) return cached.value
    const value = deps.topics(locale)
    topicCache.set(locale, { at: Date.now(), value })
    value.catch(() => { topicCache.delete(locale) })
    return value
  }

  /** By the signed-in requester, or with a private link's secret (the first one, or one from an agent's reply). */
  async function requesterTicket(actor: Actor, reference: string, secret: string | undefined): Promise<TicketRow> {
    const ticket = /^SR-\d{4}-\d{6,}$/.test(reference) ? await repo.byReference(reference) : undefined
    if (!ticket) throw new AppError('NOT_FOUND')
    if (actor.kind === 'user' && ticket.requesterUserId === actor.userId) return ticket
    if (secret === undefined || secret.length > 100) throw new AppError('NOT_FOUND')
    const given = hash(secret)
    if (timingSafeEqual(Buffer.from(given), Buffer.from(ticket.accessHash))) return ticket
    if ((await repo.ticketIdOfAccessKey(given)) === ticket.id) return ticket
    throw new AppError('NOT_FOUND')
  }

  return {
    estimateFor,

    /** A platform administrator changed a market (in any process): new tickets and estimates use its new figures at once. */
    forgetMarket(marketId: number): void {
      marketCache.clear()
      estimates.delete(marketId)
    },

    /** Help content changed (an import in any process): the topics a ticket may name are read again. */
    forgetTopics(): void {
      topicCache.clear()
    },

    async createTicket(actor: Actor, input: TicketInput, ctx: { publicUrl: string; requestId?: string | undefined; ip?: string | undefined }, files: UploadedFile[] = []): Promise<CreatedTicket> {
      if (!Value.Check(TicketInput, input)) {
        const [first] = Value.Errors(TicketInput, input)
        // The broken rule by its keyword (minLength, format…): the form says it in the user's language.
        throw new AppError('INVALID_INPUT', { field: first?.instancePath.slice(1).replace('/', '.') || 'ticket', reason: first?.keyword ?? 'invalid' })
      }
      // Urgent requests jump the queue: not for an account nobody in its company has approved yet.
      if (input.urgency === 'urgent' && actor.kind === 'user' && actor.awaitingApproval) throw new AppError('URGENT_AFTER_APPROVAL')
      const attachments = await checkAttachments(files)
      if (!(await topics(input.locale)).includes(input.topic)) throw new AppError('INVALID_INPUT', { field: 'topic', reason: input.topic })
      const me = await deps.requester(actor)
      const requester = me
        ? { name: `${me.firstName} ${me.lastName}`.trim(), email: me.email ?? '', companyName: me.companyName, companyAddress: me.companyAddress }
        : { name: required('name', input.name), email: required('email', input.email), companyName: required('companyName', input.companyName), companyAddress: required('companyAddress', input.companyAddress) }
      if (!requester.email) throw new AppError('INVALID_INPUT', { field: 'email', reason: 'required' })
      const marketId = me?.marketId
      const code = marketId ? '' : required('marketCode', input.marketCode)
      const market = marketId ? await cachedMarket(`id:${String(marketId)}`, () => deps.marketById(marketId)) : await cachedMarket(`code:${code}`, () => deps.market(code))
      if (!market) throw new AppError('INVALID_INPUT', { field: 'marketCode', reason: input.marketCode ?? '' })
      let identity: TicketIdentity | null = null
      if (IDENTITY_TOPICS.has(input.topic)) {
        const given = input.identity
        identity = {
          userId: required('identity.userId', given?.userId || me?.userId), firstName: required('identity.firstName', given?.firstName || me?.firstName),
          lastName: required('identity.lastName', given?.lastName || me?.lastName), email: required('identity.email', given?.email || me?.email || undefined),
          companyName: required('identity.companyName', given?.companyName || me?.companyName), companyAddress: required('identity.companyAddress', given?.companyAddress || me?.companyAddress),
        }
      }
      const now = clock.now()
      if ((await repo.ticketsFromEmailSince(requester.email, new Date(now.getTime() - 3_600_000))) >= MAX_TICKETS_PER_EMAIL_HOUR) throw new AppError('RATE_LIMITED', { retryAfter: 3600 })
      const sla = market.sla[input.urgency]
      const accessSecret = randomBytes(24).toString('base64url')
      const [estimate, partner] = await Promise.all([estimateFor(market, now), input.urgency === 'urgent' ? deps.myPartner(actor) : Promise.resolve(null)])
      const ticket = await repo.createTicket({
        marketId: market.id, topic: input.topic, subject: input.subject.trim(), urgency: input.urgency, state: 'new', locale: input.locale,
        requesterUserId: actor.kind === 'user' ? actor.userId : null, requesterName: requester.name, requesterEmail: requester.email,
        companyName: requester.companyName, companyAddress: requester.companyAddress, identity, accessHash: hash(accessSecret),
        articleKey: input.article ?? null, branch: input.article ? input.branch ?? null : null,
        firstResponseDue: addWorkingHours(market.businessHours, market.timeZone, now, sla.firstResponse),
        resolutionDue: addWorkingHours(market.businessHours, market.timeZone, now, sla.resolution), createdAt: now, updatedAt: now,
      }, input.description.trim(), (reference) => ({
        key: `ticket-received:${reference}`, to: requester.email, locale: input.locale, template: 'ticket-received',
        data: {
          name: requester.name, reference, subject: input.subject.trim(),
          wait: estimate.kind === 'range' ? `${String(estimate.low)}–${String(estimate.high)}` : '',
          url: `${ctx.publicUrl}/${input.locale}/support/tickets/${reference}/access/${accessSecret}`,
        },
      }), (id, reference) => ({
        at: now, actor: actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: 'guest', id: null }, action: 'ticket.created',
        target: { type: 'ticket', id }, scope: { marketId: market.id }, data: { reference, topic: input.topic, urgency: input.urgency, attachments: attachments.length }, requestId: ctx.requestId, ip: ctx.ip,
      }), { attachments, deflectionId: input.deflection })
      return { ticket, accessSecret, estimate, partner, market }
    },

    /**
     * A ticket as its requester sees it (no internal notes): by the signed-in requester, or with
     * the private link's secret. Anyone else learns nothing, not even that the reference exists.
     */
    async ticketForRequester(actor: Actor, reference: string, secret: string | undefined): Promise<{ ticket: TicketRow; messages: MessageRow[]; attachments: AttachmentInfo[]; market: MarketRow | undefined }> {
      const ticket = await requesterTicket(actor, reference, secret)
      const [messages, attachments, market] = await Promise.all([repo.messages(ticket.id, false), repo.attachments(ticket.id, false), deps.marketById(ticket.marketId)])
      return { ticket, messages, attachments, market }
    },

    /** An attachment for the ticket's requester (agents have their own door). */
    async attachmentForRequester(actor: Actor, reference: string, secret: string | undefined, id: number) {
      const ticket = await requesterTicket(actor, reference, secret)
      const file = await repo.attachment(ticket.id, id, false)
      if (!file) throw new AppError('NOT_FOUND')
      return file
    },

    /** The requester answers on the ticket page; a waiting or solved ticket opens again, a closed one takes no more answers. */
    async reply(actor: Actor, reference: string, secret: string | undefined, body: string, ctx: { requestId?: string | undefined; ip?: string | undefined } = {}, files: UploadedFile[] = []): Promise<void> {
      const ticket = await requesterTicket(actor, reference, secret)
      const text = body.trim()
      if (text.length < 1 || text.length > 10_000) throw new AppError('INVALID_INPUT', { field: 'message', reason: 'length' })
      if (ticket.state === 'closed') throw new AppError('TICKET_CLOSED')
      const attachments = await checkAttachments(files)
      const at = clock.now()
      const added = await repo.addRequesterMessage(ticket, text, at, {
        at, actor: actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: 'guest', id: null }, action: 'ticket.requester_replied',
        target: { type: 'ticket', id: ticket.id }, scope: { marketId: ticket.marketId }, data: { reference: ticket.reference, before: { state: ticket.state }, attachments: attachments.length }, requestId: ctx.requestId, ip: ctx.ip,
      }, attachments)
      if (!added) throw new AppError('TICKET_CLOSED')
    },

    /** A suggested article opened from the form (the deflection script reports it). */
    async recordDeflection(_actor: Actor, input: { id: string; locale: string; article: string }): Promise<void> {
      if (!/^[A-Za-z0-9_-]{16,40}$/.test(input.id) || !/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(input.article) || input.article.length > 120) {
        throw new AppError('INVALID_INPUT', { field: 'deflection', reason: '' })
      }
      await repo.recordDeflection(input.id, input.locale, input.article, clock.now())
    },

    /** "My requests": the signed-in requester's own tickets, newest first, each with the team's latest answer. */
    async myTickets(actor: Actor): Promise<(TicketRow & { lastAnswer: { body: string; at: Date } | null })[]> {
      if (actor.kind !== 'user') throw new AppError('NOT_SIGNED_IN')
      const mine = await repo.ticketsOf(actor.userId)
      const answers = new Map((await repo.lastAnswers(mine.map((t) => t.id))).map((a) => [a.ticketId, { body: a.body, at: a.createdAt }]))
      return mine.map((t) => ({ ...t, lastAnswer: answers.get(t.id) ?? null }))
    },
  }
}

export type SupportService = ReturnType<typeof createSupportService>
