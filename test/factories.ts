/**
 * Factories: each makes exactly the rows a test needs, with unique names, on the test's own
 * database. The demo tenant is for people, never for tests.
 */
import { randomBytes } from 'node:crypto'
import { and, eq, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { companies, markets, outbox, tickets, userRoles, users, type AccountStatus, type Role, type TicketIdentity } from '../src/db/schema/index.js'
import { hashPassword } from '../src/modules/identity/index.js'
import type { Actor } from '../src/shared/actor.js'
import { clock } from '../src/shared/clock.js'

type App = FastifyInstance | { app: FastifyInstance }
const fastifyOf = (app: App): FastifyInstance => ('app' in app ? app.app : app)

/** The one password every factory account has (hashed once per process). */
export const TEST_PASSWORD = 'factory-password-4-tests'
let passwordHash: Promise<string> | undefined
const testPasswordHash = () => (passwordHash ??= hashPassword(TEST_PASSWORD))

let sequence = 0
/** A name no other row of this process has: `prefix` plus a counter and a few random letters. */
export function unique(prefix: string): string {
  return `${prefix}${++sequence}${randomBytes(2).toString('hex')}`
}

export type MarketRow = typeof markets.$inferSelect
export type CompanyRow = typeof companies.$inferSelect
export type UserRow = typeof users.$inferSelect
export type OutboxRow = typeof outbox.$inferSelect

const day = (): [string, string] => ['08:00', '18:00']
const weekdays = () => ({ 1: day(), 2: day(), 3: day(), 4: day(), 5: day() })

/** A market; `code` defaults to a fresh two-letter-and-digits code. */
export async function market(app: App, input: Partial<typeof markets.$inferInsert> = {}): Promise<MarketRow> {
  const code = input.code ?? unique('M').slice(0, 8).toUpperCase()
  const [row] = await fastifyOf(app).database.db.insert(markets).values({
    code, names: { it: `Mercato ${code}`, en: `Market ${code}`, de: `Markt ${code}` }, defaultLocale: 'en', timeZone: 'Europe/Rome',
    supportEmail: `support.${code.toLowerCase()}@example.test`, supportPhone: '+39 02 0000 0000', businessHours: weekdays(),
    ...input,
  }).returning()
  if (!row) throw new Error('market not inserted')
  return row
}

/** A company in `market` (a new market when absent). */
export async function company(app: App, input: Partial<typeof companies.$inferInsert> & { market?: MarketRow } = {}): Promise<CompanyRow> {
  const { market: given, ...values } = input
  const marketId = values.marketId ?? (given ?? await market(app)).id
  const number = values.companyNumber ?? unique('C-')
  const [row] = await fastifyOf(app).database.db.insert(companies).values({
    companyNumber: number, name: `Officina ${number}`, street: 'Via Roma 1', postalCode: '40100', city: 'Bologna', ...values, marketId,
  }).returning()
  if (!row) throw new Error('company not inserted')
  return row
}

export interface UserInput {
  realm?: string
  userId?: string
  firstName?: string
  lastName?: string
  /** null: no address; absent: a unique one. */
  email?: string | null
  emailVerified?: boolean
  locale?: string
  status?: AccountStatus
  company?: CompanyRow | null
  /** false: no password (an invited account). */
  password?: boolean
  lastActivityAt?: Date
  lockedUntil?: Date | null
  /** Roles besides `user`: { role: 'market_admin', marketId } and so on. */
  roles?: { role: Role; marketId?: number; companyId?: number }[]
}

/** An account with the password TEST_PASSWORD, role `user` and whatever `input` adds. */
export async function user(app: App, input: UserInput = {}): Promise<UserRow> {
  const db = fastifyOf(app).database.db
  const now = clock.now()
  const userId = input.userId ?? unique('u.')
  const [row] = await db.insert(users).values({
    realm: input.realm ?? 'partner', userId, firstName: input.firstName ?? 'Test', lastName: input.lastName ?? userId,
    email: input.email === undefined ? `${userId}@example.test` : input.email,
    emailVerifiedAt: input.emailVerified === false || input.email === null ? null : now, locale: input.locale ?? 'en',
    status: input.status ?? 'active', companyId: input.company?.id ?? null,
    passwordHash: input.password === false ? null : await testPasswordHash(), passwordChangedAt: input.password === false ? null : now,
    lastActivityAt: input.lastActivityAt ?? now, lockedUntil: input.lockedUntil ?? null, createdAt: now, updatedAt: now,
  }).returning()
  if (!row) throw new Error('user not inserted')
  await db.insert(userRoles).values([{ userId: row.id, role: 'user' as Role }, ...(input.roles ?? [])].map((r) => ({ ...r, userId: row.id })))
  return row
}

/** The account as it is now in the database. */
export async function reload(app: App, row: { id: number }): Promise<UserRow> {
  const [found] = await fastifyOf(app).database.db.select().from(users).where(eq(users.id, row.id))
  if (!found) throw new Error(`user ${row.id} not found`)
  return found
}

/** The actor a signed-in request of this account would carry. */
export async function actorOf(app: App, row: UserRow): Promise<Actor> {
  return fastifyOf(app).services.auth.actorFor(row.id)
}

/** A sign-in request (topic `password`) from a requester with these identity details, in `market`. */
export async function identityTicket(app: App, input: { market: MarketRow; identity: TicketIdentity }): Promise<string> {
  const reference = `SR-2026-${String(++sequence).padStart(6, '0')}${randomBytes(1).toString('hex').replace(/\D/g, '')}`
  const now = clock.now()
  const { identity } = input
  await fastifyOf(app).database.db.insert(tickets).values({
    reference, marketId: input.market.id, topic: 'password', subject: 'Account bloccato', urgency: 'normal', state: 'new', locale: 'it',
    requesterName: `${identity.firstName} ${identity.lastName}`, requesterEmail: identity.email, companyName: identity.companyName,
    companyAddress: identity.companyAddress, identity, accessHash: randomBytes(16).toString('hex'), firstResponseDue: now, resolutionDue: now,
    createdAt: now, updatedAt: now,
  })
  return reference
}

/** The emails queued for an address (oldest first), optionally of one template. */
export async function mailsTo(app: App, email: string, template?: string): Promise<OutboxRow[]> {
  return fastifyOf(app).database.db.select().from(outbox)
    .where(and(sql`lower(${outbox.toEmail}) = lower(${email})`, template ? eq(outbox.template, template) : undefined)).orderBy(outbox.id)
}

/** Changes an account's row as time or another process would have (status, last activity…). */
export async function setAccount(app: App, row: { id: number }, change: Partial<Pick<UserRow, 'status' | 'lastActivityAt' | 'statusChangedAt' | 'lockedUntil'>>): Promise<void> {
  await fastifyOf(app).database.db.update(users).set(change).where(eq(users.id, row.id))
}

/**
 * Makes every insert into `table` for which `condition` (SQL over `new`) holds fail, as a crash in
 * the middle of a use case would. Returns the function that removes the failure.
 */
export async function failInserts(app: App, table: string, condition: string): Promise<() => Promise<void>> {
  const db = fastifyOf(app).database.db
  const name = `fail_${randomBytes(4).toString('hex')}`
  await db.execute(sql.raw(`create function ${name}() returns trigger language plpgsql as $$ begin if ${condition} then raise exception 'injected failure'; end if; return new; end $$`))
  await db.execute(sql.raw(`create trigger ${name} before insert on ${table} for each row execute function ${name}()`))
  return async () => {
    await db.execute(sql.raw(`drop trigger ${name} on ${table}`))
    await db.execute(sql.raw(`drop function ${name}()`))
  }
}
