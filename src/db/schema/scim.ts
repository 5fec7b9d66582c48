import { sql } from 'drizzle-orm'
import { check, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { companies, markets } from './organizations.js'
import { ssoClients } from './sso.js'

/**
 * SCIM 2.0 provisioning tokens: one bearer token per machine client, scoped to exactly one company
 * or one market. Only the SHA-256 of the 32 random bytes is stored; issuing a new one replaces it.
 */
export const scimTokens = pgTable('scim_tokens', {
  clientId: text('client_id').primaryKey().references(() => ssoClients.clientId, { onDelete: 'cascade' }),
  tokenHash: text('token_hash').notNull(),
  companyId: integer('company_id').references(() => companies.id, { onDelete: 'cascade' }),
  marketId: integer('market_id').references(() => markets.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [
  uniqueIndex('scim_tokens_hash').on(t.tokenHash),
  check('scim_tokens_one_scope', sql`(${t.companyId} is null) <> (${t.marketId} is null)`),
])
