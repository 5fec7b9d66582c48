import assert from 'node:assert/strict'
import { test } from 'node:test'
import { helpArticles, market, signIn, system, user, type MarketRow, type UserRow } from '../../../test/factories.js'
import { cookieHeader, csrfFrom, testBrowser, useFixture, useTestApp, type Browser } from '../../../test/helpers.js'

const testApp = useTestApp()

let italy: MarketRow
let agent: UserRow
useFixture(testApp, async (app) => {
  italy = await market(app, { code: 'IT' })
  agent = await user(app, { roles: [{ role: 'support_agent', marketId: italy.id }] })
  await helpArticles(app, [{ locale: 'en', category: 'password', slug: 'forgot-password', title: 'I forgot my password', body: 'Use the link we email you.' }])
})

type Answer = { statusCode: number; body: string; headers: Record<string, unknown> }

/** A 400 that names the problem in the request's language, never cached. */
function refused(what: string, res: Answer, message: RegExp) {
  assert.equal(res.statusCode, 400, `${what}: ${String(res.statusCode)} ${res.body.slice(0, 300)}`)
  assert.match(res.body, message, what)
  assert.equal(res.headers['cache-control'], 'no-store', `${what}: cache-control`)
  assert.equal(res.headers.etag, undefined, `${what}: etag`)
}

const english = /not valid text|not allowed/
const italian = /non (?:è|sono) testo valido|non consentit/
const german = /kein gültiger Text|nicht erlaubt/

test('NUL and invalid UTF-8 in a path or a query are refused with a 400 in the request\'s language, never cached', async () => {
  const { app } = testApp()
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers })
  refused('help path', await get('/en/help/a%00b'), english)
  refused('help path (it)', await get('/it/help/articles/a%00b'), italian)
  refused('search query', await get('/de/help/search?q=a%00b'), german)
  refused('search query, invalid UTF-8', await get('/de/help/search?q=%C3%28'), german)
  refused('API article', await get('/api/v1/help/articles/a%00b?locale=it'), italian)
  refused('API search', await get('/api/v1/help/search?q=x%00&locale=en'), english)
  refused('OIDC', await get('/oidc/auth?client_id=a%00b', { 'accept-language': 'de' }), german)
  refused('path, invalid UTF-8', await get('/en/help/articles/%FF%FE'), english)
  const json = JSON.parse((await get('/api/v1/help/articles/a%00b')).body) as { error: { code: string } }
  assert.equal(json.error.code, 'INVALID_ENCODING')
})

test('NUL and broken text in a form, JSON body, multipart field or file name are refused with a 400 before any handler runs', async () => {
  const { app } = testApp()
  const guest: Browser = testBrowser(() => app)
  const page = await guest.get('/it/login')
  const token = csrfFrom(page.body)
  const form = (url: string, body: string) => app.inject({ method: 'POST', url, payload: body, headers: { cookie: cookieHeader(guest.jar), 'content-type': 'application/x-www-form-urlencoded' } })
  refused('sign-in with NUL', await form('/it/login', new URLSearchParams({ _csrf: token, identifier: 'a\u0000b', password: 'x' }).toString()), italian)
  refused('sign-in with invalid UTF-8', await form('/it/login', `_csrf=${encodeURIComponent(token)}&identifier=%FF%FE&password=x`), italian)
  refused('register with NUL', await form('/en/register', new URLSearchParams({ _csrf: token, userId: 'nul\u0000', email: 'a@b.example' }).toString()), english)
  refused('feedback with a lone surrogate', await form('/en/help/articles/forgot-password/feedback', `_csrf=${encodeURIComponent(token)}&helpful=no&reason=%ED%A0%80`), english)
  const raw = Buffer.concat([Buffer.from(`_csrf=${encodeURIComponent(token)}&identifier=`), Buffer.from([0xff, 0xfe]), Buffer.from('&password=x')])
  refused('sign-in with raw invalid bytes', await app.inject({ method: 'POST', url: '/en/login', payload: raw, headers: { cookie: cookieHeader(guest.jar), 'content-type': 'application/x-www-form-urlencoded' } }), english)

  const deflection = (payload: string | Buffer) => app.inject({ method: 'POST', url: '/api/v1/support/deflections?locale=de', payload, headers: { 'content-type': 'application/json' } })
  refused('JSON value with NUL', await deflection(JSON.stringify({ id: 'a'.repeat(32), locale: 'en', article: 'a\u0000b' })), german)
  refused('JSON key with NUL', await deflection('{"id\\u0000":"x"}'), german)
  refused('JSON with raw invalid bytes', await deflection(Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])), german)

  const staff = await signIn(testBrowser(() => app), agent)
  const staffToken = csrfFrom((await staff.get('/en/support/new')).body)
  const multipart = (body: Buffer | string) => app.inject({ method: 'POST', url: '/en/support/new', payload: body, headers: { cookie: cookieHeader(staff.jar), 'content-type': 'multipart/form-data; boundary=XyZ' } })
  const field = (name: string, value: string) => `--XyZ\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  refused('multipart field with NUL', await multipart(`${field('_csrf', staffToken)}${field('subject', 'a\u0000b')}--XyZ--\r\n`), english)
  refused('multipart field name with NUL', await multipart(`${field('_csrf', staffToken)}${field('sub\u0000ject', 'x')}--XyZ--\r\n`), english)
  refused('multipart file name with NUL', await multipart(`${field('_csrf', staffToken)}--XyZ\r\nContent-Disposition: form-data; name="attachments"; filename="a\u0000.png"\r\nContent-Type: image/png\r\n\r\nxx\r\n--XyZ--\r\n`), english)
  refused('multipart field with invalid bytes', await multipart(Buffer.concat([Buffer.from(`${field('_csrf', staffToken)}--XyZ\r\nContent-Disposition: form-data; name="subject"\r\n\r\n`), Buffer.from([0xff]), Buffer.from('\r\n--XyZ--\r\n')])), english)
  assert.equal((await app.services.desk.queue(system, { state: undefined })).total, 0, 'no ticket was made')
})

test('no error answer may be cached: the API\'s 404 and 400 carry no-store and no ETag', async () => {
  const { app } = testApp()
  for (const url of ['/api/v1/help/articles/nothing-here?locale=en', '/api/v1/help/search?q=&locale=en', '/api/v1/help/search?q=' + 'x'.repeat(500), '/en/help/nothing-here']) {
    const res = await app.inject({ method: 'GET', url })
    assert.ok(res.statusCode >= 400, `${url}: ${String(res.statusCode)}`)
    assert.equal(res.headers['cache-control'], 'no-store', url)
    assert.equal(res.headers.etag, undefined, url)
  }
})
