import assert from 'node:assert/strict'
import { test } from 'node:test'
import { helpContent } from '../desk-factories.js'
import { assertAccessible, useBrowser } from './browser.js'

const fixture = useBrowser()

test('a visitor browses the help center in the browser: home, category, article with a branch, search, language switch', async () => {
  const { browser, baseUrl, app } = fixture()
  await helpContent(app)
  const context = await browser.newContext({ locale: 'en-GB' })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('status of 404')) errors.push(m.text()) })
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/non-esiste')) errors.push(`${r.status()} ${r.url()}`) })

  await page.goto(`${baseUrl}/`)
  assert.equal(new URL(page.url()).pathname, '/en/help')
  assert.equal(await page.textContent('h1'), 'Help center')
  await assertAccessible(page, 'help home')

  // Keyboard: the skip link is the first stop and moves focus to the content.
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content')

  await page.click('a[href="/en/help/password"]')
  assert.equal(await page.textContent('h1'), 'Password')
  await assertAccessible(page, 'category')

  await page.click('a[href="/en/help/articles/forgot-password"]')
  await assertAccessible(page, 'article')
  const branch = page.locator('details#branch-no-email')
  assert.equal(await branch.getAttribute('open'), null)
  await page.focus('details#branch-no-email > summary')
  await page.keyboard.press('Enter')
  assert.equal(await branch.getAttribute('open'), '')
  assert.ok(await page.locator('details#branch-no-email .branch-body').isVisible())
  await assertAccessible(page, 'article with an open branch')

  // Feedback with the keyboard only, in the opened branch.
  await page.focus('#fb-no-email-no')
  await page.keyboard.press('Space')
  await page.focus('#fb-no-email-reason')
  await page.keyboard.type('The email never arrived, not even in spam.')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Enter')
  await page.waitForURL(/feedback=thanks&branch=no-email/)
  assert.match(await page.locator('#branch-no-email [role=status]').innerText(), /Thank you/)

  await page.fill('#header-q', 'acount blokced')
  await page.press('#header-q', 'Enter')
  await page.waitForURL(/\/en\/help\/search\?q=/)
  assert.match(await page.locator('.results').innerText(), /Account blocked/i)
  assert.ok(await page.locator('.results mark').count() > 0)
  await assertAccessible(page, 'search with results')

  await page.fill('#search-q', 'xylophone')
  await page.press('#search-q', 'Enter')
  await page.waitForSelector('.no-results')
  await assertAccessible(page, 'search without results')

  await page.goto(`${baseUrl}/en/help/articles/account-blocked`)
  await page.click('nav.languages a[lang="de"]')
  assert.equal(new URL(page.url()).pathname, '/de/help/articles/konto-gesperrt')
  assert.equal(await page.getAttribute('html', 'lang'), 'de')
  await assertAccessible(page, 'article in German')

  await page.goto(`${baseUrl}/it/help/articles/non-esiste`)
  assert.equal(await page.getAttribute('html', 'lang'), 'it')
  await assertAccessible(page, '404 page')

  await page.goto(`${baseUrl}/it/support/new?topic=password&article=forgot-password`)
  await assertAccessible(page, 'ask for help')
  assert.equal(await page.locator('input[name=article]').getAttribute('value'), 'forgot-password', 'the article that did not help travels with the request')
  assert.equal(await page.locator('#topic').inputValue(), 'password')

  assert.deepEqual(errors, [], 'no console errors (CSP violations included)')
  await context.close()
})
