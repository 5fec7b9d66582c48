import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TEST_PASSWORD, user } from '../factories.js'
import { deskMarket, marketAdmin, partnerCompany, platformAdmin, signInPage, workshop } from '../desk-factories.js'
import { assertAccessible, useBrowser } from './browser.js'

const fixture = useBrowser()

test('a market administrator checks a blocked user\'s identity, restores access, and the user signs in again', async () => {
  const { browser, baseUrl, app } = fixture()
  const it = await deskMarket(app, { defaultLocale: 'it', names: { it: 'Italia', en: 'Italy', de: 'Italien' } })
  const company = await workshop(app, it, { name: 'Autofficina Rossi S.r.l.', street: 'Via Emilia 120', postalCode: '40133', city: 'Bologna' })
  await partnerCompany(app, it, { name: 'Concessionaria Bologna S.p.A.', city: 'Bologna' })
  const admin = await marketAdmin(app, it, { firstName: 'Luca', lastName: 'Ferri', locale: 'it' })
  const sara = await user(app, { userId: 'sara.ferma', firstName: 'Sara', lastName: 'Ferma', email: 'sara@autofficina-rossi.example', locale: 'it', company, status: 'blocked' })

  const userContext = await browser.newContext({ locale: 'it-IT' })
  const userPage = await userContext.newPage()
  await userPage.goto(`${baseUrl}/it/login`)
  await userPage.fill('#identifier', sara.userId)
  await userPage.fill('#password', TEST_PASSWORD)
  await userPage.click('form.stack-form button[type=submit]')
  assert.match(await userPage.locator('[role=alert]:visible').innerText(), /il tuo account è bloccato|account è bloccato/i)

  const context = await browser.newContext({ locale: 'it-IT' })
  const page = await context.newPage()
  await signInPage(page, baseUrl, admin, 'it')
  await page.goto(`${baseUrl}/it/account`)
  await page.click('main a[href="/it/admin"]')
  await assertAccessible(page, 'administration home')
  await page.click('nav.console-nav a[href="/it/admin/users"]')
  await page.fill('#q', 'ferma')
  await page.keyboard.press('Enter')
  await page.waitForURL(/q=ferma/)
  await assertAccessible(page, 'user search')
  await page.click('text=sara.ferma')
  await assertAccessible(page, 'user record')
  assert.ok(await page.locator('button:has-text("Ripristina l\'accesso")').isDisabled(), 'restoring waits for the identity check')

  await page.fill('#claim-userId', 'sara.ferma')
  await page.fill('#claim-firstName', 'Sara')
  await page.fill('#claim-lastName', 'Ferma')
  await page.fill('#claim-email', 'sara@autofficina-rossi.example')
  await page.fill('#claim-companyName', 'Autofficina Rossi S.r.l.')
  await page.fill('#claim-companyAddress', 'Via Emilia 120, 40133 Bologna')
  await page.click('button:has-text("Confronta con la scheda")')
  assert.match(await page.locator('section[aria-labelledby=identity] [role=status]').innerText(), /Identità confermata/)
  await assertAccessible(page, 'user record after the identity check')
  await page.click('button:has-text("Ripristina l\'accesso")')
  assert.match(await page.locator('[role=status]').first().innerText(), /Accesso ripristinato/)

  for (const path of ['/it/admin/companies', '/it/admin/audit', `/it/admin/markets/${it.code}/report`, `/it/admin/markets/${it.code}/import`]) {
    await page.goto(`${baseUrl}${path}`)
    await assertAccessible(page, path)
  }
  await page.goto(`${baseUrl}/it/admin/companies/${String(company.id)}?partnerQ=bologna`)
  assert.match(await page.locator('main').innerText(), /Concessionaria Bologna S\.p\.A\./, 'the partner of the market is offered')
  await assertAccessible(page, 'company page with partner choices')

  await signInPage(userPage, baseUrl, sara, 'it')
  assert.match(await userPage.locator('header').innerText(), /Accesso come Sara Ferma/)
  await userContext.close()
  await context.close()
})

test('the platform console is keyboard and axe clean', async () => {
  const { browser, baseUrl, app } = fixture()
  const germany = await deskMarket(app, { timeZone: 'Europe/Berlin' })
  const platform = await platformAdmin(app)
  const context = await browser.newContext({ locale: 'en-GB' })
  const page = await context.newPage()
  await signInPage(page, baseUrl, platform, 'it')
  await page.goto(`${baseUrl}/en/admin/platform`)
  await assertAccessible(page, 'platform console')
  await page.focus('#shop-blockDays')
  await page.keyboard.press('Control+A')
  await page.keyboard.type('100')
  await page.keyboard.press('Enter')
  await page.waitForSelector('[role=alert]')
  assert.match(await page.locator('[role=alert]').innerText(), /Each step must come after the previous one/)
  await assertAccessible(page, 'platform console with an error')

  // Service levels of a market, by keyboard: a rule broken is said, then a good figure is saved.
  await page.focus(`#${germany.code}-urgentResolution`)
  await page.keyboard.press('Control+A')
  await page.keyboard.type('100')
  await page.keyboard.press('Enter')
  await page.waitForSelector('[role=alert]')
  assert.match(await page.locator('[role=alert]').innerText(), /Urgent requests cannot be given more time than normal ones/)
  await page.focus(`#${germany.code}-urgentResolution`)
  await page.keyboard.press('Control+A')
  await page.keyboard.type('12')
  await page.keyboard.press('Enter')
  await page.waitForSelector('[role=status]')
  assert.match(await page.locator('[role=status]').innerText(), /service levels and support hours are saved/)
  assert.equal(await page.inputValue(`#${germany.code}-urgentResolution`), '12')
  await assertAccessible(page, 'platform console with service levels saved')
  await context.close()
})
