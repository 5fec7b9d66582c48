import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEMO_PASSWORD } from '../../src/seed/users.js'
import { useMailbox } from '../mailbox.js'
import { assertAccessible, useBrowser } from './browser.js'

const mailbox = useMailbox()
const fixture = useBrowser({ demo: true, env: () => ({ SMTP_URL: mailbox().url }) })

test('a partner forgets the password, follows the emailed link, chooses a new one and signs in', async () => {
  const { browser, baseUrl, app } = fixture()
  const context = await browser.newContext({ locale: 'en-GB' })
  const page = await context.newPage()

  await page.goto(`${baseUrl}/en/register`)
  await assertAccessible(page, 'registration page')
  await page.goto(`${baseUrl}/en/login`)
  await assertAccessible(page, 'sign-in page')
  await page.fill('#identifier', 'jhartley')
  await page.fill('#password', 'not-my-password-at-all')
  await page.click('button[type=submit]')
  assert.match(await page.locator('[role=alert]').innerText(), /User ID or password incorrect/)
  await assertAccessible(page, 'sign-in page with an error')

  await page.click('a[href="/en/password/forgot"]')
  await assertAccessible(page, 'forgot password page')
  await page.fill('#identifier', 'james@hartley-motors.example')
  await page.keyboard.press('Enter')
  await page.waitForSelector('[role=status]')
  assert.match(await page.locator('[role=status]').innerText(), /If an active account matches/)

  let link = ''
  for (let i = 0; i < 50 && !link; i++) {
    await app.app.mailer.drain()
    const mail = mailbox().to('james@hartley-motors.example').at(-1)
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
  await page.fill('#identifier', 'jhartley')
  await page.fill('#password', 'copper kettle winter garden')
  await page.click('button[type=submit]')
  await page.waitForURL(/\/en\/help$/)
  assert.match(await page.locator('header').innerText(), /Signed in as James Hartley/)
  await assertAccessible(page, 'help home signed in')
  await page.click('a[href="/en/account"]')
  assert.match(await page.locator('h1').innerText(), /Identity and access management/)
  await assertAccessible(page, 'account page')
  await page.goto(`${baseUrl}/en/partners`)
  assert.match(await page.locator('.mine').innerText(), /Demo Motors Manchester Ltd/)
  await assertAccessible(page, 'partners page signed in')

  await page.click('a[href="/en/logout"]')
  await assertAccessible(page, 'sign-out page')
  await page.click('button[type=submit]')
  assert.match(await page.locator('header').innerText(), /Sign in/)
  await context.close()
})

test('ten wrong passwords: the form keeps the same message and the owner is told by email', async () => {
  const { browser, baseUrl, app } = fixture()
  const context = await browser.newContext({ locale: 'de-DE' })
  const page = await context.newPage()
  for (let i = 0; i < 11; i++) {
    await page.goto(`${baseUrl}/de/login`)
    await page.fill('#identifier', 'kbecker')
    await page.fill('#password', i === 10 ? DEMO_PASSWORD : `falsches-passwort-${i}`)
    await page.click('button[type=submit]')
    assert.match(await page.locator('[role=alert]').innerText(), /Benutzer-ID oder Passwort falsch/)
  }
  await assertAccessible(page, 'sign-in page after lockout')
  await app.app.mailer.drain()
  assert.equal(mailbox().to('klaus.becker@werkstatt-becker.example').at(-1)?.subject, 'Ihr Konto ist für 15 Minuten pausiert')
  await context.close()
})
