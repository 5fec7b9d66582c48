/**
 * Factories of the help desk, SSO and help center tests: markets with the service levels a test
 * needs, partner companies, support agents, tickets, connected apps, help content and signed-in
 * clients. Built on test/factories.ts; each makes only the rows its test asks for.
 */
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import { userRoles, type BusinessHours } from '../src/db/schema/index.js'
import type { Actor } from '../src/shared/actor.js'
import { systemActor } from '../src/shared/actor.js'
import { demoContentDir } from '../src/seed/demo.js'
import { company, loginPath, market, secondFactorCode, signInResponse, TEST_PASSWORD, unique, user, type CompanyRow, type MarketRow, type UserInput, type UserRow } from './factories.js'
import { testBrowser, type Browser } from './helpers.js'

type App = FastifyInstance | { app: FastifyInstance }
const fastifyOf = (app: App): FastifyInstance => ('app' in app ? app.app : app)

/** The help content kept in the repository (content/): articles, not accounts. */
export const contentDir = demoContentDir

const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
let codes = 0
/**
 * A two-letter market code no other desk market of this process has (forms and console URLs take
 * exactly two capital letters). Starts at QA, away from the codes people read.
 */
export function marketCode(): string {
  const n = 16 * 26 + codes++
  return `${letters[Math.floor(n / 26) % 26] ?? 'Q'}${letters[n % 26] ?? 'A'}`
}

/** Monday to Friday, `from` to `to`. */
export function weekdays(from: string, to: string): BusinessHours {
  return { 1: [from, to], 2: [from, to], 3: [from, to], 4: [from, to], 5: [from, to] }
}

/**
 * A market the desk can route to: a two-letter code, and (unless given) Rome's time zone, business
 * hours 08:30–17:30 on weekdays and the default service levels (8/40 normal, 2/16 urgent).
 */
export async function deskMarket(app: App, input: Partial<Parameters<typeof market>[1]> = {}): Promise<MarketRow> {
  return market(app, { code: marketCode(), businessHours: weekdays('08:30', '17:30'), ...input })
}

/** A company number as the portal stores them: capital letters, digits and dashes (lookups upper-case what is typed). */
export const companyNumber = (prefix = 'C-'): string => unique(prefix).toUpperCase()

/** A partner company (dealer) with the contact details its workshops are shown. */
export async function partnerCompany(app: App, marketRow: MarketRow, input: Partial<Parameters<typeof company>[1]> = {}): Promise<CompanyRow> {
  const number = companyNumber('P-')
  return company(app, {
    market: marketRow, companyNumber: number, name: `Dealer ${number} S.p.A.`, isPartner: true,
    contactPhone: '+39 051 000 4567', contactEmail: `service.${number.toLowerCase()}@dealer.example`, openingHours: weekdays('08:00', '18:00'),
    ...input,
  })
}

/** A workshop with a number the portal's lookups find, optionally with its chosen aftersales partner. */
export async function workshop(app: App, marketRow: MarketRow, input: Partial<Parameters<typeof company>[1]> & { partner?: CompanyRow } = {}): Promise<CompanyRow> {
  const { partner, ...values } = input
  return company(app, { market: marketRow, companyNumber: companyNumber(), ...(partner ? { aftersalesPartnerId: partner.id } : {}), ...values })
}

/** A support agent of `marketRow` (staff: no company). */
export async function agent(app: App, marketRow: MarketRow, input: UserInput = {}): Promise<UserRow> {
  return user(app, { ...input, roles: [{ role: 'support_agent', marketId: marketRow.id }, ...(input.roles ?? [])] })
}

/** A market administrator of `marketRow`; `alsoAgent` adds the support agent role (the identity panel beside sign-in tickets). */
export async function marketAdmin(app: App, marketRow: MarketRow, input: UserInput & { alsoAgent?: boolean } = {}): Promise<UserRow> {
  const { alsoAgent, ...rest } = input
  return user(app, {
    ...rest,
    roles: [{ role: 'market_admin', marketId: marketRow.id }, ...(alsoAgent ? [{ role: 'support_agent' as const, marketId: marketRow.id }] : []), ...(rest.roles ?? [])],
  })
}

/** A platform administrator. */
export async function platformAdmin(app: App, input: UserInput = {}): Promise<UserRow> {
  return user(app, { ...input, roles: [{ role: 'platform_admin' }, ...(input.roles ?? [])] })
}

/** The roles stored for an account, as the desk reads them. */
export async function rolesOf(app: App, account: UserRow) {
  return fastifyOf(app).database.db.select({ role: userRoles.role, marketId: userRoles.marketId }).from(userRoles).where(eq(userRoles.userId, account.id))
}

/** A cookie-keeping client signed in as `account` (password TEST_PASSWORD) on the `locale` sign-in form. */
export async function signedIn(app: () => FastifyInstance, account: UserRow, locale = 'en'): Promise<Browser> {
  const b = testBrowser(app)
  await signInResponse(b, account, { locale })
  return b
}

/** Signs in on the portal's form in a real browser and waits for the page it leads to. */
/**
 * After the sign-in form was sent in a browser: the second step with the account's code where it
 * has a factor, and "Later" on the enrolment page where the policy asks for one within its grace.
 */
export async function passSignInSteps(page: Page, account: Pick<UserRow, 'realm' | 'userId'>): Promise<void> {
  await page.waitForURL((url) => !url.pathname.endsWith('/login'))
  if (/\/login\/code$/.test(new URL(page.url()).pathname)) {
    await page.fill('#code', secondFactorCode(account))
    await page.click('form:has(#code) button[type=submit]')
    await page.waitForURL((url) => !url.pathname.endsWith('/login/code'))
  }
  if (new URL(page.url()).pathname.endsWith('/account/second-factor')) {
    await page.locator('main a', { hasText: /Not now|Non ora|Nicht jetzt/ }).click()
    await page.waitForURL((url) => !url.pathname.endsWith('/account/second-factor'))
  }
}

export async function signInPage(page: Page, baseUrl: string, account: UserRow, locale = 'en', password = TEST_PASSWORD): Promise<void> {
  // The sign-in page of the account's realm: a Parts Shop account signs in on the shop's own.
  await page.goto(`${baseUrl}${loginPath(account, locale)}`)
  await page.fill('#identifier', account.userId)
  await page.fill('#password', password)
  await page.click('form.stack-form button[type=submit]')
  await passSignInSteps(page, account)
  // People land on the help center; administrators and support agents on their workspace.
  await page.waitForURL(new RegExp(`/${locale}/(?:help|workspace)$`))
}

type TicketInput = Parameters<FastifyInstance['services']['support']['createTicket']>[1]

/**
 * A ticket through the support service, as `actor` (a guest unless given) in `marketRow`: a guest's
 * request about an app unless `input` says otherwise. Returns the created ticket and its private link's secret.
 */
export async function ticket(app: App, marketRow: MarketRow, input: Partial<TicketInput> = {}, actor: Actor = { kind: 'guest' }) {
  const fastify = fastifyOf(app)
  const email = input.email ?? `${unique('guest.')}@guest.example`
  return fastify.services.support.createTicket(actor, {
    topic: 'apps', subject: 'Service Manual shows an empty page', description: 'Since this morning the Service Manual opens but every page is empty.',
    urgency: 'normal', locale: 'en',
    ...(actor.kind === 'user' ? {} : { name: 'Pia Guest', email, companyName: 'Officina Ospite', companyAddress: 'Via Nuova 3, 20100 Milano', marketCode: marketRow.code }),
    ...input,
  }, { publicUrl: fastify.site.publicUrl })
}

/** A connected app (SSO client), registered by the system. */
export async function ssoClient(app: App, input: Partial<Parameters<FastifyInstance['services']['sso']['addClient']>[1]> = {}) {
  const kind = input.kind ?? 'web'
  return fastifyOf(app).services.sso.addClient(systemActor('test'), {
    realm: 'partner', name: unique('App '), kind, firstParty: true,
    redirectUris: kind === 'machine' ? [] : ['http://localhost:3911/callback'], postLogoutRedirectUris: ['http://localhost:3911/'],
    ...input,
  })
}

/**
 * Imports help content from content/: every category, or only those whose key is in `categories`
 * (in every language). Support tickets take their topics from these categories.
 */
export async function helpContent(app: App, categories?: string[]): Promise<void> {
  const help = fastifyOf(app).services.help
  if (!categories) {
    await help.importContent(contentDir)
    return
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'desk-content-'))
  try {
    for (const locale of await readdir(contentDir)) {
      for (const slug of await readdir(path.join(contentDir, locale))) {
        const head = await readFile(path.join(contentDir, locale, slug, '_category.md'), 'utf8')
        const key = /^key:\s*(\S+)/m.exec(head)?.[1] ?? ''
        if (categories.includes(key)) await cp(path.join(contentDir, locale, slug), path.join(dir, locale, slug), { recursive: true })
      }
    }
    await help.importContent(dir)
  } finally {
    // Run outside the test runner (whose temporary folder goes at the end), the copy would stay behind.
    await rm(dir, { recursive: true, force: true })
  }
}
