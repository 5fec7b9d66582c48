import { boolean, index, integer, jsonb, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'

/** Opening hours per ISO weekday (1 = Monday … 7 = Sunday), local time of the market. */
export type BusinessHours = Partial<Record<'1' | '2' | '3' | '4' | '5' | '6' | '7', [string, string]>>

export type MarketSla = Record<'normal' | 'urgent', { firstResponse: number; resolution: number }>

export const markets = pgTable('markets', {
  id: serial('id').primaryKey(),
  /** ISO 3166-1 alpha-2, e.g. IT. */
  code: text('code').notNull(),
  /** Names per locale: { it: 'Italia', en: 'Italy', de: 'Italien' }. */
  names: jsonb('names').$type<Record<string, string>>().notNull(),
  defaultLocale: text('default_locale').notNull(),
  timeZone: text('time_zone').notNull(),
  supportEmail: text('support_email').notNull(),
  supportPhone: text('support_phone').notNull(),
  businessHours: jsonb('business_hours').$type<BusinessHours>().notNull(),
  /** Service levels in working hours, per urgency: first response and resolution. */
  sla: jsonb('sla').$type<MarketSla>().notNull().default({ normal: { firstResponse: 8, resolution: 40 }, urgent: { firstResponse: 2, resolution: 16 } }),
  /** A platform administrator requires a second factor of everyone in the market (not only of administrators and agents). */
  secondFactorRequired: boolean('second_factor_required').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('markets_code').on(t.code)])

/** Small key-value state shared by all processes (e.g. the help content revision). */
export const appSettings = pgTable('app_settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

/** A dealer, workshop or importer. Partner companies (is_partner) can be chosen as aftersales partner. */
export const companies = pgTable('companies', {
  id: serial('id').primaryKey(),
  marketId: integer('market_id').notNull().references(() => markets.id),
  companyNumber: text('company_number').notNull(),
  name: text('name').notNull(),
  street: text('street').notNull().default(''),
  postalCode: text('postal_code').notNull().default(''),
  city: text('city').notNull().default(''),
  isPartner: boolean('is_partner').notNull().default(false),
  /** Contact details shown to signed-in users whose company chose this partner. */
  contactPhone: text('contact_phone'),
  contactEmail: text('contact_email'),
  openingHours: jsonb('opening_hours').$type<BusinessHours>(),
  aftersalesPartnerId: integer('aftersales_partner_id'),
  /**
   * Set when an organization administrator of the company got access back, or when a new
   * workshop was approved: its administrators are asked to choose (or confirm) the aftersales
   * partner until one of them does.
   */
  partnerReviewRequestedAt: timestamp('partner_review_requested_at', { withTimezone: true }),
  status: text('status').notNull().default('active'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('companies_number').on(t.companyNumber), index('companies_market').on(t.marketId)])
