import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { parse } from 'csv-parse/sync'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { withClock } from '../../src/shared/clock.js'
import { actorOf, company, mailsTo, setAccount, signInResponse, user, type CompanyRow, type MarketRow, type UserRow } from '../factories.js'
import { agent as deskAgent, deskMarket, helpContent, marketAdmin, platformAdmin, signInPage, ticket } from '../desk-factories.js'
import { testBrowser } from '../helpers.js'
import { assertAccessible, useBrowser } from './browser.js'

const fixture = useBrowser()
const shots = '/tmp/shots-reports'
mkdirSync(shots, { recursive: true })
const DAY = 86_400_000
const widths = [1280, 390] as const
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

async function signedInContext(browser: Browser, baseUrl: string, account: UserRow, width: number): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height: width < 600 ? 844 : 900 }, locale: 'it-IT', acceptDownloads: true })
  const page = await context.newPage()
  await signInPage(page, baseUrl, account, 'it')
  return { context, page }
}

/** What a person would call a leak: a catalogue key, a status code or a placeholder on the page. */
function assertNoCodes(text: string, label: string) {
  assert.doesNotMatch(text, /\b(block_warned|delete_warned|reports\.\w|admin\.\w|lifecycle\.\w|agent\.report\.)|\{\w+\}|…\s*$/m, `${label}: no codes or placeholders`)
}

/** Every chart on the page: a drawing with a text alternative, a table with one row per category, and its CSV. */
async function assertCharts(page: Page, label: string, expected: number) {
  const figures = page.locator('figure.chart-figure')
  assert.equal(await figures.count(), expected, `${label}: ${String(expected)} charts`)
  for (let i = 0; i < expected; i++) {
    const figure = figures.nth(i)
    const svg = figure.locator('svg.chart[role=img]')
    if (await svg.count() > 0) {
      const labelledBy = (await svg.getAttribute('aria-labelledby')) ?? ''
      assert.match(labelledBy, /-title .*-summary$/, `${label}: the drawing is named by its title and summary`)
      const summary = await figure.locator('.chart-summary').innerText()
      assert.match(summary, /\d/, `${label}: the text alternative gives figures`)
      const rows = await figure.locator('table tbody tr').count()
      assert.ok(rows > 0, `${label}: a table beside the chart`)
    }
    const href = await figure.locator('a[download]').getAttribute('href')
    assert.ok(href, `${label}: a CSV link`)
    const csv = await page.request.get(new URL(href, page.url()).toString())
    assert.equal(csv.status(), 200, `${label}: ${href}`)
    assert.match(csv.headers()['content-type'] ?? '', /text\/csv/)
    const table: string[][] = parse(await csv.text(), { bom: true })
    const headers = await figure.locator('table thead th').allInnerTexts()
    if (headers.length > 0) {
      assert.deepEqual(table[0], headers, `${label}: the CSV has the table's columns`)
      assert.equal(table.length - 1, await figure.locator('table tbody tr').count(), `${label}: and its rows`)
    }
  }
}

test('the market report: every chart with its table and CSV, in it, en and de, at 1280 and 390 px', async () => {
  const { browser, baseUrl } = fixture()
  const { it, admin } = await data()
  for (const width of widths) {
    const { context, page } = await signedInContext(browser, baseUrl, admin, width)
    for (const locale of languages) {
      await page.goto(`${baseUrl}/${locale}/admin/markets/${it.code}/report?days=30`)
      await assertAccessible(page, `market report ${locale} ${String(width)}`)
      const text = await page.locator('main').innerText()
      assertNoCodes(text, `market report ${locale}`)
      await assertCharts(page, `market report ${locale} ${String(width)}`, 5)
      if (locale === 'it') {
        assert.match(text, /Richieste al giorno/)
        assert.match(text, /Fuso orario dei giorni: Ora dell.Europa centrale/, 'the time zone by its name, not its code')
        assert.match(await page.locator('#requests-by-topic table').innerText(), /Applicazioni|App/, 'topics by their names, not their keys')
        assert.match(await page.locator('#requests-avoided table').innerText(), /accesso/i, 'articles by their titles')
      }
      if (locale === 'de') assert.match(text, /Anfragen pro Tag/)
      assert.match(await page.locator('#sign-ins .chart-summary').innerText(), /[:：] 1\D.*[:：] 1\D/, 'one sign-in of the market worked, one failed')
      const scrolls = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)
      assert.ok(scrolls, `market report ${locale} ${String(width)}: no sideways scrolling of the page`)
      await page.screenshot({ path: `${shots}/market-report-${locale}-${String(width)}.png`, fullPage: true })
    }
    await page.goto(`${baseUrl}/en/admin/markets/${it.code}/report?days=7`)
    assert.equal(await page.locator('.period-nav a[aria-current=page]').innerText(), 'Last 7 days')
    await context.close()
  }
})

test('the inactivity forecast: figures by company, the people behind one, and "remind them now"', async () => {
  const { browser, baseUrl, app } = fixture()
  const { it, rossi, admin, orgAdmin, anna, bruno, carla } = await data()
  for (const width of widths) {
    const { context, page } = await signedInContext(browser, baseUrl, admin, width)
    for (const locale of languages) {
      await page.goto(`${baseUrl}/${locale}/admin/markets/${it.code}/forecast?days=90`)
      await assertAccessible(page, `forecast ${locale} ${String(width)}`)
      assertNoCodes(await page.locator('main').innerText(), `forecast ${locale}`)
      await assertCharts(page, `forecast ${locale} ${String(width)}`, 1)
      await page.screenshot({ path: `${shots}/forecast-${locale}-${String(width)}.png`, fullPage: true })
    }
    await context.close()
  }

  const { context, page } = await signedInContext(browser, baseUrl, admin, 1280)
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
  await page.screenshot({ path: `${shots}/forecast-people-it-1280.png`, fullPage: true })
  const csv = await page.request.get(new URL(await page.locator('#people a[href*="people.csv"]').getAttribute('href') ?? '', page.url()).toString())
  const rows: string[][] = parse(await csv.text(), { bom: true })
  assert.deepEqual(rows[0], ['Nome', 'ID utente', 'Azienda', 'Stato attuale', 'Ultima attività', 'Previsto il'])
  assert.deepEqual(rows.slice(1).map((r) => r[0]), ['Bruno Neri'])

  await page.click('button:has-text("Invia ora un promemoria via email")')
  await page.waitForURL(/done=reminded/)
  assert.match(await page.locator('[role=status]').innerText(), /Promemoria inviati: 2\. Già ricordati in precedenza: 0\./)
  await assertAccessible(page, 'forecast after the reminder')
  await page.screenshot({ path: `${shots}/forecast-reminded-it-1280.png`, fullPage: true })
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
  for (const width of widths) {
    const org = await signedInContext(browser, baseUrl, orgAdmin, width)
    await org.page.goto(`${baseUrl}/it/admin/companies/${String(rossi.id)}`)
    await org.page.click(`a[href="/it/admin/companies/${String(rossi.id)}/forecast"]`)
    await assertAccessible(org.page, 'company forecast')
    const text = await org.page.locator('main').innerText()
    assert.match(text, /Autofficina Rossi/)
    assert.doesNotMatch(text, /Carrozzeria Bianchi/)
    await org.page.screenshot({ path: `${shots}/company-forecast-it-${String(width)}.png`, fullPage: true })
    const market = await org.page.goto(`${baseUrl}/it/admin/markets/${it.code}/forecast`)
    assert.equal(market?.status(), 403)
    await org.context.close()
  }
})

test('the agent report and the platform report: charts with their tables, in it, en and de, at 1280 and 390 px', async () => {
  const { browser, baseUrl } = fixture()
  const { agent, platform } = await data()
  for (const [who, path, count] of [[agent, '/agent/report', 3], [platform, '/admin/platform/report', 5]] as const) {
    for (const width of widths) {
      const { context, page } = await signedInContext(browser, baseUrl, who, width)
      for (const locale of languages) {
        await page.goto(`${baseUrl}/${locale}${path}?days=90`)
        await assertAccessible(page, `${path} ${locale} ${String(width)}`)
        assertNoCodes(await page.locator('main').innerText(), `${path} ${locale}`)
        await assertCharts(page, `${path} ${locale} ${String(width)}`, count)
        await page.screenshot({ path: `${shots}/${path.split('/').filter(Boolean).join('-')}-${locale}-${String(width)}.png`, fullPage: true })
      }
      await context.close()
    }
  }
})
