import type { Actor } from '../../shared/actor.js'
import { randomUUID } from 'node:crypto'
import type { BusinessHours } from '../../db/schema/index.js'
import { AppError } from '../../shared/errors.js'
import type { CompanyInput, CompanyRow, MarketInput, MarketRow, OrganizationsRepo } from './organizations.repo.js'

export interface PartnerListing {
  id: number
  name: string
  city: string
  street: string
  postalCode: string
  marketCode: string
  /** Present only for signed-in users. */
  contact: { phone: string | null; email: string | null; openingHours: BusinessHours | null } | null
}

function listing(actor: Actor, p: CompanyRow & { marketCode: string }): PartnerListing {
  return {
    id: p.id, name: p.name, city: p.city, street: p.street, postalCode: p.postalCode, marketCode: p.marketCode,
    contact: actor.kind === 'user' ? { phone: p.contactPhone, email: p.contactEmail, openingHours: p.openingHours } : null,
  }
}

export function createOrganizationsService(repo: OrganizationsRepo) {
  return {
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
