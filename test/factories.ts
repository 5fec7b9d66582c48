/**
 * Factories: each makes exactly the rows a test needs, with unique names, on the test's own
 * database. The demo tenant is for people, never for tests.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { and, eq, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import type { Database, Db } from '../src/db/client.js'
import { companies, markets, outbox, secondFactors, tickets, userRoles, users, type AccountStatus, type Role, type TicketIdentity } from '../src/db/schema/index.js'
import { hashPassword, totpCode } from '../src/modules/identity/index.js'
import { systemActor, type Actor } from '../src/shared/actor.js'
import { clock } from '../src/shared/clock.js'
import type { Browser } from './helpers.js'

/** The app (or a test app), or only a database: the factories that write rows need no more (the CLI tests). */
type App = FastifyInstance | { app: FastifyInstance } | { database: Database }
const databaseOf = (app: App): Database => ('app' in app ? app.app.database : app.database)
const fastifyOf = (app: FastifyInstance | { app: FastifyInstance }): FastifyInstance => ('app' in app ? app.app : app)

/** The actor of scheduled jobs and the CLI: no scope checks. */
export const system: Actor = systemActor('test')

/** The one password every factory account has (hashed once per process). */
export const TEST_PASSWORD = 'factory-password-4-tests'
let passwordHash: Promise<string> | undefined
const testPasswordHash = () => (passwordHash ??= hashPassword(TEST_PASSWORD))

let sequence = 0
/**
 * A name no other row of this process has: `prefix` plus a counter and three random letters.
 * Letters, not hex: a user ID like `u.123456` would read as the 6-digit code of the email it is in.
 */
export function unique(prefix: string): string {
  const letters = [...randomBytes(3)].map((b) => String.fromCharCode(97 + (b % 26))).join('')
  return `${prefix}${String(++sequence)}${letters}`
}

export type MarketRow = typeof markets.$inferSelect
export type CompanyRow = typeof companies.$inferSelect
export type UserRow = typeof users.$inferSelect
export type OutboxRow = typeof outbox.$inferSelect

const day = (): [string, string] => ['08:00', '18:00']
const weekdays = () => ({ 1: day(), 2: day(), 3: day(), 4: day(), 5: day() })

let markets_ = 16 * 26
/** Two capital letters, as the routes want a market code, from QA on: codes tests rarely name. */
function marketCode(): string {
  const n = markets_++ % (26 * 26)
  return String.fromCharCode(65 + Math.floor(n / 26), 65 + (n % 26))
}

/** A market; `code` defaults to a fresh two-letter code. */
export async function market(app: App, input: Partial<typeof markets.$inferInsert> = {}): Promise<MarketRow> {
  const code = input.code ?? marketCode()
  const [row] = await databaseOf(app).db.insert(markets).values({
    code, names: { it: `Mercato ${code}`, en: `Market ${code}`, de: `Markt ${code}` }, defaultLocale: 'en', timeZone: 'Europe/Rome',
    supportEmail: `support.${code.toLowerCase()}@example.test`, supportPhone: '+39 02 0000 0000', businessHours: weekdays(),
    ...input,
  }).returning()
  if (!row) throw new Error('market not inserted')
  return row
}

/** A company in `market` (a new market when absent); its number is upper case, as the services store them. */
export async function company(app: App, input: Partial<typeof companies.$inferInsert> & { market?: MarketRow } = {}): Promise<CompanyRow> {
  const { market: given, ...values } = input
  const marketId = values.marketId ?? (given ?? await market(app)).id
  const number = values.companyNumber ?? unique('C-').toUpperCase()
  const [row] = await databaseOf(app).db.insert(companies).values({
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
  /**
   * An authenticator app enrolled (through the factors service, as the person would), so `signIn`
   * takes the second step with a computed code. Default: for administrators and support agents,
   * whom the policy requires to have one, when the factory is given the app (not only a database).
   * false: an administrator who has not enrolled yet (the grace applies to them).
   */
  factor?: boolean
}

/** What an enrolled account's phone and drawer hold: its authenticator's secret, the last step it showed, its recovery codes. */
interface Device { secret: string; lastStep: number; recovery: string[] }
const devices = new Map<string, Device>()
const STEP_MS = 30_000
const deviceKey = (row: Pick<UserRow, 'realm' | 'userId'>) => `${row.realm}:${row.userId.toLowerCase()}`

/**
 * Enrols an authenticator app for the account through the factors service (a QR code scanned and
 * confirmed with its first code), keeping its secret and recovery codes for `secondFactorCode`.
 */
export async function enrolFactor(app: FastifyInstance | { app: FastifyInstance }, row: Pick<UserRow, 'id' | 'realm' | 'userId'>): Promise<{ secret: string; recoveryCodes: string[] }> {
  const services = fastifyOf(app).services
  const actor = await services.auth.actorFor(row.id)
  const started = await services.factors.startTotp(actor)
  const now = clock.now()
  const { recoveryCodes } = await services.factors.confirmTotp(actor, { factorId: started.factorId, name: 'Test phone', code: totpCode(started.secret, now) }, { publicUrl: fastifyOf(app).site.publicUrl })
  devices.set(deviceKey(row), { secret: started.secret, lastStep: Math.floor(now.getTime() / STEP_MS), recovery: [...(recoveryCodes ?? [])] })
  return { secret: started.secret, recoveryCodes: recoveryCodes ?? [] }
}

/**
 * A second-step code the account's phone would show: the code of now, or of the next step (one
 * step of clock skew is accepted) when now's was used; a recovery code when both were. The
 * portal accepts each code once, and so does this.
 */
export function secondFactorCode(row: Pick<UserRow, 'realm' | 'userId'>): string {
  const device = devices.get(deviceKey(row))
  if (!device) throw new Error(`${row.userId} has no factor enrolled by the factories`)
  const now = Math.floor(clock.now().getTime() / STEP_MS)
  const step = Math.max(now, device.lastStep + 1)
  if (step <= now + 1) {
    device.lastStep = step
    return totpCode(device.secret, new Date(step * STEP_MS))
  }
  const recovery = device.recovery.shift()
  if (!recovery) throw new Error(`${row.userId} signed in too often this half-minute: no codes left`)
  return recovery
}

/** The `secret` column of the account's factors, as a database dump would show it. */
export async function storedFactorSecrets(app: App, row: { id: number }): Promise<string[]> {
  return (await databaseOf(app).db.select({ secret: secondFactors.secret }).from(secondFactors).where(eq(secondFactors.userId, row.id))).map((r) => r.secret)
}

export function hasFactor(row: Pick<UserRow, 'realm' | 'userId'>): boolean {
  return devices.has(deviceKey(row))
}

/** An account with the password TEST_PASSWORD, role `user` and whatever `input` adds. */
export async function user(app: App, input: UserInput = {}): Promise<UserRow> {
  const db = databaseOf(app).db
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
  const needsFactor = (input.roles ?? []).some((r) => r.role !== 'user')
  const fastify = 'app' in app ? app.app : 'services' in app ? app : undefined
  if ((input.factor ?? needsFactor) && fastify) await enrolFactor(fastify, row)
  return row
}

/** The account as it is now in the database. */
export async function reload(app: App, row: { id: number }): Promise<UserRow> {
  const [found] = await databaseOf(app).db.select().from(users).where(eq(users.id, row.id))
  if (!found) throw new Error(`user ${row.id} not found`)
  return found
}

/** The actor a signed-in request of this account would carry. */
export async function actorOf(app: FastifyInstance | { app: FastifyInstance }, row: { id: number }): Promise<Actor> {
  return fastifyOf(app).services.auth.actorFor(row.id)
}

/** A partner company (an aftersales partner others may choose), with contact details, in `market`. */
export async function partner(app: App, input: Parameters<typeof company>[1] = {}): Promise<CompanyRow> {
  const number = input.companyNumber ?? unique('P-').toUpperCase()
  return company(app, {
    companyNumber: number, name: `Concessionaria ${number}`, isPartner: true, contactPhone: `+39 051 ${String(100_000 + (sequence % 900_000))}`,
    contactEmail: `service.${number.toLowerCase()}@example.test`, openingHours: weekdays(), ...input,
  })
}

/** `workshop` chooses `partner` as its aftersales partner. */
export async function choosePartner(app: App, workshop: CompanyRow, chosen: CompanyRow): Promise<CompanyRow> {
  const [row] = await databaseOf(app).db.update(companies).set({ aftersalesPartnerId: chosen.id }).where(eq(companies.id, workshop.id)).returning()
  if (!row) throw new Error('company not updated')
  return row
}

/** The sign-in page of the account's realm. */
export function loginPath(row: Pick<UserRow, 'realm'>, locale = 'en'): string {
  return row.realm === 'shop' ? `/${locale}/shop/login` : `/${locale}/login`
}

/** Posts the sign-in form of the account's realm with TEST_PASSWORD (or `password`); throws unless signed in. */
export async function signIn(browser: Browser, row: Pick<UserRow, 'realm' | 'userId'>, options: { locale?: string; password?: string } = {}): Promise<Browser> {
  await signInResponse(browser, row, options)
  return browser
}

/**
 * The sign-in form posted, and for an account with a factor the second step taken with the code its
 * phone shows: the last answer (its `location` is where the person lands). Throws unless signed in.
 */
export async function signInResponse(browser: Browser, row: Pick<UserRow, 'realm' | 'userId'>, options: { locale?: string; password?: string; next?: string } = {}) {
  const res = await browser.post(loginPath(row, options.locale), { identifier: row.userId, password: options.password ?? TEST_PASSWORD, ...(options.next ? { next: options.next } : {}) })
  if (res.statusCode === 303) return res
  // An account with a factor: the answer is the second step's page, whose form takes the code.
  const action = res.statusCode === 200 ? /<form[^>]+action="([^"]*\/login\/code)"/.exec(res.body)?.[1] : undefined
  if (!action) throw new Error(`${row.userId} was not signed in: ${String(res.statusCode)}`)
  const step = await browser.post(action, { code: secondFactorCode(row), ...(options.next ? { next: options.next } : {}) })
  if (step.statusCode !== 303) throw new Error(`${row.userId} did not pass the second step: ${String(step.statusCode)}`)
  return step
}

/** What an administrator checking the account's identity would be told, all of it right. */
export function identityOf(row: Pick<UserRow, 'userId' | 'firstName' | 'lastName' | 'email'>, of: CompanyRow | null = null) {
  return {
    userId: row.userId, firstName: row.firstName, lastName: row.lastName, email: row.email ?? '',
    companyName: of?.name ?? '', companyAddress: of ? `${of.street}, ${of.postalCode} ${of.city}` : '',
  }
}

/** Templates of the emails the outbox holds for `address`, oldest first (sent or not). */
export async function outboxTo(app: FastifyInstance | { app: FastifyInstance }, address: string): Promise<string[]> {
  return (await fastifyOf(app).mailer.repo.to(address)).map((m) => m.template)
}

export interface ArticleInput {
  locale: string
  slug: string
  title?: string
  /** The article's key, shared by its translations; defaults to the slug. */
  key?: string
  /** Category folder (and key); defaults to `general`. */
  category?: string
  body?: string
  audience?: 'all' | 'org_admin' | 'market_admin'
}

/**
 * Makes the help center hold exactly these articles (through the content import, as an editor
 * would): a page to visit without loading the demo's content.
 */
export async function helpArticles(app: FastifyInstance | { app: FastifyInstance }, articles: ArticleInput[]): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sportello-content-'))
  try {
    for (const [i, a] of articles.entries()) {
      const category = a.category ?? 'general'
      const folder = path.join(dir, a.locale, category)
      await mkdir(folder, { recursive: true })
      await writeFile(path.join(folder, '_category.md'), `---\nkey: ${category}\ntitle: "Category ${category}"\norder: 1\n---\n`)
      await writeFile(path.join(folder, `${a.slug}.md`), [
        '---', `key: ${a.key ?? a.slug}`, `title: ${JSON.stringify(a.title ?? `Article ${a.slug}`)}`, `order: ${String(i + 1)}`,
        `audience: ${a.audience ?? 'all'}`, '---', a.body ?? `The text of ${a.slug}.`, '',
      ].join('\n'))
    }
    await fastifyOf(app).services.help.importContent(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** A sign-in request (topic `password`) from a requester with these identity details, in `market`. */
export async function identityTicket(app: App, input: { market: MarketRow; identity: TicketIdentity }): Promise<string> {
  const reference = `SR-2026-${String(++sequence).padStart(6, '0')}${randomBytes(1).toString('hex').replace(/\D/g, '')}`
  const now = clock.now()
  const { identity } = input
  await databaseOf(app).db.insert(tickets).values({
    reference, marketId: input.market.id, topic: 'password', subject: 'Account bloccato', urgency: 'normal', state: 'new', locale: 'it',
    requesterName: `${identity.firstName} ${identity.lastName}`, requesterEmail: identity.email, companyName: identity.companyName,
    companyAddress: identity.companyAddress, identity, accessHash: randomBytes(16).toString('hex'), firstResponseDue: now, resolutionDue: now,
    createdAt: now, updatedAt: now,
  })
  return reference
}

/** The emails queued for an address (oldest first), optionally of one template. */
export async function mailsTo(app: App, email: string, template?: string): Promise<OutboxRow[]> {
  return databaseOf(app).db.select().from(outbox)
    .where(and(sql`lower(${outbox.toEmail}) = lower(${email})`, template ? eq(outbox.template, template) : undefined)).orderBy(outbox.id)
}

/** Changes an account's row as time or another process would have (status, last activity…). */
export async function setAccount(app: App, row: { id: number }, change: Partial<Pick<UserRow, 'status' | 'lastActivityAt' | 'statusChangedAt' | 'lockedUntil'>>): Promise<void> {
  await databaseOf(app).db.update(users).set(change).where(eq(users.id, row.id))
}

/**
 * Makes every insert into `table` for which `condition` (SQL over `new`) holds fail, as a crash in
 * the middle of a use case would. Returns the function that removes the failure.
 */
export async function failInserts(app: App, table: string, condition: string): Promise<() => Promise<void>> {
  const db = databaseOf(app).db
  const name = `fail_${randomBytes(4).toString('hex')}`
  await db.execute(sql.raw(`create function ${name}() returns trigger language plpgsql as $$ begin if ${condition} then raise exception 'injected failure'; end if; return new; end $$`))
  await db.execute(sql.raw(`create trigger ${name} before insert on ${table} for each row execute function ${name}()`))
  return async () => {
    await db.execute(sql.raw(`drop trigger ${name} on ${table}`))
    await db.execute(sql.raw(`drop function ${name}()`))
  }
}

/**
 * Runs `work` in one transaction whose session time zone is `zone` (as a server configured for
 * another zone would run it), on a database handle repositories accept; rolled back or committed
 * as `work` ends.
 */
export async function inSessionTimeZone<T>(app: App, zone: string, work: (db: Db) => Promise<T>): Promise<T> {
  return databaseOf(app).db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('TimeZone', ${zone}, true)`)
    // A transaction runs every query a database handle does; repositories open savepoints on it.
    return work(tx)
  })
}
