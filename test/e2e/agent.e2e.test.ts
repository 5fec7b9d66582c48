import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { systemActor } from '../../src/shared/actor.js'
import { user, type MarketRow, type UserRow } from '../factories.js'
import { agent as deskAgent, deskMarket, helpContent, marketAdmin, signInPage, ticket, workshop } from '../desk-factories.js'
import { useMailbox } from '../mailbox.js'
import { assertAccessible, useBrowser } from './browser.js'

const mailbox = useMailbox()
const fixture = useBrowser({ env: () => ({ SMTP_URL: mailbox().url }) })

/** The help content, a market with its agent and its administrator (also an agent), and a workshop user. */
let made: Promise<{ it: MarketRow; agentIt: UserRow; adminIt: UserRow; mario: UserRow }> | undefined
const people = () => (made ??= (async () => {
  const { app } = fixture()
  await helpContent(app)
  const it = await deskMarket(app, { defaultLocale: 'it', names: { it: 'Italia', en: 'Italy', de: 'Italien' } })
  const rossi = await workshop(app, it, { name: 'Autofficina Rossi S.r.l.', street: 'Via Emilia 120', postalCode: '40133', city: 'Bologna' })
  return {
    it,
    agentIt: await deskAgent(app, it, { firstName: 'Chiara', lastName: 'Conti', locale: 'it' }),
    adminIt: await marketAdmin(app, it, { firstName: 'Luca', lastName: 'Ferri', locale: 'it', alsoAgent: true }),
    mario: await user(app, { firstName: 'Mario', lastName: 'Rossi', locale: 'it', company: rossi }),
  }
})())
const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n')
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64')

async function fillGuestForm(page: Page, subject: string, email: string, marketCode: string) {
  await page.fill('#subject', subject)
  await page.fill('#description', 'Since this morning every page of the Service Manual is empty; I expected the wiring diagrams of the Aria.')
  await page.fill('#firstName', 'Nora')
  await page.fill('#lastName', 'Guest')
  await page.fill('#email', email)
  await page.fill('#companyName', 'Nora Garage')
  await page.fill('#companyAddress', 'Via Roma 1, 40100 Bologna')
  await page.selectOption('#marketCode', marketCode)
}

test('without script the form still sends a request with a screenshot, and the agent answers it in the console', async () => {
  const { browser, baseUrl, app } = fixture()
  const { it, agentIt } = await people()
  const noScript = await browser.newContext({ locale: 'en-GB', javaScriptEnabled: false })
  const guest = await noScript.newPage()
  await guest.goto(`${baseUrl}/en/support/new?topic=apps`)
  await fillGuestForm(guest, 'Manual pages empty', 'nora@guest-garage.example', it.code)
  await guest.setInputFiles('#attachments', { name: 'screen.png', mimeType: 'image/png', buffer: png })
  await guest.click('button:has-text("Send the request")')
  await guest.waitForSelector('h1:has-text("We have received your request")')
  const reference = /SR-\d{4}-\d{6}/.exec(await guest.locator('[role=status]').innerText())?.[0] ?? ''
  assert.ok(reference)
  await noScript.close()

  const context = await browser.newContext({ locale: 'it-IT' })
  const page = await context.newPage()
  await signInPage(page, baseUrl, agentIt, 'it')
  await page.goto(`${baseUrl}/it/account`)
  await page.click('main a[href="/it/agent/tickets"]')
  await assertAccessible(page, 'agent queue')
  await page.click(`a:has-text("${reference}")`)
  await assertAccessible(page, 'agent ticket page')
  assert.match(await page.locator('.attachments').innerText(), /screen\.png/)
  await page.click('button:has-text("Assegna a me")')
  await page.fill('#note', 'Check the viewer version first.')
  await page.click('button:has-text("Aggiungi la nota")')
  assert.match(await page.locator('[role=status]').innerText(), /Nota aggiunta/)
  await page.fill('#reply', 'Please update the viewer and try again.')
  await page.setInputFiles('#reply-attachments', { name: 'viewer-guide.pdf', mimeType: 'application/pdf', buffer: pdf })
  await page.click('button:has-text("Invia la risposta")')
  assert.match(await page.locator('[role=status]').innerText(), /Risposta inviata/)
  await assertAccessible(page, 'agent ticket page after an answer')
  await page.goto(`${baseUrl}/it/agent/tickets?state=all&breach=1`)
  await assertAccessible(page, 'filtered agent queue')
  await page.goto(`${baseUrl}/it/agent/report`)
  await assertAccessible(page, 'support report')

  await app.app.mailer.drain()
  const answer = mailbox().to('nora@guest-garage.example').at(-1)
  assert.match(answer?.text ?? '', /update the viewer/)
  assert.doesNotMatch(answer?.text ?? '', /viewer version/, 'the note stays internal')
  await context.close()

  // The requester follows the emailed answer's link: the reply and the screenshot, not the note.
  const requester = await browser.newContext({ locale: 'en-GB' })
  const own = await requester.newPage()
  await own.goto(`${baseUrl}${new URL(mailbox().linkIn(answer, `${app.config.publicUrl}/en/support/tickets/`)).pathname}`)
  assert.match(await own.locator('.messages').innerText(), /update the viewer/)
  assert.doesNotMatch(await own.locator('main').innerText(), /viewer version/)
  const files = await own.locator('.messages .attachments').allInnerTexts()
  assert.match(files[0] ?? '', /screen\.png/, 'the first request\'s screenshot, under it')
  assert.match(files[1] ?? '', /viewer-guide\.pdf/, 'the agent\'s file, under the answer')
  await assertAccessible(own, 'requester ticket page with an answer and an attachment')
  // The requester answers with a file of their own, in the same form.
  await own.fill('#message', 'Updated, here is what I see now.')
  await own.setInputFiles('#reply-attachments', { name: 'after-update.png', mimeType: 'image/png', buffer: png })
  await own.click('button:has-text("Send")')
  await own.waitForSelector('[role=status]')
  assert.match(await own.locator('.messages li').last().innerText(), /after-update\.png/)
  await assertAccessible(own, 'requester ticket page after an answer with a file')
  await requester.close()
})

test('while the subject is typed, matching articles appear; opening one and leaving counts as a deflection', async () => {
  const { browser, baseUrl, app } = fixture()
  await people()
  const context = await browser.newContext({ locale: 'en-GB' })
  const page = await context.newPage()
  await page.goto(`${baseUrl}/en/support/new`)
  await page.fill('#subject', 'forgot my password')
  await page.waitForSelector('#deflect:not([hidden]) a')
  await assertAccessible(page, 'ask for help form with suggestions')
  const first = page.locator('#deflect a').first()
  const slug = await first.getAttribute('data-slug')
  await Promise.all([page.waitForURL(/\/en\/help\/articles\//), first.click()])
  await page.waitForTimeout(300)
  await context.close()
  let report = await app.app.services.desk.report(systemActor('test'))
  for (let i = 0; i < 20 && !report.deflections.some((d) => d.articleSlug === slug); i++) {
    await new Promise((r) => setTimeout(r, 100))
    report = await app.app.services.desk.report(systemActor('test'))
  }
  assert.deepEqual(report.deflections.find((d) => d.articleSlug === slug), { locale: 'en', articleSlug: slug, opened: 1, deflected: 1 })
})

test('beside a sign-in request a market administrator sees which details match the account before the click', async () => {
  const { browser, baseUrl, app } = fixture()
  const { it, adminIt, mario } = await people()
  const email = mario.email ?? ''
  const created = await ticket(app, it, {
    topic: 'sign-in', subject: 'Account locked', description: 'I cannot sign in since this morning, the page says my account is locked.',
    name: 'Mario Rossi', email, companyName: 'Autofficina Rossi', companyAddress: 'Via Emilia 120, 40133 Bologna',
    identity: { userId: mario.userId, firstName: 'Mario', lastName: 'Bianchi', email, companyName: 'Autofficina Rossi S.r.l.', companyAddress: 'Via Emilia 120, 40133 Bologna' },
  })
  const context = await browser.newContext({ locale: 'en-GB' })
  const page = await context.newPage()
  await signInPage(page, baseUrl, adminIt, 'en')
  await page.goto(`${baseUrl}/en/agent/tickets/${created.ticket.reference}`)
  const differing = page.locator('.identity-compare tr.differs')
  assert.equal(await differing.count(), 1)
  assert.match(await differing.innerText(), /Last name\s+Bianchi\s+Rossi\s+✗ differs/)
  assert.match(await page.locator('#identity-preview').innerText(), /the check will fail and nothing will change\. Differs: Last name\./)
  await assertAccessible(page, 'agent ticket page with the identity comparison')
  await context.close()
})
