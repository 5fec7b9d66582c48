import { asc, eq, sql } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { companies, markets } from '../../db/schema/index.js'

export type MarketRow = typeof markets.$inferSelect
export type MarketInput = typeof markets.$inferInsert
export type CompanyRow = typeof companies.$inferSelect
export type CompanyInput = typeof companies.$inferInsert

export function createOrganizationsRepo(db: Db) {
  return {
    async listMarkets(): Promise<MarketRow[]> {
      return db.select().from(markets).orderBy(asc(markets.code))
    },

    async marketByCode(code: string): Promise<MarketRow | undefined> {
      const [row] = await db.select().from(markets).where(eq(markets.code, code))
      return row
    },

    async upsertCompany(input: CompanyInput): Promise<CompanyRow> {
      const [row] = await db.insert(companies).values(input).onConflictDoUpdate({
        target: companies.companyNumber,
        set: { name: sql`excluded.name`, street: sql`excluded.street`, postalCode: sql`excluded.postal_code`, city: sql`excluded.city`, marketId: sql`excluded.market_id` },
      }).returning()
      if (!row) throw new Error(`company ${input.companyNumber} not written`)
      return row
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
