import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { TEST_PASSWORD, user } from '../factories.js'
import { buildTestApp, type TestApp } from '../helpers.js'
import { assertAccessible, launchChromium, serveAxe } from './browser.js'

/**
 * Passkeys in Chromium with its virtual authenticator (DevTools protocol WebAuthn domain: CTAP2,
 * discoverable credentials, user verification). WebAuthn needs a host name as RP ID, so this file's
 * app answers at http://localhost:<port> and PUBLIC_URL says so.
 */
let app: TestApp
let browser: Browser
let baseUrl = ''
const cleanups: (() => unknown)[] = []

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (!address || typeof address === 'string') throw new Error('no port')
  return address.port
}

before(async () => {
  const port = await freePort()
  baseUrl = `http://localhost:${String(port)}`
  app = await buildTestApp({ after: (fn: () => Promise<void> | void) => { cleanups.push(fn) } }, { env: { PUBLIC_URL: baseUrl } })
  serveAxe(app.app.server)
  await app.app.listen({ port, host: '127.0.0.1' })
  browser = await launchChromium(['--host-resolver-rules=MAP localhost 127.0.0.1'])
  cleanups.push(() => browser.close())
})
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** A page with a platform authenticator that holds discoverable passkeys and verifies its user. */
async function pageWithAuthenticator(locale = 'en-GB'): Promise<{ page: Page; credentials: () => Promise<unknown[]> }> {
  const context = await browser.newContext({ locale })
  cleanups.push(() => context.close())
  const page = await context.newPage()
  page.setDefaultTimeout(60_000)
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  })
  return { page, credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials }
}

/** With SHOTS_DIR set, the page is also saved at 1280 and 390 px wide; axe runs at both widths. */
async function look(page: Page, label: string): Promise<void> {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 })
    await assertAccessible(page, `${label} at ${String(width)} px`)
    const shotsDir = process.env.SHOTS_DIR
    if (shotsDir) {
      await mkdir(shotsDir, { recursive: true })
      await page.screenshot({ path: path.join(shotsDir, `${label.replace(/[^\w-]+/g, '_')}-${String(width)}.png`), fullPage: true })
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 })
}

async function signInWithPassword(page: Page, userId: string): Promise<void> {
  await page.goto(`${baseUrl}/en/login`)
  await page.fill('#identifier', userId)
  await page.fill('#password', TEST_PASSWORD)
  await page.click('form[action="/en/login"] button[type=submit]')
}

test('a person adds a passkey, confirms sign-ins with it, signs in with it alone, and removes it', async () => {
  const giulia = await user(app, { firstName: 'Giulia', lastName: 'Neri' })
  const { page, credentials } = await pageWithAuthenticator()

  await signInWithPassword(page, giulia.userId)
  await page.waitForURL(/\/en\/help$/)
  await page.goto(`${baseUrl}/en/account/second-factor`)
  await page.click('button:has-text("Add a passkey")')
  await page.waitForSelector('h1:has-text("Add a passkey")')
  await assertAccessible(page, 'add a passkey')
  await page.fill('#passkey-name', 'Work laptop')
  await page.click('button:has-text("Create the passkey")')
  await page.waitForSelector('h1:has-text("Recovery codes")')
  assert.equal((await page.locator('.recovery-codes li').all()).length, 10, 'the first factor comes with recovery codes')
  assert.equal((await credentials()).length, 1, 'the authenticator keeps one discoverable passkey')
  await page.click('a:has-text("I have saved them")')
  const listed = await page.locator('#factors-list + ul li').first().innerText()
  assert.match(listed, /Work laptop/)
  assert.match(listed, /Passkey · added .* · not used yet/)
  for (const locale of ['it', 'en', 'de']) {
    await page.goto(`${baseUrl}/${locale}/account/second-factor`)
    await look(page, `second factor with a passkey (${locale})`)
  }

  // The second step after the password.
  await page.context().clearCookies()
  await signInWithPassword(page, giulia.userId)
  // The password's answer is the step's page; the browser shows the step's own address, so a
  // reload opens that page again instead of sending the password.
  await page.waitForURL(/\/en\/login\/code$/)
  await assertAccessible(page, 'second step, the answer to the password')
  await page.reload()
  assert.match(new URL(page.url()).pathname, /\/en\/login\/code$/)
  await page.click('button:has-text("Use your passkey")')
  await page.waitForURL(/\/en\/help$/)
  assert.ok(await page.locator('a:has-text("Sign out")').isVisible(), 'signed in with password and passkey')
  // Back to the step once signed in: the step is over, and the person is sent on, signed in.
  await page.goBack()
  await page.waitForURL(/\/en\/help$/)
  assert.ok(await page.locator('a:has-text("Sign out")').isVisible(), 'going back leaves the person signed in')

  // Without a password: the passkey names the account.
  await page.context().clearCookies()
  await page.goto(`${baseUrl}/en/login`)
  await assertAccessible(page, 'sign-in page with the passkey button')
  await page.click('button:has-text("Sign in with a passkey")')
  await page.waitForURL(/\/en\/help$/)
  assert.ok(await page.locator('a:has-text("Sign out")').isVisible(), 'signed in with the passkey alone')

  // Removed after the password: the passkey left on the authenticator signs in no more.
  await page.goto(`${baseUrl}/en/account/second-factor`)
  assert.match(await page.locator('#factors-list + ul li').first().innerText(), /Passkey · added .* · last used/)
  await page.click('summary:has-text("Remove")')
  await page.fill('input[type=password]', TEST_PASSWORD)
  await page.click('button:has-text("Remove this factor")')
  await page.waitForSelector('[role=status]:has-text("The factor was removed.")')
  assert.match(await page.locator('#factors-list + p').innerText(), /You have not added a second factor yet/)
  await page.context().clearCookies()
  await page.goto(`${baseUrl}/en/login`)
  await page.click('button:has-text("Sign in with a passkey")')
  await page.waitForSelector('#form-error')
  assert.match(await page.locator('#form-error').innerText(), /The passkey could not sign you in/)
  assert.equal(await page.locator('a:has-text("Sign out")').count(), 0)
})
