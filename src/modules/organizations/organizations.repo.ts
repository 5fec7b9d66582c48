import { and, asc, eq, inArray, or, sql } from 'drizzle-orm'
import { recordAudit, type AuditInput } from '../../shared/audit/audit.repo.js'
import type { Db, Tx } from '../../db/client.js'
import { companies, markets } from '../../db/schema/index.js'

export type MarketRow = typeof markets.$inferSelect

export type MarketInput = typeof markets.$inferInsert
export type CompanyRow = typeof companies.$inferSelect
export type CompanyInput = typeof companies.$inferInsert

/** Notified (on commit, payload: the market's id) whenever a market changes, so that every process drops its copy. */
export const MARKET_CHANNEL = 'sportello_market_changed'

export function createOrganizationsRepo(db: Db) {
  // A company by its id is read on every provisioning create: prepared by name, one round trip.
  const companyById = db.select({ company: companies, marketCode: markets.code }).from(companies)
    .innerJoin(markets, eq(markets.id, companies.marketId)).where(eq(companies.id, sql.placeholder('id'))).prepare('organizations_company_by_id')
  return {
    async listMarkets(): Promise<MarketRow[]> {
      return db.select().from(markets).orderBy(asc(markets.code))
    },

    async marketById(id: number): Promise<MarketRow | undefined> {
      const [row] = await db.select().from(markets).where(eq(markets.id, id))
      return row
    },

    async marketByCode(code: string): Promise<MarketRow | undefined> {
      const [row] = await db.select().from(markets).where(eq(markets.code, code))
      return row
    },

    async upsertCompany(input: CompanyInput): Promise<CompanyRow> {
      const [row] = await db.insert(companies).values(input).onConflictDoUpdate({
        target: companies.companyNumber,
        set: {
          name: sql`excluded.name`, street: sql`excluded.street`, postalCode: sql`excluded.postal_code`, city: sql`excluded.city`,
          marketId: sql`excluded.market_id`, isPartner: sql`excluded.is_partner`, contactPhone: sql`excluded.contact_phone`,
          contactEmail: sql`excluded.contact_email`, openingHours: sql`excluded.opening_hours`,
        },
      }).returning()
      if (!row) throw new Error(`company ${input.companyNumber} not written`)
      return row
    },

    async partnersOf(marketCode: string): Promise<(CompanyRow & { marketCode: string })[]> {
      const rows = await db.select({ company: companies, marketCode: markets.code }).from(companies)
        .innerJoin(markets, eq(markets.id, companies.marketId))
        .where(and(eq(markets.code, marketCode), eq(companies.isPartner, true)))
        .orderBy(asc(companies.city), asc(companies.name))
      return rows.map((r) => ({ ...r.company, marketCode: r.marketCode }))
    },

    async companyByNumber(companyNumber: string): Promise<CompanyRow | undefined> {
      const [row] = await db.select().from(companies).where(eq(companies.companyNumber, companyNumber))
      return row
    },

    async company(id: number): Promise<(CompanyRow & { marketCode: string }) | undefined> {
      const [row] = await companyById.execute({ id })
      return row ? { ...row.company, marketCode: row.marketCode } : undefined
    },

    /** Companies of some markets (all when null), searched by number, name or city. */
    async searchCompanies(filter: { marketIds: number[] | null; q?: string | undefined; status?: string | undefined; partnersOnly?: boolean; limit: number }) {
      const like = filter.q ? `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null
      const rows = await db.select({ company: companies, marketCode: markets.code }).from(companies)
        .innerJoin(markets, eq(markets.id, companies.marketId))
        .where(and(
          filter.marketIds ? (filter.marketIds.length > 0 ? inArray(companies.marketId, filter.marketIds) : sql`false`) : undefined,
          filter.status ? eq(companies.status, filter.status) : undefined,
          filter.partnersOnly ? eq(companies.isPartner, true) : undefined,
          like ? or(sql`lower(${companies.name}) like ${like}`, sql`lower(${companies.city}) like ${like}`, sql`lower(${companies.companyNumber}) like ${like}`) : undefined,
        ))
        .orderBy(asc(markets.code), asc(companies.name)).limit(filter.limit)
      return rows.map((r) => ({ ...r.company, marketCode: r.marketCode }))
    },

    async updateCompany(id: number, fields: Partial<CompanyInput>, audit: AuditInput): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.update(companies).set(fields).where(eq(companies.id, id))
        await recordAudit(tx, audit)
      })
    },

    async insertCompany(input: CompanyInput, audit: (id: number) => AuditInput): Promise<CompanyRow | undefined> {
      return db.transaction(async (tx) => {
        const [row] = await tx.insert(companies).values(input).onConflictDoNothing({ target: companies.companyNumber }).returning()
        if (row) await recordAudit(tx, audit(row.id))
        return row
      })
    },

    async updateMarket(code: string, fields: Partial<MarketInput>, audit: AuditInput): Promise<void> {
      await db.transaction(async (tx) => {
        const [changed] = await tx.update(markets).set(fields).where(eq(markets.code, code)).returning({ id: markets.id })
        await recordAudit(tx, audit)
        if (changed) await tx.execute(sql`select pg_notify(${MARKET_CHANNEL}, ${String(changed.id)})`)
      })
    },

    /** Inside the caller's transaction when one is given (a company approved with its first account). */
    async setCompanyStatus(id: number, status: string, tx: Db | Tx = db): Promise<void> {
      await tx.update(companies).set({ status }).where(eq(companies.id, id))
    },

    /** Asks the company's organization administrators to choose or confirm its aftersales partner (in the caller's transaction). */
    async requestPartnerReview(id: number, at: Date, tx: Db | Tx = db): Promise<void> {
      await tx.update(companies).set({ partnerReviewRequestedAt: at }).where(and(eq(companies.id, id), eq(companies.isPartner, false)))
    },

    /** Companies among `ids` whose administrators still have to choose or confirm the aftersales partner. */
    async partnerReviewsDue(ids: number[]): Promise<(CompanyRow & { marketCode: string })[]> {
      if (ids.length === 0) return []
      const rows = await db.select({ company: companies, marketCode: markets.code }).from(companies)
        .innerJoin(markets, eq(markets.id, companies.marketId))
        .where(and(inArray(companies.id, ids), eq(companies.isPartner, false), eq(companies.status, 'active'),
          or(sql`${companies.aftersalesPartnerId} is null`, sql`${companies.partnerReviewRequestedAt} is not null`)))
        .orderBy(asc(companies.name))
      return rows.map((r) => ({ ...r.company, marketCode: r.marketCode }))
    },

    async setAftersalesPartner(companyId: number, partnerId: number | null): Promise<void> {
      await db.update(companies).set({ aftersalesPartnerId: partnerId }).where(eq(companies.id, companyId))
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
