import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { parse } from 'csv-parse/sync'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { withClock } from '../../src/shared/clock.js'
import { actorOf, company, mailsTo, setAccount, signInResponse, user, type CompanyRow, type MarketRow, type UserRow } from '../factories.js'
import { agent as deskAgent, deskMarket, helpContent, marketAdmin, platformAdmin, signInPage, ticket } from '../desk-factories.js'
import { testBrowser } from '../helpers.js'
import { assertAccessible, phone, sidewaysOverflow, useBrowser } from './browser.js'

const fixture = useBrowser()
const DAY = 86_400_000
const languages = ['it', 'en', 'de'] as const

interface Made { it: MarketRow; rossi: CompanyRow; admin: UserRow; orgAdmin: UserRow; platform: UserRow; agent: UserRow; anna: UserRow; bruno: UserRow; carla: UserRow }
let made: Promise<Made> | undefined

const at = withClock

/** A market with two companies, accounts at every distance from the inactivity steps, requests over the last days, deflections. */
const data = () => (made ??= (async () => {
  const { app } = fixture()
  await helpContent(app)
  const now = Date.now()
  const it = await deskMarket(app, { defaultLocale: 'it', names: { it: 'Italia', en: 'Italy', de: 'Italien' } })
  const rossi = await company(app, { market: it, name: 'Autofficina Rossi S.r.l.' })
  const bianchi = await company(app, { market: it, name: 'Carrozzeria Bianchi' })
  const inactive = async (of: CompanyRow, name: [string, string], locale: string, daysAgo: number, status?: { status: UserRow['status']; changedDaysAgo: number }) => {
    const row = await user(app, { company: of, firstName: name[0], lastName: name[1], locale, lastActivityAt: new Date(now - daysAgo * DAY) })
    if (status) await setAccount(app, row, { status: status.status, statusChangedAt: new Date(now - status.changedDaysAgo * DAY) })
    return row
  }
  const anna = await inactive(rossi, ['Anna', 'Weber'], 'de', 145)
  const bruno = await inactive(rossi, ['Bruno', 'Neri'], 'it', 175, { status: 'block_warned', changedDaysAgo: 25 })
  const carla = await inactive(bianchi, ['Carla', 'Verdi'], 'it', 330, { status: 'blocked', changedDaysAgo: 150 })
  await inactive(bianchi, ['Dario', 'Gialli'], 'en', 100)
  const admin = await marketAdmin(app, it, { firstName: 'Luca', lastName: 'Ferri', locale: 'it', alsoAgent: true })
  const agent = await deskAgent(app, it, { firstName: 'Chiara', lastName: 'Conti', locale: 'it' })
  const orgAdmin = await user(app, { company: rossi, firstName: 'Olga', lastName: 'Rossi', locale: 'it', roles: [{ role: 'org_admin', companyId: rossi.id }] })
  const platform = await platformAdmin(app, { firstName: 'Paola', lastName: 'Piatti', locale: 'it' })

  // Requests on several days: some answered within the hour, some days later (late), some still open.
  const agentActor = await actorOf(app, agent)
  const topics = ['apps', 'company', 'support', 'apps', 'apps', 'company']
  for (const [i, daysAgo] of [1, 2, 3, 5, 8, 12, 20, 26].entries()) {
    const opened = new Date(now - daysAgo * DAY)
    opened.setUTCHours(9, 0, 0, 0)
    const { ticket: created } = await at(opened, () => ticket(app, it, { topic: topics[i % topics.length], subject: `Richiesta ${String(i)}` }))
    if (i % 3 === 2) continue
    const answered = new Date(opened.getTime() + (i % 3 === 0 ? 3_600_000 : 4 * DAY))
    if (answered.getTime() < now) await at(answered, () => app.app.services.desk.reply(agentActor, created.reference, { body: 'Risposta', state: 'waiting_on_requester' }, { publicUrl: app.app.site.publicUrl }))
  }
  for (const [i, article] of ['app-nessun-accesso', 'app-nessun-accesso', 'credenziali-parts-shop'].entries()) {
    await at(new Date(now - (i + 1) * DAY), () => app.app.services.support.recordDeflection({ kind: 'guest' }, { id: randomBytes(12).toString('hex'), locale: 'it', article }))
  }
  // Sign-ins of the market's people: one failed, then one that worked.
  const form = testBrowser(() => app.app)
  await form.post('/it/login', { identifier: orgAdmin.userId, password: 'not-the-password' }, { fromPage: '/it/login' })
  await signInResponse(form, orgAdmin, { locale: 'it' })
  return { it, rossi, admin, orgAdmin, platform, agent, anna, bruno, carla }
})())

async function signedInContext(browser: Browser, baseUrl: string, account: UserRow): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: desktop, locale: 'it-IT', acceptDownloads: true })
  const page = await context.newPage()
  await signInPage(page, baseUrl, account, 'it')
  return { context, page }
}

const desktop = { width: 1280, height: 900 } as const

/** With SHOTS_DIR set, the page is also saved as it looks at the viewport's width, for a person to look at. */
const shotsDir = process.env.SHOTS_DIR
async function shot(page: Page, name: string): Promise<void> {
  if (!shotsDir) return
  await mkdir(shotsDir, { recursive: true })
  await page.screenshot({ path: path.join(shotsDir, `reports-${name}-${String(page.viewportSize()?.width)}.png`), fullPage: true })
}

/**
 * The page loaded at 1280 px, checked at 1280 px and then at 390 px: axe (below 40rem the tables scroll on
 * their own, which axe checks) and no sideways scrolling of the page at both widths. The charts are
 * server-rendered without script, so resizing the loaded page shows what a phone that loaded it would.
 */
async function atBothWidths(page: Page, label: string, name: string): Promise<void> {
  assert.ok(await sidewaysOverflow(page) <= 0, `${label} 1280: no sideways scrolling of the page`)
  await shot(page, name)
  await page.setViewportSize(phone)
  await assertAccessible(page, `${label} 390`)
  assert.ok(await sidewaysOverflow(page) <= 0, `${label} 390: no sideways scrolling of the page`)
  await shot(page, name)
  await page.setViewportSize(desktop)
}

/** What a person would call a leak: a catalogue key, a status code or a placeholder on the page. */
function assertNoCodes(text: string, label: string) {
  assert.doesNotMatch(text, /\b(block_warned|delete_warned|reports\.\w|admin\.\w|lifecycle\.\w|agent\.report\.)|\{\w+\}|…\s*$/m, `${label}: no codes or placeholders`)
}

/** Every chart on the page: a drawing with a text alternative, a table with one row per category, and its CSV. */
async function assertCharts(page: Page, label: string, expected: number) {
  // What a reader finds in each figure, read in one call.
  const figures = await page.locator('figure.chart-figure').evaluateAll((nodes) => nodes.map((figure) => {
    const svg = figure.querySelector('svg.chart[role=img]')
    return {
      drawing: svg ? { labelledBy: svg.getAttribute('aria-labelledby') ?? '', summary: figure.querySelector<HTMLElement>('.chart-summary')?.innerText ?? '' } : undefined,
      rows: figure.querySelectorAll('table tbody tr').length,
      headers: [...figure.querySelectorAll<HTMLElement>('table thead th')].map((th) => th.innerText),
      href: figure.querySelector('a[download]')?.getAttribute('href'),
    }
  }))
  assert.equal(figures.length, expected, `${label}: ${String(expected)} charts`)
  for (const figure of figures) {
    if (figure.drawing) {
      assert.match(figure.drawing.labelledBy, /-title .*-summary$/, `${label}: the drawing is named by its title and summary`)
      assert.match(figure.drawing.summary, /\d/, `${label}: the text alternative gives figures`)
      assert.ok(figure.rows > 0, `${label}: a table beside the chart`)
    }
    const href = figure.href
    assert.ok(href, `${label}: a CSV link`)
    const csv = await page.request.get(new URL(href, page.url()).toString())
    assert.equal(csv.status(), 200, `${label}: ${href}`)
    assert.match(csv.headers()['content-type'] ?? '', /text\/csv/)
    const table: string[][] = parse(await csv.text(), { bom: true })
    if (figure.headers.length > 0) {
      assert.deepEqual(table[0], figure.headers, `${label}: the CSV has the table's columns`)
      assert.equal(table.length - 1, figure.rows, `${label}: and its rows`)
    }
  }
}

test('the market report: every chart with its table and CSV, in it, en and de, at 1280 and 390 px', async () => {
  const { browser, baseUrl } = fixture()
  const { it, admin } = await data()
  const { context, page } = await signedInContext(browser, baseUrl, admin)
  for (const locale of languages) {
    await page.goto(`${baseUrl}/${locale}/admin/markets/${it.code}/report?days=30`)
    await assertAccessible(page, `market report ${locale} 1280`)
    const text = await page.locator('main').innerText()
    assertNoCodes(text, `market report ${locale}`)
    // The charts, their tables and CSV links are the server's HTML, the same at every width: checked once.
    await assertCharts(page, `market report ${locale}`, 5)
    if (locale === 'it') {
      assert.match(text, /Richieste al giorno/)
      assert.match(text, /Fuso orario dei giorni: Ora dell.Europa centrale/, 'the time zone by its name, not its code')
      assert.match(await page.locator('#requests-by-topic table').innerText(), /Applicazioni|App/, 'topics by their names, not their keys')
      assert.match(await page.locator('#requests-avoided table').innerText(), /accesso/i, 'articles by their titles')
    }
    if (locale === 'de') assert.match(text, /Anfragen pro Tag/)
    assert.match(await page.locator('#sign-ins .chart-summary').innerText(), /[:：] 1\D.*[:：] 1\D/, 'one sign-in of the market worked, one failed')
    await atBothWidths(page, `market report ${locale}`, `market-report-${locale}`)
  }
  await page.goto(`${baseUrl}/en/admin/markets/${it.code}/report?days=7`)
  assert.equal(await page.locator('.period-nav a[aria-current=page]').innerText(), 'Last 7 days')
  await context.close()
})

test('the inactivity forecast: figures by company, the people behind one, and "remind them now"', async () => {
  const { browser, baseUrl, app } = fixture()
  const { it, rossi, admin, orgAdmin, anna, bruno, carla } = await data()
  const { context, page } = await signedInContext(browser, baseUrl, admin)
  for (const locale of languages) {
    await page.goto(`${baseUrl}/${locale}/admin/markets/${it.code}/forecast?days=90`)
    await assertAccessible(page, `forecast ${locale} 1280`)
    assertNoCodes(await page.locator('main').innerText(), `forecast ${locale}`)
    await assertCharts(page, `forecast ${locale}`, 1)
    await atBothWidths(page, `forecast ${locale}`, `forecast-${locale}`)
  }

  await page.goto(`${baseUrl}/it/admin/markets/${it.code}/forecast?days=30`)
  const byCompany = await page.locator('section[aria-labelledby=by-company] table').innerText()
  assert.match(byCompany, /Autofficina Rossi S\.r\.l\./)
  assert.match(byCompany, /Carrozzeria Bianchi/)
  // Rossi: Anna warned in 5 days, Bruno blocked in 5 days (30-day period).
  await page.click('a[aria-label*="Bloccati, Autofficina Rossi"]')
  await page.waitForURL(/step=blocked/)
  const people = await page.locator('#people').innerText()
  assert.match(people, /Bruno Neri/)
  assert.doesNotMatch(people, /Anna Weber/, 'Anna is only warned within 30 days')
  await assertAccessible(page, 'forecast people')
  await shot(page, 'forecast-people-it')
  const csv = await page.request.get(new URL(await page.locator('#people a[href*="people.csv"]').getAttribute('href') ?? '', page.url()).toString())
  const rows: string[][] = parse(await csv.text(), { bom: true })
  assert.deepEqual(rows[0], ['Nome', 'ID utente', 'Azienda', 'Stato attuale', 'Ultima attività', 'Previsto il'])
  assert.deepEqual(rows.slice(1).map((r) => r[0]), ['Bruno Neri'])

  await page.click('button:has-text("Invia ora un promemoria via email")')
  await page.waitForURL(/done=reminded/)
  assert.match(await page.locator('[role=status]').innerText(), /Promemoria inviati: 2\. Già ricordati in precedenza: 0\./)
  await assertAccessible(page, 'forecast after the reminder')
  await shot(page, 'forecast-reminded-it')
  const [toAnna] = await mailsTo(app, anna.email ?? '', 'inactivity-reminder')
  assert.ok(toAnna, 'Anna is reminded')
  assert.equal(toAnna.locale, 'de', 'in her language')
  assert.match(String((toAnna.data as { url?: string }).url), /\/de\/login$/, 'a plain link to the sign-in page')
  assert.equal((await mailsTo(app, bruno.email ?? '', 'inactivity-reminder')).length, 1)
  assert.equal((await mailsTo(app, carla.email ?? '', 'inactivity-reminder')).length, 0, 'a blocked account is not told to sign in')
  await page.click('button:has-text("Invia ora un promemoria via email")')
  assert.match(await page.locator('[role=status]').innerText(), /Promemoria inviati: 0\. Già ricordati in precedenza: 2\./, 'nobody twice')
  await context.close()

  // The organization administrator: their company's forecast, not the market's.
  const org = await signedInContext(browser, baseUrl, orgAdmin)
  await org.page.goto(`${baseUrl}/it/admin/companies/${String(rossi.id)}`)
  await org.page.click(`a[href="/it/admin/companies/${String(rossi.id)}/forecast"]`)
  await assertAccessible(org.page, 'company forecast 1280')
  const text = await org.page.locator('main').innerText()
  assert.match(text, /Autofficina Rossi/)
  assert.doesNotMatch(text, /Carrozzeria Bianchi/)
  await atBothWidths(org.page, 'company forecast', 'company-forecast-it')
  const market = await org.page.goto(`${baseUrl}/it/admin/markets/${it.code}/forecast`)
  assert.equal(market?.status(), 403)
  await org.context.close()
})

test('the agent report and the platform report: charts with their tables, in it, en and de, at 1280 and 390 px', async () => {
  const { browser, baseUrl } = fixture()
  const { agent, platform } = await data()
  for (const [who, report, count] of [[agent, '/agent/report', 3], [platform, '/admin/platform/report', 5]] as const) {
    const { context, page } = await signedInContext(browser, baseUrl, who)
    for (const locale of languages) {
      await page.goto(`${baseUrl}/${locale}${report}?days=90`)
      await assertAccessible(page, `${report} ${locale} 1280`)
      assertNoCodes(await page.locator('main').innerText(), `${report} ${locale}`)
      await assertCharts(page, `${report} ${locale}`, count)
      await atBothWidths(page, `${report} ${locale}`, `${report.split('/').filter(Boolean).join('-')}-${locale}`)
    }
    await context.close()
  }
})
