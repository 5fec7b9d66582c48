import { asc, sql } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { markets } from '../../db/schema/index.js'

export type MarketRow = typeof markets.$inferSelect
export type MarketInput = typeof markets.$inferInsert

export function createOrganizationsRepo(db: Db) {
  return {
    async listMarkets(): Promise<MarketRow[]> {
      return db.select().from(markets).orderBy(asc(markets.code))
    },

    async upsertMarket(input: MarketInput): Promise<void> {
      await db.insert(markets).values(input).onConflictDoUpdate({
        target: markets.code,
        set: {
          names: sql`excluded.names`, defaultLocale: sql`excluded.default_locale`, timeZone: sql`excluded.time_zone`,
          supportEmail: sql`excluded.support_email`, supportPhone: sql`excluded.support_phone`, businessHours: sql`excluded.business_hours`,
        },
      })
    },
  }
}

export type OrganizationsRepo = ReturnType<typeof createOrganizationsRepo>
