import type { Actor } from '../../shared/actor.js'
import { AppError } from '../../shared/errors.js'
import type { CompanyInput, CompanyRow, MarketInput, MarketRow, OrganizationsRepo } from './organizations.repo.js'

export function createOrganizationsService(repo: OrganizationsRepo) {
  return {
    /** Markets with their public support channels: anyone may see them. */
    async listMarkets(_actor: Actor): Promise<MarketRow[]> {
      return repo.listMarkets()
    },

    /** Creates or updates a company by its company number (demo seed, import). */
    async saveCompany(_actor: Actor, input: Omit<CompanyInput, 'marketId'> & { marketCode: string }): Promise<CompanyRow> {
      const market = await repo.marketByCode(input.marketCode)
      if (!market) throw new AppError('NOT_FOUND')
      const { marketCode, ...company } = input
      return repo.upsertCompany({ ...company, marketId: market.id, status: marketCode === market.code ? 'active' : 'active' })
    },

    async market(_actor: Actor, code: string): Promise<MarketRow | undefined> {
      return repo.marketByCode(code)
    },

    /** Used by the demo seed and the CLI; the platform console comes with the administration issue. */
    async saveMarket(_actor: Actor, input: MarketInput): Promise<void> {
      await repo.upsertMarket(input)
    },
  }
}

export type OrganizationsService = ReturnType<typeof createOrganizationsService>
