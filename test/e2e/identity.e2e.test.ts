import assert from 'node:assert/strict'
import { test } from 'node:test'
import { systemActor } from '../../src/shared/actor.js'
import { company, TEST_PASSWORD, user, type CompanyRow } from '../factories.js'
import { deskMarket, partnerCompany, workshop } from '../desk-factories.js'
import { useMailbox } from '../mailbox.js'
import { assertAccessible, useBrowser } from './browser.js'

const mailbox = useMailbox()
const fixture = useBrowser({ env: () => ({ SMTP_URL: mailbox().url }) })

/** A workshop in a market of its own whose chosen aftersales partner is Manchester Dealer Ltd. */
async function workshopWithPartner(): Promise<CompanyRow> {
  const { app } = fixture()
  const uk = await deskMarket(app, { timeZone: 'Europe/London', names: { it: 'Regno Unito', en: 'United Kingdom', de: 'Vereinigtes Königreich' } })
  return workshop(app, uk, { name: 'Hartley Motors Ltd', partner: await partnerCompany(app, uk, { name: 'Manchester Dealer Ltd', city: 'Manchester' }) })
}

/** The newest email to an address, once the outbox has sent it. */
async function mailTo(address: string) {
  for (let i = 0; i < 50; i++) {
    await fixture().app.app.mailer.drain()
    const mail = mailbox().to(address).at(-1)
    if (mail) return mail
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no email to ${address}`)
}

function codeIn(text: string | undefined): string {
  const code = /\b(\d{6})\b/.exec(text ?? '')?.[1]
  if (!code) throw new Error('no code in the email')
  return code
}

test('a workshop employee registers, types the emailed code, and sees whom the account waits for', async () => {
  const { browser, baseUrl, app } = fixture()
  const rossi = await workshop(app, await deskMarket(app, { defaultLocale: 'it' }), { name: 'Autofficina Rossi S.r.l.' })
  await user(app, { firstName: 'Giulia', lastName: 'Bianchi', locale: 'it', company: rossi, roles: [{ role: 'org_admin', companyId: rossi.id }] })
  const context = await browser.newContext({ locale: 'it-IT' })
  const page = await context.newPage()
  await page.goto(`${baseUrl}/it/register`)
  await page.fill('#userId', 'pverdi')
  await page.fill('#firstName', 'Paolo')
  await page.fill('#lastName', 'Verdi')
  await page.fill('#email', 'paolo.verdi@autofficina-rossi.example')
  await page.fill('#password', 'granite pepper violin cloud')
  await page.fill('#confirm', 'granite pepper violin cloud')
  await page.check('#kind-existing')
  await page.fill('#companyNumber', rossi.companyNumber)
  await page.click('form.stack-form button[type=submit]')
  await page.waitForSelector('h1:has-text("Controlla la tua email")')
  await assertAccessible(page, 'check your email page')

  const mail = await mailTo('paolo.verdi@autofficina-rossi.example')
  assert.equal(await page.inputValue('#userId'), 'pverdi', 'the user ID is filled in')
  await page.fill('#code', codeIn(mail.text))
  await page.keyboard.press('Enter')
  await page.waitForSelector('h1:has-text("verificato")')
  assert.match(await page.locator('[role=status]').innerText(), /l'amministratore dell'organizzazione della tua azienda approva/)
  await assertAccessible(page, 'verified page')

  await page.click('a.button')
  await page.fill('#identifier', 'pverdi')
  await page.fill('#password', 'granite pepper violin cloud')
  await page.click('form.stack-form button[type=submit]')
  await page.waitForURL(/\/it\/help$/)
  await page.goto(`${baseUrl}/it/account`)
  const waiting = await page.locator('.notice').first().innerText()
  assert.match(waiting, /attende l'approvazione dell'amministratore dell'organizzazione della tua azienda/)
  assert.doesNotMatch(waiting, /Giulia Bianchi/, 'an account nobody approved yet learns no administrator\'s name')
  await assertAccessible(page, 'account page waiting for approval')
  await context.close()
})

test('an invited user opens the emailed link, chooses a password and confirms an email before anything else', async () => {
  const { browser, baseUrl, app } = fixture()
  const hartley = await workshopWithPartner()
  await app.app.services.administration.invite(systemActor('test'), {
    realm: 'partner', userId: 'ewright', firstName: 'Emma', lastName: 'Wright', email: 'emma@hartley-motors.example',
    companyNumber: hartley.companyNumber, locale: 'en', role: 'user',
  }, { publicUrl: app.config.publicUrl })
  const invitation = await mailTo('emma@hartley-motors.example')
  const link = mailbox().linkIn(invitation, `${app.config.publicUrl}/en/invite/`)

  const context = await browser.newContext({ locale: 'en-GB' })
  const page = await context.newPage()
  await page.goto(`${baseUrl}${new URL(link).pathname}`)
  assert.match(await page.locator('.lead').innerText(), /Your user ID is ewright/)
  await assertAccessible(page, 'invitation page')
  await page.fill('#password', 'harbour lemon bicycle frost')
  await page.fill('#confirm', 'harbour lemon bicycle frost')
  await page.keyboard.press('Enter')
  await page.waitForURL(/\/en\/account\/email$/)
  await assertAccessible(page, 'confirm email page')

  await page.goto(`${baseUrl}/en/partners`)
  await page.waitForURL(/\/en\/account\/email$/)
  assert.equal(await page.inputValue('#email'), 'emma@hartley-motors.example')
  await page.click('button:has-text("Send the code")')
  await page.waitForSelector('#code')
  await assertAccessible(page, 'confirm email page with the code field')
  const codeMail = await mailTo('emma@hartley-motors.example')
  await page.fill('#code', codeIn(codeMail.text))
  await page.keyboard.press('Enter')
  await page.waitForURL(/\/en\/account\?done=email$/)
  assert.match(await page.locator('[role=status]').innerText(), /Your email address is confirmed/)
  await page.goto(`${baseUrl}/en/partners`)
  assert.match(await page.locator('.mine').innerText(), /Manchester Dealer Ltd/)
  await context.close()
})

test('a partner forgets the password, follows the emailed link, chooses a new one and signs in', async () => {
  const { browser, baseUrl, app } = fixture()
  const james = await user(app, { firstName: 'James', lastName: 'Hartley', company: await workshopWithPartner() })
  const jamesEmail = james.email ?? ''
  const context = await browser.newContext({ locale: 'en-GB' })
  const page = await context.newPage()

  // The registration, sign-in and forgotten-password pages as a guest who sent nothing yet are the walk's
  // (walk.e2e: every guest page in it, en and de): axe checks them there, once. Here, the states only this journey reaches.
  await page.goto(`${baseUrl}/en/login`)
  await page.fill('#identifier', james.userId)
  await page.fill('#password', 'not-my-password-at-all')
  await page.click('button[type=submit]')
  assert.match(await page.locator('#form-error').innerText(), /User ID or password incorrect/)
  await assertAccessible(page, 'sign-in page with an error')

  await page.click('a[href="/en/password/forgot"]')
  await page.fill('#identifier', jamesEmail)
  await page.keyboard.press('Enter')
  await page.waitForSelector('[role=status]')
  assert.match(await page.locator('[role=status]').innerText(), /If an active account matches/)

  let link = ''
  for (let i = 0; i < 50 && !link; i++) {
    await app.app.mailer.drain()
    const mail = mailbox().to(jamesEmail).at(-1)
    if (mail) link = mailbox().linkIn(mail, `${app.config.publicUrl}/en/password/reset/`)
    else await new Promise((r) => setTimeout(r, 50))
  }
  await page.goto(`${baseUrl}${new URL(link).pathname}`)
  await assertAccessible(page, 'reset page')
  await page.fill('#password', 'copper kettle winter garden')
  await page.fill('#confirm', 'copper kettle winter garden')
  await page.click('button[type=submit]')
  assert.match(await page.locator('[role=status]').innerText(), /Your new password is saved/)
  await assertAccessible(page, 'password changed page')

  await page.click('a.button')
  await page.fill('#identifier', james.userId)
  await page.fill('#password', 'copper kettle winter garden')
  await page.click('button[type=submit]')
  await page.waitForURL(/\/en\/help$/)
  assert.match(await page.locator('header').innerText(), /Signed in as James Hartley/)
  await assertAccessible(page, 'help home signed in')
  await page.click('a[href="/en/account"]')
  assert.match(await page.locator('h1').innerText(), /Identity and access management/)
  await assertAccessible(page, 'account page')
  await page.goto(`${baseUrl}/en/partners`)
  assert.match(await page.locator('.mine').innerText(), /Manchester Dealer Ltd/)
  await assertAccessible(page, 'partners page signed in')

  await page.click('a[href="/en/logout"]')
  await assertAccessible(page, 'sign-out page')
  await page.click('button[type=submit]')
  assert.match(await page.locator('header').innerText(), /Sign in/)
  await context.close()
})

test('ten wrong passwords: the form keeps the same message and the owner is told by email', async () => {
  const { browser, baseUrl, app } = fixture()
  const klaus = await user(app, { firstName: 'Klaus', lastName: 'Becker', locale: 'de', company: await company(app, { market: await deskMarket(app, { timeZone: 'Europe/Berlin' }) }) })
  const context = await browser.newContext({ locale: 'de-DE' })
  const page = await context.newPage()
  for (let i = 0; i < 11; i++) {
    await page.goto(`${baseUrl}/de/login`)
    await page.fill('#identifier', klaus.userId)
    await page.fill('#password', i === 10 ? TEST_PASSWORD : `falsches-passwort-${i}`)
    await page.click('button[type=submit]')
    assert.match(await page.locator('#form-error').innerText(), /Benutzer-ID oder Passwort falsch/)
  }
  await assertAccessible(page, 'sign-in page after lockout')
  await app.app.mailer.drain()
  assert.equal(mailbox().to(klaus.email ?? '').at(-1)?.subject, 'Ihr Konto ist für 15 Minuten vorübergehend gesperrt')
  await context.close()
})
