import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { actorOf, user, type UserRow } from '../factories.js'
import { deskMarket, helpContent, marketAdmin, partnerCompany, platformAdmin, agent as supportAgent, signInPage, ticket, workshop } from '../desk-factories.js'
import { assertAccessible, phone, sidewaysOverflow, useBrowser } from './browser.js'

const fixture = useBrowser()

const locales = ['it', 'en', 'de'] as const
type Locale = (typeof locales)[number]

/**
 * Words that give away an English text left on an Italian or German page ("Sign in", "required",
 * "2 h ago"): none of them is also an Italian or German word a page would use.
 */
const english = /\b(the|and|with|your|you|this|please|from|which|should|required|ago|none|sign in|sign out|save|cancel|submit|request|requests|hours|minutes|days|back|next|user|users|guest|system|company|companies|market|queue|unknown|pending|solved|assigned|open|closed|new)\b/i

/**
 * What a reader of the page would notice: the page's own text, without parts marked as another language or
 * as code; its lang attribute, and the height of its header.
 */
async function readPage(page: Page): Promise<{ text: string; lang: string | null; headerHeight: number | undefined }> {
  return page.evaluate(() => {
    const lang = document.documentElement.lang
    const texts: string[] = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement
      if (!parent || parent.closest('script, style, code')) continue
      const marked = parent.closest('[lang]')
      if (marked && marked.getAttribute('lang') !== lang) continue
      const text = node.textContent?.trim()
      if (text) texts.push(text)
    }
    // One line per text node: words of neighbouring elements never run together.
    return { text: texts.join('\n'), lang: document.documentElement.getAttribute('lang'), headerHeight: document.querySelector('.site-header')?.getBoundingClientRect().height }
  })
}

const desktop = { width: 1280, height: 900 } as const

/**
 * The checks every page passes, in every language, at 1280 and 390 px. The page is checked at the width it
 * was loaded at first, then at the other one, and stays there for the next page: one resize a page, not two.
 * (No script of the app looks at the width; CSS alone lays the page out, so a resized page is as loaded.)
 */
async function checkPage(page: Page, locale: Locale, label: string): Promise<void> {
  if (page.viewportSize()?.width === phone.width) {
    await checkPhone(page, label)
    await page.setViewportSize(desktop)
    await checkDesktop(page, locale, label)
  } else {
    await checkDesktop(page, locale, label)
    await page.setViewportSize(phone)
    await checkPhone(page, label)
  }
}

async function checkPhone(page: Page, label: string): Promise<void> {
  const overflow = await sidewaysOverflow(page)
  assert.ok(overflow <= 0, `${label}: the page is ${String(overflow)} px wider than a 390 px phone`)
}

async function checkDesktop(page: Page, locale: Locale, label: string): Promise<void> {
  const { text, lang, headerHeight } = await readPage(page)
  assert.equal(lang, locale, `${label}: html lang`)
  await assertAccessible(page, label)
  assert.doesNotMatch(text, /\{[a-zA-Z_]+\}/, `${label}: an unfilled {placeholder}`)
  assert.doesNotMatch(text, /\{"|"\s*:\s*["{[]/, `${label}: JSON on the page`)
  assert.doesNotMatch(text, /\b[a-z]+(?:\.[a-z]+)*\.[a-z]+[A-Z]\w*\b|\b(?:errors|admin|support|account|help)\.[a-z][\w.]+/, `${label}: a message key or field code`)
  assert.doesNotMatch(text, /\b(?:org|market|platform|support)_(?:admin|agent)\b|\bblock_warned\b|\bdelete_warned\b/, `${label}: a role or state code`)
  if (locale !== 'en') {
    const line = text.split('\n').find((l) => english.test(l) && !/@|https?:\/\//.test(l))
    assert.equal(line, undefined, `${label}: English on the ${locale} page: "${line ?? ''}"`)
  }
  // The header keeps to two rows at 1280 px (brand and account, then navigation and search).
  assert.ok(headerHeight !== undefined && headerHeight > 0 && headerHeight < 120, `${label}: the header wraps at 1280 px (${String(headerHeight)} px)`)
}

test('every page, as a guest and as each role, in it, en and de: axe, lang, no placeholder, code, JSON or English word, no overflow on a phone', async () => {
  const { browser, baseUrl, app } = fixture()
  await helpContent(app, ['password', 'account-status'])
  const market = await deskMarket(app, { defaultLocale: 'it', names: { it: 'Italia', en: 'Italy', de: 'Italien' } })
  const dealer = await partnerCompany(app, market, { name: 'Concessionaria Bologna S.p.A.', city: 'Bologna', contactEmail: 'assistenza@concessionaria-bologna.example' })
  const garage = await workshop(app, market, { name: 'Autofficina Rossi S.r.l.', street: 'Via Emilia 120', postalCode: '40133', city: 'Bologna', partner: dealer })
  const worker = await user(app, { firstName: 'Mario', lastName: 'Rossi', locale: 'it', company: garage })
  const shopper = await user(app, { realm: 'shop', firstName: 'Mario', lastName: 'Rossi', locale: 'it', company: garage, email: worker.email })
  const orgAdmin = await user(app, { firstName: 'Giulia', lastName: 'Bianchi', locale: 'it', company: garage, roles: [{ role: 'org_admin', companyId: garage.id }] })
  const admin = await marketAdmin(app, market, { firstName: 'Luca', lastName: 'Ferri', locale: 'it', alsoAgent: true })
  const deskAgent = await supportAgent(app, market, { firstName: 'Chiara', lastName: 'Conti', locale: 'it' })
  const platform = await platformAdmin(app, { firstName: 'Paula', lastName: 'Neri', locale: 'en' })
  const { ticket: request } = await ticket(app, market, { topic: 'password', subject: 'Account bloccato dopo troppi tentativi', description: 'Ho provato più volte e ora il mio account è bloccato.', locale: 'it' }, await actorOf(app, worker))

  const slugs = await Promise.all(locales.map(async (l) => {
    const res = await app.app.inject({ url: `/api/v1/help/categories?locale=${l}` })
    const category = res.json<{ categories: { key: string; slug: string }[] }>().categories.find((c) => c.key === 'account-status')
    assert.ok(category, `the account-status category in ${l}`)
    return [l, category.slug] as const
  }))
  const categoryOf = Object.fromEntries(slugs) as Record<Locale, string>

  const guestPages = (l: Locale) => [
    '/help', `/help/${categoryOf[l]}`, '/help/search?q=password', '/support/new', '/login', '/shop/login', '/register', '/shop/register',
    '/password/forgot', '/shop/password/forgot',
  ]
  const roles: { who: string; account: UserRow; pages: string[] }[] = [
    { who: 'user', account: worker, pages: ['/workspace', '/account', '/account/second-factor', '/account/email', '/support/tickets', '/partners', '/support/new'] },
    { who: 'Parts Shop user', account: shopper, pages: ['/shop/account', '/help', '/support/tickets'] },
    { who: 'organization administrator', account: orgAdmin, pages: ['/admin', '/admin/users', `/admin/users/${String(worker.id)}`, `/admin/companies/${String(garage.id)}`] },
    {
      who: 'market administrator', account: admin, pages: [
        '/workspace', '/admin', '/admin/users', `/admin/users/${String(worker.id)}`, '/admin/companies', `/admin/companies/${String(garage.id)}`,
        `/admin/markets/${market.code}/forecast`, `/admin/markets/${market.code}/report`, `/admin/markets/${market.code}/import`, '/admin/audit',
        '/agent/tickets', `/agent/tickets/${request.reference}`, '/agent/report',
      ],
    },
    { who: 'support agent', account: deskAgent, pages: ['/workspace', '/agent/tickets', `/agent/tickets/${request.reference}`] },
    { who: 'platform administrator', account: platform, pages: ['/admin/platform', '/admin/platform/clients', '/admin/platform/report'] },
  ]

  const visit = async (page: Page, locale: Locale, path: string, who: string) => {
    const res = await page.goto(`${baseUrl}/${locale}${path}`)
    assert.ok(res && res.status() < 400, `${who} ${locale}${path}: status ${String(res?.status())}`)
    await checkPage(page, locale, `${who} ${locale}${path}`)
  }

  const contexts: BrowserContext[] = []
  try {
    const guest = await browser.newContext({ viewport: desktop })
    contexts.push(guest)
    const guestPage = await guest.newPage()
    for (const l of locales) {
      for (const path of guestPages(l)) await visit(guestPage, l, path, 'guest')
      // An article of the category, through its link.
      await guestPage.goto(`${baseUrl}/${l}/help/${categoryOf[l]}`)
      await guestPage.locator('main a[href*="/help/articles/"]').first().click()
      // A click only starts the navigation: checking before the article has loaded reads a document in between.
      await guestPage.waitForURL(/\/help\/articles\//)
      await checkPage(guestPage, l, `guest ${l} article`)
    }
    for (const { who, account, pages } of roles) {
      const context = await browser.newContext({ viewport: desktop })
      contexts.push(context)
      const page = await context.newPage()
      await signInPage(page, baseUrl, account, 'it')
      for (const l of locales) for (const path of pages) await visit(page, l, path, who)
    }
  } finally {
    for (const context of contexts) await context.close()
  }
})
