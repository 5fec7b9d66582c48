import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { helpContent } from '../../../test/desk-factories.js'
import { cookieHeader, cookieJar, useTestApp } from '../../../test/helpers.js'
import { FEEDBACK_VOTES_PER_HOUR } from './helpcenter.routes.js'

interface SearchJson {
  query: string
  correctedQuery: string | null
  results: { slug: string; title: string; snippet: { text: string; highlight: boolean }[] }[]
  suggestions: { slug: string }[]
}

const testApp = useTestApp()
const ctx = { get app() { return testApp().app } }
/** The help content of the repository (content/), imported once for the file: articles, no accounts. */
let imported: Promise<void> | undefined
const content = () => (imported ??= helpContent(testApp()))

async function search(locale: string, q: string, limit = 5): Promise<SearchJson> {
  const res = await ctx.app.inject({ url: '/api/v1/help/search', query: { q, locale, limit: String(limit) } })
  assert.equal(res.statusCode, 200, res.body)
  return res.json<SearchJson>()
}

describe('search finds articles in each language, stemmed and despite typos', () => {
  before(content)

  const examples: [string, string, string][] = [
    ['it', 'password dimenticata', 'forgot-password'],
    ['it', 'pasword', 'forgot-password'],
    ['it', 'account bloccato', 'account-blocked'],
    ['de', 'Passwort vergessen', 'forgot-password'],
    ['de', 'Konto gesperrt', 'account-blocked'],
    ['de', 'Pasword vergesen', 'forgot-password'],
    ['en', 'account blocked', 'account-blocked'],
    ['en', 'forgot password', 'forgot-password'],
    ['en', 'forgotten passwords', 'forgot-password'],
    ['en', 'acount blokced', 'account-blocked'],
  ]
  for (const [locale, q, key] of examples) {
    test(`${locale}: "${q}" finds the ${key} article near the top`, async () => {
      const { results } = await search(locale, q)
      const article = await ctx.app.inject({ url: `/api/v1/help/articles/${results[0]?.slug ?? 'none'}`, query: { locale } })
      const slugs = results.slice(0, 3).map((r) => r.slug)
      const keys = await Promise.all(slugs.map(async (slug) =>
        (await ctx.app.inject({ url: `/api/v1/help/articles/${slug}`, query: { locale } })).json<{ key: string }>().key))
      assert.equal(article.statusCode, 200)
      assert.ok(keys.includes(key), `${keys.join(', ')} should include ${key}`)
    })
  }

  test('a corrected query says what was searched instead', async () => {
    const result = await search('en', 'pasword')
    assert.equal(result.correctedQuery, 'password')
    assert.equal((await search('en', 'password')).correctedQuery, null)
  })

  test('snippets flag the matched words and never carry markup', async () => {
    const { results } = await search('en', 'forgot password')
    const snippet = results[0]?.snippet ?? []
    assert.ok(snippet.some((s) => s.highlight), 'some words are highlighted')
    assert.ok(snippet.every((s) => !/[\uE000\uE001]/.test(s.text)))
  })

  test('a search without results offers the closest articles and is counted for the content team', async () => {
    const result = await search('en', 'xylophone quartz')
    assert.equal(result.results.length, 0)
    assert.equal(result.suggestions.length, 3)
    await search('en', 'Xylophone   quartz')
    const report = await ctx.app.services.help.report()
    const miss = report.misses.find((m) => m.query === 'xylophone quartz' && m.locale === 'en')
    assert.equal(miss?.count, 2)
  })

  test('the search page shows ranked results with escaped highlights', async () => {
    const res = await ctx.app.inject({ url: '/it/help/search', query: { q: 'password dimenticata' } })
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /<mark>password<\/mark>/i)
    assert.match(res.body, /href="\/it\/help\/articles\/password-dimenticata"/)
  })

  test('the search page without results lists closest articles and all categories', async () => {
    const res = await ctx.app.inject({ url: '/de/help/search', query: { q: 'Quarzuhr' } })
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /Keine Artikel zu „Quarzuhr“ gefunden/)
    assert.match(res.body, /href="\/de\/help\/anmeldung"/)
    assert.match(res.body, /Diese Artikel kommen am nächsten/)
  })
})

describe('pages', () => {
  before(content)

  test('/ redirects by Accept-Language', async () => {
    const de = await ctx.app.inject({ url: '/', headers: { 'accept-language': 'de-AT,de;q=0.9' } })
    assert.equal(de.statusCode, 302)
    assert.equal(de.headers.location, '/de/help')
    const fallback = await ctx.app.inject({ url: '/', headers: { 'accept-language': 'fr' } })
    assert.equal(fallback.headers.location, '/en/help')
  })

  test('a language\'s own address, typed with or without the final slash, leads to its help center', async () => {
    for (const url of ['/it', '/de/']) {
      const res = await ctx.app.inject({ url })
      assert.equal(res.statusCode, 302, url)
      assert.equal(res.headers.location, `${url.replace(/\/$/, '')}/help`)
    }
  })

  test('the help home lists the categories, has a language attribute, switcher and skip link', async () => {
    const res = await ctx.app.inject({ url: '/it/help' })
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /^<!doctype html><html lang="it">/)
    assert.match(res.body, /<a class="skip-link" href="#main">Vai al contenuto<\/a>/)
    assert.match(res.body, /<link rel="alternate" hreflang="de" href="\/de\/help"\/>/)
    assert.match(res.body, /href="\/it\/help\/accesso"/)
    assert.match(res.body, /aria-current="page">Italiano</)
    assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/)
    assert.doesNotMatch(res.body, /<script/)
  })

  test('a category lists its articles and links to its translations', async () => {
    const res = await ctx.app.inject({ url: '/en/help/password' })
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /href="\/en\/help\/articles\/forgot-password"/)
    assert.match(res.body, /hreflang="de" href="\/de\/help\/passwort"/)
  })

  test('an article renders branches as disclosures, its translations, and the way to more help', async () => {
    const res = await ctx.app.inject({ url: '/en/help/articles/forgot-password' })
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /<details class="branch" id="branch-no-email"><summary>/)
    assert.match(res.body, /hreflang="it" href="\/it\/help\/articles\/password-dimenticata"/)
    assert.match(res.body, /Still need help\?/)
    assert.match(res.body, /href="\/en\/support\/new\?topic=password&amp;article=forgot-password"/)
    assert.match(res.body, /href="\/en\/support\/new\?topic=password&amp;article=forgot-password&amp;branch=no-email"/)
  })

  test('a guest\'s help page is the same for every visitor: public, shareable, and 304 to any client with its ETag', async () => {
    for (const url of ['/en/help', '/en/help/password', '/en/help/articles/forgot-password', '/en/help/search?q=password', '/it/help/articles/password-dimenticata']) {
      const first = await ctx.app.inject({ url })
      assert.equal(first.statusCode, 200, url)
      assert.equal(first.headers['set-cookie'], undefined, `${url}: nothing of the visitor is made or kept`)
      assert.equal(first.headers['cache-control'], 'public, max-age=60, stale-while-revalidate=600', url)
      assert.doesNotMatch(first.body, /name="_csrf"/, url)
      // Another visitor, with cookies of an earlier visit, gets the very same bytes.
      const other = await ctx.app.inject({ url, headers: { cookie: 'sp_csrf=someone-else; sp_visitor=v' } })
      assert.equal(other.body, first.body, url)
      assert.equal(other.headers.etag, first.headers.etag, url)
      // A plain client or a CDN revalidates without any cookie.
      const cached = await ctx.app.inject({ url, headers: { 'if-none-match': String(first.headers.etag) } })
      assert.equal(cached.statusCode, 304, url)
      assert.equal(cached.body, '')
    }
    const api = await ctx.app.inject({ url: '/api/v1/help/categories?locale=en' })
    const apiCached = await ctx.app.inject({ url: '/api/v1/help/categories?locale=en', headers: { 'if-none-match': String(api.headers.etag) } })
    assert.equal(apiCached.statusCode, 304)
  })

  test('unknown locale, category or article: a 404 page in the nearest language, with search', async () => {
    for (const [url, lang] of [['/fr/help', 'de'], ['/de/help/nichts-hier', 'de'], ['/it/help/articles/non-esiste', 'it'], ['/en/nowhere', 'en']] as const) {
      const res = await ctx.app.inject({ url, headers: { 'accept-language': 'de' } })
      assert.equal(res.statusCode, 404, url)
      assert.match(res.body, new RegExp(`<html lang="${lang}">`), url)
      assert.match(res.body, /type="search"/, url)
    }
  })
})

describe('bad input is a clear 400, never a 5xx', () => {
  before(content)

  test('queries that are empty, too long, or not valid UTF-8', async () => {
    const empty = await ctx.app.inject({ url: '/api/v1/help/search?q=%20%20&locale=en' })
    assert.equal(empty.statusCode, 400)
    assert.equal(empty.json<{ error: { code: string } }>().error.code, 'QUERY_EMPTY')
    const long = await ctx.app.inject({ url: '/api/v1/help/search', query: { q: 'a'.repeat(201), locale: 'it' } })
    assert.equal(long.statusCode, 400)
    assert.match(long.json<{ error: { message: string } }>().error.message, /200/)
    const page = await ctx.app.inject({ url: `/de/help/search?q=${'x'.repeat(201)}` })
    assert.equal(page.statusCode, 400)
    assert.match(page.body, /<html lang="de">/)
    assert.match(page.body, /höchstens 200 Zeichen/)
    const utf8 = await ctx.app.inject({ url: '/en/help/search?q=%FF%FE' })
    assert.equal(utf8.statusCode, 400)
    assert.match(utf8.body, /not valid text/)
  })

  test('limit outside 1–50 and unknown locale on the API', async () => {
    for (const limit of ['0', '51', 'abc', '-1', '1.5']) {
      const res = await ctx.app.inject({ url: '/api/v1/help/search', query: { q: 'password', locale: 'en', limit } })
      assert.equal(res.statusCode, 400, limit)
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'INVALID_INPUT')
    }
    const it = await ctx.app.inject({ url: '/api/v1/help/search', query: { q: 'x', locale: 'en', limit: '0' }, headers: { 'accept-language': 'it' } })
    assert.match(it.json<{ error: { message: string } }>().error.message, /limit/)
    const unknown = await ctx.app.inject({ url: '/api/v1/help/categories?locale=fr' })
    assert.equal(unknown.statusCode, 404)
  })

  test('script tags and SQL in the query are searched for as text', async () => {
    const q = `<script>alert(1)</script>' OR 1=1; DROP TABLE help_articles; --`
    const res = await ctx.app.inject({ url: '/en/help/search', query: { q } })
    assert.equal(res.statusCode, 200)
    assert.doesNotMatch(res.body, /<script>alert/)
    assert.match(res.body, /&lt;script>alert\(1\)&lt;\/script>|&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
    const still = await ctx.app.inject({ url: '/en/help/articles/forgot-password' })
    assert.equal(still.statusCode, 200)
  })
})

describe('was this helpful?', () => {
  before(content)

  /** The vote a browser sends from the article's form: it says the request comes from the same site. */
  async function vote(jar: Record<string, string>, body: Record<string, string>, url = '/en/help/articles/forgot-password', from: Record<string, string> = { 'sec-fetch-site': 'same-origin' }) {
    const res = await ctx.app.inject({
      method: 'POST', url: `${url}/feedback`, payload: new URLSearchParams(body).toString(),
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded', ...from },
    })
    cookieJar(jar, res.headers['set-cookie'])
    return res
  }

  async function counts(slug: string, branch = '', locale = 'en') {
    const report = await ctx.app.services.help.report()
    return report.feedback.find((f) => f.locale === locale && f.slug === slug && f.branch === branch) ?? { helpful: 0, notHelpful: 0 }
  }

  test('one vote per visitor per article, counted per article and per branch', async () => {
    const jar: Record<string, string> = {}
    const first = await vote(jar, { helpful: 'yes' })
    assert.equal(first.statusCode, 303)
    assert.equal(first.headers.location, '/en/help/articles/forgot-password?feedback=thanks#feedback')
    const again = await vote(jar, { helpful: 'no', reason: 'The link expired' })
    assert.equal(again.headers.location, '/en/help/articles/forgot-password?feedback=updated#feedback')
    assert.deepEqual(await counts('forgot-password'), { locale: 'en', slug: 'forgot-password', branch: '', helpful: 0, notHelpful: 1 })

    const branch = await vote(jar, { helpful: 'no', branch: 'no-email' })
    assert.equal(branch.headers.location, '/en/help/articles/forgot-password?feedback=thanks&branch=no-email#branch-no-email')
    assert.equal((await counts('forgot-password', 'no-email')).notHelpful, 1)

    const other: Record<string, string> = {}
    await vote(other, { helpful: 'yes' })
    assert.equal((await counts('forgot-password')).helpful, 1)

    const thanks = await ctx.app.inject({ url: branch.headers.location ?? '', headers: { cookie: cookieHeader(jar) } })
    assert.match(thanks.body, /<details class="branch" id="branch-no-email" open>/)
    assert.match(thanks.body, /Thank you for your feedback/)
  })

  test('votes are limited per address: throwing the visitor cookie away does not buy more', async () => {
    const before = (await counts('account-bloccato', '', 'it')).helpful
    const fresh = (remoteAddress: string) => ctx.app.inject({
      method: 'POST', url: '/it/help/articles/account-bloccato/feedback', payload: 'helpful=yes', remoteAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    })
    for (let i = 0; i < FEEDBACK_VOTES_PER_HOUR; i++) assert.equal((await fresh('203.0.113.9')).statusCode, 303)
    const refused = await fresh('203.0.113.9')
    assert.equal(refused.statusCode, 429)
    assert.match(refused.body, /<html lang="it">/)
    assert.match(refused.body, /Troppe richieste/)
    assert.equal((await counts('account-bloccato', '', 'it')).helpful, before + FEEDBACK_VOTES_PER_HOUR, 'the refused vote is not counted')
    assert.equal((await fresh('203.0.113.10')).statusCode, 303, 'another address still votes')
  })

  test('a vote sent from another site is refused and nothing is counted', async () => {
    const before = await counts('account-blocked')
    const url = '/en/help/articles/account-blocked'
    const foreign: Record<string, string>[] = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://attacker.example' }, { origin: 'null' }]
    for (const from of foreign) {
      const refused = await vote({}, { helpful: 'yes' }, url, from)
      assert.equal(refused.statusCode, 403, JSON.stringify(from))
      assert.match(refused.body, /form has expired/)
    }
    assert.deepEqual(await counts('account-blocked'), before)
    const fromTheSite = await vote({}, { helpful: 'yes' }, url, { origin: 'http://localhost:3000' })
    assert.equal(fromTheSite.statusCode, 303, 'the portal\'s own origin is accepted where Fetch Metadata is missing')
  })

  test('bad votes are refused in the user\'s language and change nothing', async () => {
    const jar: Record<string, string> = {}
    const url = '/it/help/articles/password-dimenticata'
    const italianFeedback = async () => (await ctx.app.services.help.report()).feedback.filter((f) => f.locale === 'it').length
    const before = await italianFeedback()
    const cases: [Record<string, string>, number][] = [
      [{ helpful: 'maybe' }, 400],
      [{ helpful: 'yes', reason: 'x'.repeat(501) }, 400],
      [{ helpful: 'yes', branch: 'no-such-branch' }, 404],
      [{ helpful: 'yes', branch: '<script>' }, 400],
    ]
    for (const [body, status] of cases) {
      const res = await vote(jar, body, url)
      assert.equal(res.statusCode, status, JSON.stringify(body).slice(0, 80))
      assert.match(res.body, /<html lang="it">/)
    }
    const unknownArticle = await vote(jar, { helpful: 'yes' }, '/it/help/articles/non-esiste')
    assert.equal(unknownArticle.statusCode, 404)
    assert.equal(await italianFeedback(), before)
  })
})

describe('JSON API and OpenAPI', () => {
  before(content)

  test('categories, article and search are described in the OpenAPI document', async () => {
    const doc = (await ctx.app.inject({ url: '/api/v1/openapi.json' })).json<{ paths: Record<string, unknown> }>()
    assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/help/')).sort(), ['/api/v1/help/articles/{slug}', '/api/v1/help/categories', '/api/v1/help/search'])
  })

  test('categories and articles per locale', async () => {
    const cats = (await ctx.app.inject({ url: '/api/v1/help/categories?locale=de' })).json<{ categories: { key: string; articleCount: number }[] }>()
    assert.ok(cats.categories.length >= 5)
    assert.ok(cats.categories.every((c) => c.articleCount > 0))
    const article = (await ctx.app.inject({ url: '/api/v1/help/articles/konto-gesperrt?locale=de' })).json<{ key: string; translations: Record<string, string>; bodyHtml: string }>()
    assert.equal(article.key, 'account-blocked')
    assert.equal(article.translations.en, '/en/help/articles/account-blocked')
    assert.doesNotMatch(article.bodyHtml, /branch-feedback/)
  })

  test('errors are JSON with a stable code and a translated message', async () => {
    const res = await ctx.app.inject({ url: '/api/v1/help/articles/nope?locale=it' })
    assert.equal(res.statusCode, 404)
    assert.deepEqual(res.json(), { error: { code: 'ARTICLE_NOT_FOUND', message: 'Questo articolo non esiste (più).' } })
  })
})
