import type { Actor } from '../../shared/actor.js'
import { randomUUID } from 'node:crypto'
import type { BusinessHours, MarketSla } from '../../db/schema/index.js'
import Type from 'typebox'
import Value from 'typebox/value'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { assertCan, can, isAdministrator, scopeOf, whereCan, type Action } from '../../shared/access.js'
import type { Executor } from '../../db/client.js'
import type { CompanyInput, CompanyRow, MarketInput, MarketRow, OrganizationsRepo } from './organizations.repo.js'

export interface PartnerListing {
  id: number
  name: string
  city: string
  street: string
  postalCode: string
  marketCode: string
  /** Present only for signed-in users whose account is approved: the contacts are for the network, not for anyone who registers. */
  contact: { phone: string | null; email: string | null; openingHours: BusinessHours | null } | null
}

function listing(actor: Actor, p: CompanyRow & { marketCode: string }): PartnerListing {
  const member = actor.kind === 'user' && !actor.awaitingApproval
  return {
    id: p.id, name: p.name, city: p.city, street: p.street, postalCode: p.postalCode, marketCode: p.marketCode,
    contact: member ? { phone: p.contactPhone, email: p.contactEmail, openingHours: p.openingHours } : null,
  }
}

export const CompanyDetails = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  street: Type.String({ maxLength: 200 }),
  postalCode: Type.String({ maxLength: 20 }),
  city: Type.String({ minLength: 1, maxLength: 100 }),
  contactPhone: Type.String({ maxLength: 40 }),
  contactEmail: Type.Union([Type.Literal(''), Type.String({ format: 'email', maxLength: 256 })]),
})
export type CompanyDetails = Type.Static<typeof CompanyDetails>

/** Service levels are whole working hours: at least one, at most this many (about half a year of working days). */
export const MAX_SERVICE_HOURS = 1000
const Hours = Type.Integer({ minimum: 1, maximum: MAX_SERVICE_HOURS })
const Time = Type.String({ pattern: '^(?:[01][0-9]|2[0-3]):[0-5][0-9]$' })
export const ServiceLevelsInput = Type.Object({
  sla: Type.Object({
    normal: Type.Object({ firstResponse: Hours, resolution: Hours }),
    urgent: Type.Object({ firstResponse: Hours, resolution: Hours }),
  }),
  /** Per ISO weekday (1 = Monday): opening and closing time, or absent when closed. */
  businessHours: Type.Record(Type.String({ pattern: '^[1-7]$' }), Type.Tuple([Time, Time])),
  timeZone: Type.String({ minLength: 1, maxLength: 64 }),
})
export interface ServiceLevelsInput { sla: MarketSla; businessHours: BusinessHours; timeZone: string }

/** An IANA zone name Intl knows (Europe/Rome, UTC); raw offsets like +01:00 are refused: they ignore daylight saving time. */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/.test(name) || /^[+-]/.test(name)) return false
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name })
    return true
  } catch {
    // RangeError: Intl does not know the zone, which is the answer.
    return false
  }
}

/** The rules a market's service levels follow; the first one broken is the answer. */
function checkServiceLevels(input: ServiceLevelsInput): void {
  const hours = [input.sla.normal.firstResponse, input.sla.normal.resolution, input.sla.urgent.firstResponse, input.sla.urgent.resolution]
  if (hours.some((h) => !Number.isInteger(h) || h < 1 || h > MAX_SERVICE_HOURS)) throw new AppError('SLA_HOURS_RANGE', { max: MAX_SERVICE_HOURS })
  if (!Value.Check(ServiceLevelsInput, input)) {
    const [first] = Value.Errors(ServiceLevelsInput, input)
    throw new AppError('INVALID_INPUT', { field: first?.instancePath.slice(1) || 'sla', reason: first?.message ?? '' })
  }
  const { normal, urgent } = input.sla
  if (normal.resolution <= normal.firstResponse || urgent.resolution <= urgent.firstResponse) throw new AppError('SLA_RESOLUTION_BEFORE_RESPONSE')
  if (urgent.firstResponse > normal.firstResponse || urgent.resolution > normal.resolution) throw new AppError('SLA_URGENT_SLOWER')
  const days = Object.values(input.businessHours)
  if (days.length === 0) throw new AppError('BUSINESS_HOURS_NONE')
  if (days.some(([open, close]) => close <= open)) throw new AppError('BUSINESS_HOURS_ORDER')
  if (!isTimeZone(input.timeZone)) throw new AppError('TIME_ZONE_UNKNOWN', { timeZone: input.timeZone.slice(0, 64) })
}

function actorRef(actor: Actor): { type: string; id: number | null } {
  return actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }
}

export function createOrganizationsService(repo: OrganizationsRepo) {
  /** Told after a platform administrator changed a market (caches of markets drop it). */
  const marketListeners: ((marketId: number) => void)[] = []
  const marketChanged = (marketId: number) => { for (const listener of marketListeners) listener(marketId) }
  /** The company, once the actor may take `action` on it; 403 before anything else is revealed. */
  async function companyFor(actor: Actor, action: Action, companyId: number) {
    if (!isAdministrator(actor)) throw new AppError('FORBIDDEN_SCOPE')
    const company = await repo.company(companyId)
    if (!company) throw new AppError('NOT_FOUND')
    assertCan(actor, action, { companyId: company.id, marketId: company.marketId })
    return company
  }

  return {
    /** A company as its administrators see it, with its chosen aftersales partner. */
    async companyForAdmin(actor: Actor, companyId: number) {
      const company = await companyFor(actor, 'view', companyId)
      const partner = company.aftersalesPartnerId ? await repo.company(company.aftersalesPartnerId) : undefined
      return { company, partner: partner ?? null, mayEdit: can(actor, 'edit_company', { companyId: company.id, marketId: company.marketId }) }
    },

    async updateCompanyDetails(actor: Actor, companyId: number, input: CompanyDetails, ctx: { requestId?: string | undefined; ip?: string | undefined }): Promise<void> {
      const company = await companyFor(actor, 'edit_company', companyId)
      if (!Value.Check(CompanyDetails, input)) {
        const [first] = Value.Errors(CompanyDetails, input)
        throw new AppError('INVALID_INPUT', { field: first?.instancePath.slice(1) || 'company', reason: first?.message ?? '' })
      }
      const fields = { name: input.name.trim(), street: input.street.trim(), postalCode: input.postalCode.trim(), city: input.city.trim(), contactPhone: input.contactPhone.trim() || null, contactEmail: input.contactEmail.trim() || null }
      const changed = (Object.keys(fields) as (keyof typeof fields)[]).filter((k) => company[k] !== fields[k])
      if (changed.length === 0) return
      await repo.updateCompany(company.id, fields, {
        at: clock.now(), actor: actorRef(actor), action: 'company.updated', target: { type: 'company', id: company.id },
        scope: { companyId: company.id, marketId: company.marketId }, data: { changed }, requestId: ctx.requestId, ip: ctx.ip,
      })
    },

    /** Partner companies of the company's own market that it may choose, found by name or city. */
    async partnerChoices(actor: Actor, companyId: number, q: string | undefined) {
      const company = await companyFor(actor, 'edit_company', companyId)
      return repo.searchCompanies({ marketIds: [company.marketId], q, partnersOnly: true, status: 'active', limit: 20 })
    },

    /** The company's aftersales business partner: a partner company of the same market. */
    async chooseAftersalesPartnerFor(actor: Actor, companyId: number, partnerId: number, ctx: { requestId?: string | undefined; ip?: string | undefined }): Promise<void> {
      const company = await companyFor(actor, 'edit_company', companyId)
      const partner = await repo.company(partnerId)
      if (!partner?.isPartner || partner.marketId !== company.marketId || partner.id === company.id) throw new AppError('RULE_BROKEN')
      // Saving the partner already chosen confirms it: the reminder after a reinstatement ends too.
      if (company.aftersalesPartnerId === partner.id && company.partnerReviewRequestedAt === null) return
      await repo.updateCompany(company.id, { aftersalesPartnerId: partner.id, partnerReviewRequestedAt: null }, {
        at: clock.now(), actor: actorRef(actor), action: 'company.partner_chosen', target: { type: 'company', id: company.id },
        scope: { companyId: company.id, marketId: company.marketId }, data: { before: company.aftersalesPartnerId, after: partner.id }, requestId: ctx.requestId, ip: ctx.ip,
      })
    },

    /** A market administrator adds a company of the market (a dealer, a workshop, a new partner). */
    async createCompany(actor: Actor, input: CompanyDetails & { companyNumber: string; marketCode: string; isPartner: boolean }, ctx: { requestId?: string | undefined; ip?: string | undefined }) {
      const market = await repo.marketByCode(input.marketCode)
      if (!market) throw new AppError('NOT_FOUND')
      assertCan(actor, 'manage_companies', { companyId: null, marketId: market.id })
      const { companyNumber, isPartner } = input
      const details = { name: input.name, street: input.street, postalCode: input.postalCode, city: input.city, contactPhone: input.contactPhone, contactEmail: input.contactEmail }
      if (!Value.Check(CompanyDetails, details) || !/^[A-Z0-9][A-Z0-9-]{1,39}$/.test(companyNumber.trim().toUpperCase())) {
        const [first] = Value.Errors(CompanyDetails, details)
        throw new AppError('INVALID_INPUT', { field: first?.instancePath.slice(1) || 'companyNumber', reason: first?.message ?? '' })
      }
      const created = await repo.insertCompany({
        companyNumber: companyNumber.trim().toUpperCase(), marketId: market.id, name: details.name.trim(), street: details.street.trim(), postalCode: details.postalCode.trim(),
        city: details.city.trim(), isPartner, contactPhone: details.contactPhone.trim() || null, contactEmail: details.contactEmail.trim() || null, status: 'active',
      }, (id) => ({
        at: clock.now(), actor: actorRef(actor), action: 'company.created', target: { type: 'company', id },
        scope: { companyId: id, marketId: market.id }, data: { isPartner }, requestId: ctx.requestId, ip: ctx.ip,
      }))
      if (!created) throw new AppError('COMPANY_NUMBER_TAKEN')
      return created
    },

    /** Platform administrators keep each market's support channels current (shown on "Ask for help"). */
    async updateMarketContacts(actor: Actor, code: string, input: { supportEmail: string; supportPhone: string }, ctx: { requestId?: string | undefined; ip?: string | undefined }): Promise<void> {
      const market = await repo.marketByCode(code)
      if (!market) throw new AppError('NOT_FOUND')
      assertCan(actor, 'manage_platform', { companyId: null, marketId: market.id })
      const contacts = Type.Object({ supportEmail: Type.String({ format: 'email', maxLength: 256 }), supportPhone: Type.String({ minLength: 3, maxLength: 40 }) })
      if (!Value.Check(contacts, input)) throw new AppError('INVALID_INPUT', { field: 'support', reason: '' })
      await repo.updateMarket(code, input, {
        at: clock.now(), actor: actorRef(actor), action: 'market.updated', scope: { marketId: market.id },
        data: { before: { supportEmail: market.supportEmail, supportPhone: market.supportPhone }, after: input }, requestId: ctx.requestId, ip: ctx.ip,
      })
      marketChanged(market.id)
    },

    /**
     * Platform administrators require a second factor of everyone in a market (administrators and
     * agents need one anyway). It applies from each person's next sign-in, with the usual grace.
     */
    async setSecondFactorRequired(actor: Actor, code: string, required: boolean, ctx: { requestId?: string | undefined; ip?: string | undefined }): Promise<void> {
      const market = await repo.marketByCode(code)
      if (!market) throw new AppError('NOT_FOUND')
      assertCan(actor, 'manage_platform', { companyId: null, marketId: market.id })
      if (market.secondFactorRequired === required) return
      await repo.updateMarket(code, { secondFactorRequired: required }, {
        at: clock.now(), actor: actorRef(actor), action: 'market.second_factor_changed', scope: { marketId: market.id },
        data: { before: { secondFactorRequired: market.secondFactorRequired }, after: { secondFactorRequired: required } }, requestId: ctx.requestId, ip: ctx.ip,
      })
      marketChanged(market.id)
    },

    /** Calls `listener` with a market's id whenever a platform administrator changed it in this process. */
    onMarketChanged(listener: (marketId: number) => void): void {
      marketListeners.push(listener)
    },

    /**
     * Platform administrators set each market's service levels (first response and resolution, in
     * working hours, per urgency) and its business hours and time zone. New tickets use them at once.
     */
    async updateServiceLevels(actor: Actor, code: string, input: ServiceLevelsInput, ctx: { requestId?: string | undefined; ip?: string | undefined }): Promise<void> {
      const market = await repo.marketByCode(code)
      if (!market) throw new AppError('NOT_FOUND')
      assertCan(actor, 'manage_platform', { companyId: null, marketId: market.id })
      checkServiceLevels(input)
      const after = { sla: input.sla, businessHours: input.businessHours, timeZone: input.timeZone }
      await repo.updateMarket(code, after, {
        at: clock.now(), actor: actorRef(actor), action: 'market.service_levels_changed', scope: { marketId: market.id },
        data: { before: { sla: market.sla, businessHours: market.businessHours, timeZone: market.timeZone }, after }, requestId: ctx.requestId, ip: ctx.ip,
      })
      marketChanged(market.id)
    },

    /** Companies the actor administers: a market administrator's market, an organization administrator's own. */
    async companiesForAdmin(actor: Actor, filter: { q?: string | undefined; status?: string | undefined }) {
      if (!isAdministrator(actor)) throw new AppError('FORBIDDEN_SCOPE')
      const where = whereCan(actor, 'view')
      const found = await repo.searchCompanies({ marketIds: where ? where.marketIds : null, q: filter.q?.trim() || undefined, status: filter.status, limit: 100 })
      if (!where || where.marketIds.length > 0) return found
      return (await Promise.all(where.companyIds.map((id) => repo.company(id)))).flatMap((c) => (c ? [c] : []))
    },

    /** Markets with their public support channels: anyone may see them. */
    async listMarkets(_actor: Actor): Promise<MarketRow[]> {
      return repo.listMarkets()
    },

    /** Creates or updates a company by its company number (demo seed, import). */
    async saveCompany(_actor: Actor, input: Omit<CompanyInput, 'marketId'> & { marketCode: string }): Promise<CompanyRow> {
      const { marketCode, ...company } = input
      const market = await repo.marketByCode(marketCode)
      if (!market) throw new AppError('NOT_FOUND')
      return repo.upsertCompany({ ...company, marketId: market.id })
    },

    async marketById(_actor: Actor, id: number): Promise<MarketRow | undefined> {
      return repo.marketById(id)
    },

    async market(_actor: Actor, code: string): Promise<MarketRow | undefined> {
      return repo.marketByCode(code)
    },

    /**
     * Partner companies of a market. Name and city are public; phone, email and opening hours
     * only for signed-in users.
     */
    async partnerDirectory(actor: Actor, marketCode: string): Promise<PartnerListing[]> {
      const partners = await repo.partnersOf(marketCode)
      return partners.map((p) => listing(actor, p))
    },

    /** The signed-in user's own aftersales partner, with its contact details; null for guests or when none is chosen. */
    async myPartner(actor: Actor): Promise<PartnerListing | null> {
      if (actor.kind !== 'user' || actor.companyId === null) return null
      const company = await repo.company(actor.companyId)
      const partner = company?.aftersalesPartnerId ? await repo.company(company.aftersalesPartnerId) : undefined
      return partner ? listing(actor, partner) : null
    },

    async findCompanyByNumber(_actor: Actor, companyNumber: string) {
      return repo.companyByNumber(companyNumber.trim().toUpperCase())
    },

    /** A new independent workshop registered by its first user: it waits for the market administrator. */
    async createPendingCompany(_actor: Actor, input: { name: string; street: string; postalCode: string; city: string; marketCode: string }): Promise<CompanyRow> {
      const market = await repo.marketByCode(input.marketCode)
      if (!market) throw new AppError('INVALID_INPUT', { field: 'market', reason: '' })
      return repo.upsertCompany({ ...input, marketId: market.id, companyNumber: `NEW-${randomUUID().slice(0, 8).toUpperCase()}`, status: 'pending_approval', isPartner: false })
    },

    /**
     * The companies whose aftersales partner the actor, as their organization administrator, is
     * asked to choose: none chosen yet, or asked again after the administrator got access back or
     * the company was approved. Shown on the account page, the workspace and the consoles until done.
     */
    async partnerReminders(actor: Actor): Promise<{ id: number; name: string; aftersalesPartnerId: number | null; partnerName: string | null }[]> {
      const due = await repo.partnerReviewsDue([...scopeOf(actor).orgAdminOf])
      return Promise.all(due.map(async (c) => ({
        id: c.id, name: c.name, aftersalesPartnerId: c.aftersalesPartnerId,
        partnerName: c.aftersalesPartnerId ? (await repo.company(c.aftersalesPartnerId))?.name ?? null : null,
      })))
    },

    /** Asks the company's organization administrators to choose or confirm the partner, in the caller's transaction (identity's reinstatement or approval). */
    async requestPartnerReview(_actor: Actor, companyId: number, tx: Executor): Promise<void> {
      await repo.requestPartnerReview(companyId, clock.now(), tx)
    },

    /** A new independent company approved or refused with its first account (the identity module decides, after its policy check). */
    async setCompanyStatus(_actor: Actor, companyId: number, status: 'active' | 'refused', tx?: Executor): Promise<void> {
      await repo.setCompanyStatus(companyId, status, tx)
    },

    async company(_actor: Actor, id: number) {
      return repo.company(id)
    },

    /** Sets a company's aftersales partner (demo seed; the organization console builds on it). */
    async chooseAftersalesPartner(_actor: Actor, companyNumber: string, partnerNumber: string): Promise<void> {
      const [company, partner] = await Promise.all([repo.companyByNumber(companyNumber), repo.companyByNumber(partnerNumber)])
      if (!company || !partner?.isPartner || partner.marketId !== company.marketId) throw new AppError('RULE_BROKEN')
      await repo.setAftersalesPartner(company.id, partner.id)
    },

    /** Used by the demo seed and the CLI; the platform console comes with the administration issue. */
    async saveMarket(_actor: Actor, input: MarketInput): Promise<void> {
      await repo.upsertMarket(input)
    },
  }
}

export type OrganizationsService = ReturnType<typeof createOrganizationsService>
