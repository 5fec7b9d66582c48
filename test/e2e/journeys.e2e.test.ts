import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { user, type CompanyRow, type MarketRow } from '../factories.js'
import { agent, deskMarket, helpContent, marketAdmin, partnerCompany, passSignInSteps, signInPage, workshop } from '../desk-factories.js'
import { useMailbox } from '../mailbox.js'
import { assertAccessible, useBrowser } from './browser.js'

const mailbox = useMailbox()
const fixture = useBrowser({ env: () => ({ SMTP_URL: mailbox().url }) })

/**
 * With SHOTS_DIR set, each page looked at is also saved at 1280 and 390 px wide, for a person to look at.
 * `walkChecks`: the walk (walk.e2e) axe-checks this very page, as a guest in this language with nothing sent
 * yet, so here it is only saved for a person; the walk stays the one owner of "every page passes axe".
 */
const shotsDir = process.env.SHOTS_DIR
async function look(page: Page, label: string, { walkChecks = false } = {}): Promise<void> {
  if (!walkChecks) await assertAccessible(page, label)
  if (!shotsDir) return
  await mkdir(shotsDir, { recursive: true })
  const viewport = page.viewportSize() ?? { width: 1280, height: 800 }
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 })
    await page.screenshot({ path: path.join(shotsDir, `${label.replace(/[^\w-]+/g, '_')}-${String(width)}.png`), fullPage: true })
  }
  await page.setViewportSize(viewport)
}

/** The newest email to an address, once the outbox has sent it. */
async function mailTo(address: string, subject?: RegExp) {
  for (let i = 0; i < 100; i++) {
    await fixture().app.app.mailer.drain()
    const mail = mailbox().to(address).filter((m) => !subject || subject.test(m.subject ?? '')).at(-1)
    if (mail) return mail
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no email to ${address}`)
}

let content: Promise<void> | undefined
const withContent = () => (content ??= helpContent(fixture().app, ['account-status', 'company', 'password', 'sign-in', 'registration', 'apps']))

async function italy(): Promise<{ market: MarketRow; dealer: CompanyRow }> {
  const { app } = fixture()
  const market = await deskMarket(app, { defaultLocale: 'it', names: { it: 'Italia', en: 'Italy', de: 'Italien' } })
  const dealer = await partnerCompany(app, market, { name: 'Concessionaria Emilia S.p.A.', city: 'Bologna' })
  return { market, dealer }
}

test('a blocked organization administrator asks for help, gets a reset link after the identity check, signs in and is reminded to choose the partner', async () => {
  const { browser, baseUrl, app } = fixture()
  await withContent()
  const { market, dealer } = await italy()
  const garage = await workshop(app, market, { name: 'Autofficina Verdi S.r.l.', street: 'Via Emilia 12', postalCode: '40133', city: 'Bologna', partner: dealer })
  const luca = await marketAdmin(app, market, { firstName: 'Luca', lastName: 'Ferri', locale: 'it', alsoAgent: true })
  const marta = await user(app, {
    userId: 'marta.verdi', firstName: 'Marta', lastName: 'Verdi', email: 'marta@autofficina-verdi.example', locale: 'it', company: garage, status: 'blocked',
    roles: [{ role: 'org_admin', companyId: garage.id }],
  })

  const context = await browser.newContext({ locale: 'it-IT' })
  const page = await context.newPage()
  await page.goto(`${baseUrl}/it/login`)
  await look(page, 'it-login', { walkChecks: true })
  await page.fill('#identifier', marta.userId)
  await page.fill('#password', 'factory-password-4-tests')
  await page.click('form.stack-form button[type=submit]')
  await page.waitForSelector('h1:has-text("bloccato")')
  await look(page, 'it-blocked')
  await page.click('a.button:has-text("Chiedi aiuto")')
  await page.waitForURL(/\/it\/support\/new\?topic=account-status&login=marta\.verdi$/)
  assert.equal(await page.inputValue('#identity-userId'), 'marta.verdi', 'the user ID typed at sign-in is carried over')
  assert.equal(await page.locator('#name, #identity-firstName, #identity-email').count(), 0, 'name, email and company are asked once')
  await page.fill('#subject', 'Account bloccato')
  await page.fill('#description', 'Non accedo da mesi e il mio account è bloccato: mi serve per le garanzie.')
  await page.fill('#firstName', ' ')
  await page.fill('#lastName', ' ')
  await page.fill('#email', 'marta@autofficina-verdi.example')
  await page.fill('#companyName', 'Autofficina Verdi S.r.l.')
  await page.fill('#companyAddress', 'Via Emilia 12, 40133 Bologna')
  await page.selectOption('#marketCode', market.code)
  await page.click('button:has-text("Invia la richiesta")')
  await page.waitForSelector('[role=alert]')
  assert.match(await page.locator('[role=alert]').innerText(), /Nome/, 'the error names the field in Italian')
  assert.doesNotMatch(await page.locator('[role=alert]').innerText(), /firstName|identity\.|required/)
  assert.equal(await page.getAttribute('#firstName', 'aria-invalid'), 'true', 'and points at it')
  await look(page, 'it-ask-for-help-error')
  assert.equal(await page.inputValue('#email'), 'marta@autofficina-verdi.example', 'what was typed stays')
  await page.fill('#firstName', 'Marta')
  await page.fill('#lastName', 'Verdi')
  await page.click('button:has-text("Invia la richiesta")')
  await page.waitForSelector('[role=status]')
  const reference = /SR-\d{4}-\d{6}/.exec(await page.locator('[role=status]').innerText())?.[0]
  assert.ok(reference, 'the request has a reference')

  const adminContext = await browser.newContext({ locale: 'it-IT' })
  const adminPage = await adminContext.newPage()
  await signInPage(adminPage, baseUrl, luca, 'it')
  assert.match(adminPage.url(), /\/it\/workspace$/, 'staff land on their workspace')
  await look(adminPage, 'it-workspace')
  await adminPage.click('nav.primary a:has-text("Coda")')
  await adminPage.click(`a:has-text("${reference}")`)
  await look(adminPage, 'it-agent-identity-panel')
  await adminPage.click('aside.desk-identity button:has-text("link")')
  await adminPage.waitForSelector('[role=status]')

  const mail = await mailTo('marta@autofficina-verdi.example', /password/i)
  const link = mailbox().linkIn(mail, `${app.config.publicUrl}/it/password/reset/`)
  await page.goto(`${baseUrl}${new URL(link).pathname}`)
  await page.fill('#password', 'tramonto lento sul porto')
  await page.fill('#confirm', 'tramonto lento sul porto')
  await page.click('form.stack-form button[type=submit]')
  await page.click('a.button')
  await page.fill('#identifier', marta.userId)
  await page.fill('#password', 'tramonto lento sul porto')
  await page.click('form.stack-form button[type=submit]')
  await passSignInSteps(page, marta)
  await page.waitForURL(/\/it\/workspace$/)
  assert.match(await page.locator('header').innerText(), /Accesso come Marta Verdi/)
  const reminder = page.locator('section.reminder')
  assert.match(await reminder.innerText(), /verifica che il partner aftersales sia ancora Concessionaria Emilia S\.p\.A\./)
  await look(page, 'it-workspace-org-admin-reminded')
  await page.goto(`${baseUrl}/it/account`)
  assert.equal(await page.locator('section.reminder').count(), 1, 'the account page reminds too')
  await look(page, 'it-account-reminded')
  await page.click('section.reminder a')
  await page.click('button:has-text("Confermo Concessionaria Emilia S.p.A.")')
  await page.waitForSelector('[role=status]')
  assert.equal(await page.locator('section.reminder').count(), 0)
  await page.goto(`${baseUrl}/it/account`)
  assert.equal(await page.locator('section.reminder').count(), 0, 'done: reminded no more')
  await page.goto(`${baseUrl}/it/support/tickets`)
  assert.match(await page.locator('main').innerText(), /Non hai ancora inviato richieste/, 'a request sent signed out is followed by its emailed link')
  await look(page, 'it-my-requests-empty')
  await context.close()
  await adminContext.close()
})

test('a new workshop registers, the market administrator approves it, and its founder, now organization administrator, chooses the partner', async () => {
  const { browser, baseUrl, app } = fixture()
  await withContent()
  const germany = await deskMarket(app, { defaultLocale: 'de', timeZone: 'Europe/Berlin', names: { it: 'Germania', en: 'Germany', de: 'Deutschland' } })
  await partnerCompany(app, germany, { name: 'Autohaus Nord GmbH', city: 'Hamburg' })
  const admin = await marketAdmin(app, germany, { firstName: 'Petra', lastName: 'Lang', locale: 'de' })

  const context = await browser.newContext({ locale: 'de-DE' })
  const page = await context.newPage()
  await page.goto(`${baseUrl}/de/login`)
  await look(page, 'de-login', { walkChecks: true })
  await page.click('a:has-text("Als Partner registrieren")')
  await page.fill('#userId', 'nina.neu')
  await page.fill('#firstName', 'Nina')
  await page.fill('#lastName', 'Neu')
  await page.fill('#email', 'nina@werkstatt-neu.example')
  await page.fill('#password', 'nordwind über der elbe')
  await page.fill('#confirm', 'nordwind über der elbe')
  await page.check('#kind-new')
  await page.fill('#companyName', 'Werkstatt Neu')
  await page.fill('#street', 'Hafenstraße 3')
  await page.fill('#postalCode', '20457')
  await page.fill('#city', 'Hamburg')
  await page.selectOption('#market', germany.code)
  await look(page, 'de-register-new-workshop')
  await page.click('form.stack-form button[type=submit]')
  await page.waitForSelector('#code')
  const code = /\b(\d{6})\b/.exec((await mailTo('nina@werkstatt-neu.example')).text ?? '')?.[1] ?? ''
  await page.fill('#code', code)
  await page.keyboard.press('Enter')
  await page.waitForSelector('[role=status]')

  const adminContext = await browser.newContext({ locale: 'de-DE' })
  const adminPage = await adminContext.newPage()
  await signInPage(adminPage, baseUrl, admin, 'de')
  assert.match(await adminPage.locator('main').innerText(), /1 neue Werkstatt wartet auf Freigabe/)
  await adminPage.click('a:has-text("1 neue Werkstatt wartet auf Freigabe")')
  await adminPage.click('a:has-text("Werkstatt Neu")')
  await look(adminPage, 'de-company-pending')
  await adminPage.click('button:has-text("Werkstatt freigeben")')
  await adminPage.waitForSelector('[role=status]')

  await page.goto(`${baseUrl}/de/login`)
  await page.fill('#identifier', 'nina.neu')
  await page.fill('#password', 'nordwind über der elbe')
  await page.click('form.stack-form button[type=submit]')
  // A new organization administrator is asked for a second factor, and may do it later.
  await passSignInSteps(page, { realm: 'partner', userId: 'nina.neu' })
  await page.waitForURL(/\/de\/workspace$/)
  assert.match(await page.locator('header').innerText(), /Administration/, 'the founder administers the workshop now')
  assert.match(await page.locator('section.reminder').innerText(), /Werkstatt Neu hat noch keinen Aftersales-Partner/)
  await page.click('section.reminder a')
  await page.fill('#partnerQ', 'hamburg')
  await page.keyboard.press('Enter')
  await page.waitForURL(/partnerQ=hamburg/)
  await look(page, 'de-company-choose-partner')
  await page.check('label:has-text("Autohaus Nord GmbH")')
  await page.click('button:has-text("Partner speichern"), form[action$="/partner"] button[type=submit]')
  await page.waitForSelector('[role=status]')
  assert.match(await page.locator('main').innerText(), /Autohaus Nord GmbH/)
  await page.goto(`${baseUrl}/de/workspace`)
  assert.equal(await page.locator('section.reminder').count(), 0, 'chosen: reminded no more')
  await context.close()
  await adminContext.close()
})

test('the changed pages in every language: sign-in, help, ask for help, partners, workspace, my requests, account', async () => {
  const { browser, baseUrl, app } = fixture()
  await withContent()
  const uk = await deskMarket(app, { timeZone: 'Europe/London', names: { it: 'Regno Unito', en: 'United Kingdom', de: 'Vereinigtes Königreich' } })
  const garage = await workshop(app, uk, { name: 'Hartley Motors Ltd' })
  const owner = await user(app, { firstName: 'James', lastName: 'Hartley', locale: 'en', company: garage, roles: [{ role: 'org_admin', companyId: garage.id }] })
  const deskAgent = await agent(app, uk, { firstName: 'Ann', lastName: 'Lee' })
  const context = await browser.newContext({ locale: 'en-GB', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36' })
  const page = await context.newPage()
  // The two sign-in pages are the walk's guest pages exactly (no data on them): the walk checks them in
  // every language, axe included, so they are only looked at here when a person wants their screenshots.
  const walkChecks = ['login', 'shop/login']
  for (const locale of ['it', 'en', 'de']) {
    for (const path of [...(shotsDir ? walkChecks : []), 'help', 'support/new', `partners?market=${uk.code}`]) {
      await page.goto(`${baseUrl}/${locale}/${path}`)
      assert.match(await page.locator('h1').innerText(), /\S/, path)
      await look(page, `${locale}-${path.replace(/\?.*/, '')}`, { walkChecks: walkChecks.includes(path) })
    }
  }
  await signInPage(page, baseUrl, owner, 'en')
  assert.match(page.url(), /\/en\/workspace$/)
  await look(page, 'en-workspace-org-admin')
  await page.goto(`${baseUrl}/en/account`)
  assert.match(await page.locator('section[aria-labelledby=sessions-title]').innerText(), /Chrome on Windows/)
  await look(page, 'en-account')
  await page.goto(`${baseUrl}/en/support/tickets`)
  await look(page, 'en-my-requests')
  await page.goto(`${baseUrl}/en/support/new`)
  await look(page, 'en-ask-for-help-signed-in')
  const agentContext = await browser.newContext({ locale: 'en-GB' })
  const agentPage = await agentContext.newPage()
  await signInPage(agentPage, baseUrl, deskAgent, 'en')
  assert.match(await agentPage.locator('nav.primary').innerText(), /Queue/)
  await look(agentPage, 'en-workspace-agent')
  await context.close()
  await agentContext.close()
})
