import type { Actor } from '../../shared/actor.js'
import type { MarketInput, MarketRow, OrganizationsRepo } from './organizations.repo.js'

export function createOrganizationsService(repo: OrganizationsRepo) {
  return {
    /** Markets with their public support channels: anyone may see them. */
    async listMarkets(_actor: Actor): Promise<MarketRow[]> {
      return repo.listMarkets()
    },

    /** Used by the demo seed and the CLI; the platform console comes with the administration issue. */
    async saveMarket(_actor: Actor, input: MarketInput): Promise<void> {
      await repo.upsertMarket(input)
    },
  }
}

export type OrganizationsService = ReturnType<typeof createOrganizationsService>
