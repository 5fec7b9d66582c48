import assert from 'node:assert/strict'
import { test } from 'node:test'
import { market, system } from '../../../test/factories.js'
import { helpContent } from '../../../test/desk-factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp()
const browser = () => testBrowser(() => testApp().app)
let content: Promise<void> | undefined
const withContent = () => (content ??= helpContent(testApp()))

test('the help page\'s email questions find their dedicated articles first, in Italian as in English and German', async () => {
  await withContent()
  const questions: [string, string, string][] = [
    ['it', 'Ho ricevuto un\'e-mail che mi informa che il mio account verrà bloccato a breve', 'email-account-bloccato-a-breve'],
    ['it', 'Ho ricevuto un\'e-mail che mi informa che il mio account verrà eliminato a breve', 'email-account-eliminato-a-breve'],
    ['it', 'Ho ricevuto un\'email che mi informa che il mio account verrà bloccato a breve', 'email-account-bloccato-a-breve'],
    ['en', 'I received an email informing me that my account will be blocked soon', 'account-blocked-soon-email'],
    ['en', 'I received an email informing me that my account will be deleted soon', 'account-deleted-soon-email'],
    ['de', 'Ich habe eine E-Mail erhalten, dass mein Konto bald gesperrt wird', 'e-mail-konto-wird-bald-gesperrt'],
    ['de', 'Ich habe eine E-Mail erhalten, dass mein Konto bald gelöscht wird', 'e-mail-konto-wird-bald-geloescht'],
  ]
  for (const [locale, query, first] of questions) {
    const result = await testApp().app.services.help.search(system, { locale, query, limit: 5 })
    assert.equal(result.hits[0]?.slug, first, `${locale}: "${query}" → ${result.hits.map((h) => h.slug).join(', ')}`)
    assert.equal(result.correctedQuery, null, `${locale}: nothing to correct in "${query}"`)
  }
  const stopWordsOnly = await testApp().app.services.help.search(system, { locale: 'it', query: 'come', limit: 5 })
  assert.ok(Array.isArray(stopWordsOnly.hits), 'a query of stop words is still answered')
})

test('a language\'s own address leads to its help center, and pages link to articles by key', async () => {
  await withContent()
  for (const locale of ['it', 'en', 'de']) {
    const res = await browser().get(`/${locale}`)
    assert.equal(res.statusCode, 302)
    assert.equal(res.headers.location, `/${locale}/help`)
  }
  assert.equal((await browser().get('/xx')).statusCode, 404)
  const byKey = await browser().get('/it/help/keys/account-blocked')
  assert.equal(byKey.statusCode, 302)
  assert.equal(byKey.headers.location, '/it/help/articles/account-bloccato')
  assert.equal((await browser().get('/de/help/keys/no-such-article')).statusCode, 404)
})

test('signed out, the partner box and the partners page link to sign-in and registration; the Parts Shop article to shop registration', async () => {
  await withContent()
  const help = await browser().get('/de/help')
  assert.match(help.body, /<a href="\/de\/login">Anmelden<\/a> · <a href="\/de\/register">Konto anlegen<\/a>/)
  await market(testApp(), { code: 'IT' })
  const partners = await browser().get('/it/partners')
  assert.match(partners.body, /href="\/it\/register">Crea un account<\/a>/)
  for (const [locale, slug] of [['it', 'credenziali-parts-shop'], ['en', 'parts-shop-credentials'], ['de', 'zugangsdaten-parts-shop']] as const) {
    const article = await browser().get(`/${locale}/help/articles/${slug}`)
    assert.match(article.body, new RegExp(`href="/${locale}/shop/register"`), locale)
  }
})
