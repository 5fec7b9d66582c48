import assert from 'node:assert/strict'
import { test } from 'node:test'
import { systemActor } from '../../src/shared/actor.js'
import { useMailbox } from '../mailbox.js'
import { deskMarket, helpContent } from '../desk-factories.js'
import { assertAccessible, useBrowser } from './browser.js'

const mailbox = useMailbox()
const fixture = useBrowser({ env: () => ({ SMTP_URL: mailbox().url }) })

test('a guest asks for help and follows the ticket from the emailed link', async () => {
  const { browser, baseUrl, app } = fixture()
  await helpContent(app, ['password'])
  const uk = await deskMarket(app, { names: { it: 'Regno Unito', en: 'United Kingdom', de: 'Vereinigtes Königreich' }, timeZone: 'Europe/London' })
  const context = await browser.newContext({ locale: 'en-GB' })
  const page = await context.newPage()
  await page.goto(`${baseUrl}/en/support/new?topic=password`)
  await assertAccessible(page, 'ask for help form')
  await page.fill('#subject', 'Reset link never arrives')
  await page.fill('#description', 'I asked for a reset link twice this morning and no email arrived, not even in spam.')
  assert.equal(await page.locator('#name, #identity-firstName, #identity-email').count(), 0, 'a guest gives name, email and company once')
  await page.fill('#identity-userId', 'tguest')
  await page.fill('#firstName', 'Tom')
  await page.fill('#lastName', 'Guest')
  await page.fill('#email', 'tom@guest-garage.example')
  await page.fill('#companyName', 'Guest Garage Ltd')
  await page.fill('#companyAddress', '1 High Street, M2 3CD Manchester')
  await page.selectOption('#marketCode', uk.code)
  await page.click('button:has-text("Send the request")')
  await page.waitForSelector('h1:has-text("We have received your request")')
  const reference = /SR-\d{4}-\d{6}/.exec(await page.locator('[role=status]').innerText())?.[0]
  assert.ok(reference)
  assert.equal((await app.app.services.desk.ticket(systemActor('test'), reference)).market?.code, uk.code, 'routed to the market chosen in the form')
  await assertAccessible(page, 'request received page')

  await app.app.mailer.drain()
  const link = mailbox().linkIn(mailbox().to('tom@guest-garage.example').at(-1), `${app.config.publicUrl}/en/support/tickets/`)
  await page.goto(`${baseUrl}${new URL(link).pathname}`)
  assert.match(await page.locator('h1').innerText(), /Reset link never arrives/)
  await assertAccessible(page, 'ticket page')
  await page.fill('#message', 'Still nothing this afternoon.')
  await page.click('button:has-text("Send")')
  assert.match(await page.locator('[role=status]').innerText(), /Your answer is added/)
  await context.close()
})
