import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { RouteEntry } from '../src/app.js'
import { company, helpArticles, market, signIn, system, user, type CompanyRow, type MarketRow, type UserRow } from './factories.js'
import { cookieHeader, csrfFrom, testBrowser, useFixture, useTestApp } from './helpers.js'

const testApp = useTestApp()

/** A market with a support agent, a platform administrator, and help articles (one with branches) in every language. */
let italy: MarketRow
let agentIt: UserRow
let platformAdmin: UserRow
/** The walk's signed-in staff (every role, so every console answers), and the account and company it aims at. */
let walkStaff: UserRow
let walkTarget: UserRow
let walkCompany: CompanyRow
useFixture(testApp, async (app) => {
  italy = await market(app, { code: 'IT' })
  walkCompany = await company(app, { market: italy })
  walkStaff = await user(app, { company: walkCompany, roles: [{ role: 'platform_admin' }, { role: 'market_admin', marketId: italy.id }, { role: 'support_agent', marketId: italy.id }, { role: 'org_admin', companyId: walkCompany.id }] })
  walkTarget = await user(app, { company: walkCompany })
  agentIt = await user(app, { roles: [{ role: 'support_agent', marketId: italy.id }] })
  platformAdmin = await user(app, { roles: [{ role: 'platform_admin' }] })
  const branches = 'Pick what happened.\n\n::: branch no-email | The email never came\nLook in the spam folder.\n:::\n\n::: branch expired | The link expired\nAsk for a new one.\n:::\n'
  await helpArticles(app, [
    { locale: 'en', category: 'password', slug: 'forgot-password', title: 'I forgot my password', body: `Choose a new password with the link we email you. ${branches}` },
    { locale: 'en', category: 'apps', slug: 'blank-pages', title: 'An app shows blank pages', body: 'Clear the browser cache and sign in again.' },
    { locale: 'it', category: 'password', slug: 'password-dimenticata', key: 'forgot-password', title: 'Ho dimenticato la password', body: `Scegli una nuova password con il link che ti mandiamo. ${branches}` },
    { locale: 'de', category: 'password', slug: 'passwort-vergessen', key: 'forgot-password', title: 'Passwort vergessen', body: 'Wählen Sie ein neues Passwort über den Link in der E-Mail.' },
  ])
})

/** Values an attacker or a broken client sends. */
const hostile = [
  '<script>alert(1)</script>',
  `' OR 1=1; DROP TABLE help_articles; --`,
  '"><img src=x onerror=alert(1)>',
  '../../../../etc/passwd',
  '\u0000\u0001\u0007\u001b[31m',
  '\u202e\u200b🙂𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '${7*7}{{7*7}}',
  'x'.repeat(5000),
  '',
  ' ',
  '-1',
  '1e309',
]


/** What is wrong with an answer to hostile input, if anything: a 5xx, a stack trace, reflected markup. */
function defect(res: { statusCode: number; body: string }): string | undefined {
  if (res.statusCode >= 500) return `${String(res.statusCode)} ${res.body.slice(0, 160)}`
  if (/at [\w.<>]+ \(.*:\d+:\d+\)/.test(res.body) || /\n\s+at /.test(res.body)) return 'stack trace'
  if (res.body.includes('<script>alert(1)</script>')) return 'reflected a script tag'
  return undefined
}

function check(route: string, res: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  assert.ok(res.statusCode < 500, `${route} answered ${res.statusCode}: ${res.body.slice(0, 200)}`)
  assert.ok(!res.body.includes('<script>alert(1)</script>'), `${route} reflected a script tag`)
  assert.ok(!res.body.includes('<img src=x onerror'), `${route} reflected markup`)
  assert.ok(!/at [\w.<>]+ \(.*:\d+:\d+\)/.test(res.body), `${route} leaked a stack trace`)
}

/** The market's agent signed in, and a guest's ticket in its queue to aim at. */
async function agentAndTicket(subject: string, email: string) {
  const { app } = testApp()
  const agent = await signIn(testBrowser(() => app), agentIt)
  const created = await testBrowser(() => app).post('/en/support/new', {
    topic: 'apps', subject, description: 'A ticket for a hostile input walk, nothing more.', urgency: 'normal',
    name: 'Hal Hostile', email, companyName: 'Hostile Garage', companyAddress: 'Via Nuova 3, 20100 Milano', marketCode: italy.code,
  })
  assert.equal(created.statusCode, 201)
  return { app, agent, reference: /SR-\d{4}-\d{6}/.exec(created.body)?.[0] ?? '' }
}

/** Values for a route's path parameters that reach its handler (the walk's hostile values go elsewhere). */
function reachable(name: string, ids: { reference: string; userId: number; companyId: number }): string {
  const known: Record<string, string> = {
    locale: 'en', reference: ids.reference, id: String(ids.userId), code: 'IT', slug: 'forgot-password', category: 'password',
    realm: 'partner', clientId: 'walk-client', token: 'x'.repeat(43), secret: 'x'.repeat(43), uid: 'walk-interaction', '*': 'token',
  }
  if (name === 'id') return String(ids.userId)
  return known[name] ?? 'x'
}

function pathOf(url: string, value: (name: string) => string): string {
  return url.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(value(name))).replace('*', () => value('*'))
}

/**
 * The variants every route gets: where the hostile value goes and how the body is sent. Bodies are made only
 * when sent (a GET route sends none): made for every route and identity, they were an eighth of the walk's CPU.
 */
interface Variant { name: string; params?: string; keepLocale?: boolean; query?: string; form?: () => string; json?: () => string; multipart?: () => Buffer }
const megabyte = 'x'.repeat(1024 * 1024)
/**
 * The longest query a client can send: Node's HTTP server answers 431 to a request line and headers
 * over 16 KB (its default max header size), so a megabyte in the query never reaches the app. (Sending
 * one through inject only measured light-my-request encoding it: half the walk's CPU.)
 */
const longestQuery = 'x'.repeat(15 * 1024)
/** A form with a megabyte in each field; routes with the same fields share one (most routes have none of their own). */
const megabyteForms = new Map<string, string>()
function megabyteForm(csrf: string, fields: string[]): string {
  const key = [csrf, ...fields].join('\u0000')
  let form = megabyteForms.get(key)
  if (form === undefined) {
    form = `_csrf=${encodeURIComponent(csrf)}&${fields.map((f) => `${encodeURIComponent(f)}=${megabyte}`).join('&')}`
    megabyteForms.set(key, form)
  }
  return form
}
function deepJson(depth: number): string {
  return `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`
}
const multipartWith = (fields: Record<string, string>, fileName: string) => Buffer.concat([
  Buffer.from(Object.entries(fields).map(([k, v]) => `--W\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('')),
  Buffer.from(`--W\r\nContent-Disposition: form-data; name="attachments"; filename="${fileName}"\r\nContent-Type: image/png\r\n\r\nnot a picture\r\n--W--\r\n`),
])

const walked = new Set<string>()
function variantsFor(route: RouteEntry, csrf: string): Variant[] {
  const fields = route.bodyFields.length > 0 ? route.bodyFields.filter((f) => f !== '_csrf') : ['q', 'message', 'identifier']
  const form = (value: string) => () => new URLSearchParams({ _csrf: csrf, ...Object.fromEntries(fields.map((f) => [f, value])) }).toString()
  const json = (value: unknown) => () => JSON.stringify({ _csrf: csrf, ...Object.fromEntries(fields.map((f) => [f, value])) })
  return [
    { name: 'NUL in path', params: 'a\u0000b' },
    { name: 'NUL in path after the locale', params: 'a\u0000b', keepLocale: true },
    { name: 'a long path parameter', params: 'x'.repeat(600), keepLocale: true },
    { name: 'invalid UTF-8 in path', params: '\uFFFF', query: undefined },
    { name: 'NUL in query and form', query: 'a\u0000b', form: form('a\u0000b') },
    { name: 'invalid UTF-8 in form', form: () => `_csrf=${encodeURIComponent(csrf)}&${fields.map((f) => `${encodeURIComponent(f)}=%FF%FE`).join('&')}` },
    { name: 'script in query and form', query: '<script>alert(1)</script>', form: form('<script>alert(1)</script>') },
    { name: 'plain values', query: 'x', form: form('x') },
    { name: 'the longest query Node accepts', query: longestQuery },
    // Built by hand: URLSearchParams encoding a megabyte per field and route was a tenth of the walk's CPU.
    { name: 'a megabyte form', form: () => megabyteForm(csrf, fields) },
    { name: 'deep JSON', json: () => deepJson(5000) },
    { name: 'NUL in JSON', json: json('a\u0000b') },
    { name: 'wrong types in JSON', json: json([{ $gt: '' }, 1, null]) },
    { name: 'numbers in JSON', json: json(-1) },
    { name: 'NUL in multipart file name', multipart: () => multipartWith({ _csrf: csrf, ...Object.fromEntries(fields.map((f) => [f, 'x'])) }, 'a\u0000.png') },
  ]
}

test('a walk of Fastify\'s own route table, as a guest and as signed-in staff with valid form tokens, meets no 5xx and no stack trace', async () => {
  const { app } = testApp()
  const routes = app.routeList.filter((r) => !r.url.startsWith('/assets/'))
  assert.ok(routes.length >= 100, `walks ${String(routes.length)} routes`)
  const { reference } = await agentAndTicket('Walk target', 'walk@hostile.example')
  const ids = { reference, userId: walkTarget.id, companyId: walkCompany.id }
  const failures: string[] = []
  let sent = 0
  let pastCsrf = 0

  // Each identity: a cookie jar with a session (or none) and the form token of its CSRF secret.
  const guest = testBrowser(() => app)
  const guestToken = csrfFrom((await guest.get('/en/login')).body)
  let staff = await signIn(testBrowser(() => app), walkStaff)
  let staffPage = await staff.get('/en/support/new')

  for (const route of routes) {
    for (const who of ['guest', 'staff'] as const) {
      // The walk may sign the staff out (logout, its own session ended): sign in again before each route.
      if (who === 'staff' && (await staff.get('/en/account')).statusCode !== 200) {
        staff = await signIn(testBrowser(() => app), walkStaff)
        staffPage = await staff.get('/en/support/new')
      }
      const browser = who === 'guest' ? guest : staff
      const csrf = who === 'guest' ? guestToken : csrfFrom(staffPage.body)
      for (const variant of variantsFor(route, csrf)) {
        const url = pathOf(route.url, (name) => (variant.keepLocale && name === 'locale' ? 'en' : variant.params) ?? reachable(name, ids))
        const query = variant.query === undefined ? undefined : Object.fromEntries((route.queryFields.length > 0 ? route.queryFields : ['q', 'locale', 'page']).map((f) => [f, variant.query ?? '']))
        const headers: Record<string, string> = { cookie: cookieHeader(browser.jar) }
        let payload: string | Buffer | undefined
        if (route.method !== 'GET' && route.method !== 'OPTIONS') {
          if (variant.multipart) {
            payload = variant.multipart()
            headers['content-type'] = 'multipart/form-data; boundary=W'
          } else if (variant.json) {
            payload = variant.json()
            headers['content-type'] = 'application/json'
          } else {
            payload = variant.form?.() ?? `_csrf=${encodeURIComponent(csrf)}`
            headers['content-type'] = 'application/x-www-form-urlencoded'
          }
        } else if (variant.json || variant.multipart || (variant.form && variant.query === undefined)) {
          continue
        }
        const rawUrl = variant.name === 'invalid UTF-8 in path' ? url.replaceAll('%EF%BF%BF', '%FF%FE') : url
        // A fresh client address per request: the per-address rate limits would otherwise end the walk early.
        sent++
        const res = await app.inject({ method: route.method as 'GET', url: rawUrl, query, payload, headers, remoteAddress: `10.9.${String(Math.floor(sent / 250) % 250)}.${String(sent % 250)}` })
        walked.add(`${route.method} ${route.url}`)
        if (res.statusCode !== 403 || !/CSRF|form has expired|modulo è scaduto/i.test(res.body)) pastCsrf++
        const problem = defect(res)
        if (problem) failures.push(`${who} ${route.method} ${route.url} (${variant.name}): ${problem}`)
      }
    }
  }
  assert.deepEqual(failures, [], `${String(failures.length)} of ${String(sent)} requests failed`)
  assert.equal(walked.size, routes.length, 'every route was walked')
  assert.ok(pastCsrf > sent * 0.9, `${String(pastCsrf)} of ${String(sent)} requests got past the CSRF check`)
})

test('over HTTP, a query longer than Node accepts is refused with 431 before it reaches the app', async () => {
  const { app } = testApp()
  // The file's app, listening for this test (it is closed with the app after the file's tests).
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const res = await fetch(`${address}/en/help/search?q=${megabyte}`)
  assert.equal(res.status, 431)
  assert.doesNotMatch(await res.text(), /\n\s+at /)
})

test('bodies that are too large, malformed or of an unknown type are refused with a 4xx', async () => {
  const { app } = testApp()
  const url = '/en/help/articles/forgot-password/feedback'
  const big = await app.inject({ method: 'POST', url, payload: `reason=${'x'.repeat(300_000)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  assert.equal(big.statusCode, 413)
  const json = await app.inject({ method: 'POST', url, payload: '{"helpful":', headers: { 'content-type': 'application/json' } })
  assert.ok([400, 403].includes(json.statusCode), String(json.statusCode))
  const xml = await app.inject({ method: 'POST', url, payload: '<x/>', headers: { 'content-type': 'application/xml' } })
  assert.equal(xml.statusCode, 415)
  const method = await app.inject({ method: 'DELETE', url: '/en/help' })
  assert.equal(method.statusCode, 404)
  const report = await app.services.help.report()
  assert.equal(report.feedback.length, 0, 'nothing was recorded')
})

test('the agent console and the ticket form answer hostile input from a signed-in agent with a 4xx and change nothing', async () => {
  const { app, agent, reference } = await agentAndTicket('Hostile input target', 'hal@hostile.example')
  const before = await app.services.desk.ticket(system, reference)
  const ticketsBefore = (await app.services.desk.queue(system, { state: undefined })).total
  const token = csrfFrom((await agent.get(`/en/agent/tickets/${reference}`)).body)
  const headers = { cookie: cookieHeader(agent.jar), 'content-type': 'application/x-www-form-urlencoded' }
  const routes = app.routeList.filter((r) => r.url.includes('/agent'))
  assert.ok(routes.length >= 8, `walks ${String(routes.length)} agent routes`)
  for (const route of routes) {
    for (const value of hostile) {
      const url = route.url.replace(':locale', 'en').replace(':reference', route.url.includes(':id') ? reference : encodeURIComponent(value || 'x')).replace(':id', encodeURIComponent(value || 'x'))
      if (route.method === 'GET') {
        check(`GET ${url}`, await app.inject({ method: 'GET', url, headers, query: { state: value, topic: value, urgency: value, age: value, breach: value, mine: value, page: value, days: value, done: value } }))
      } else {
        const payload = new URLSearchParams({ _csrf: token, message: value, state: value, action: value }).toString()
        check(`POST ${url}`, await app.inject({ method: 'POST', url, headers, payload }))
        // (Assigning takes no input: a valid post assigns, which is no hostile case.)
        if (!route.url.endsWith('/assign')) check(`POST ${url} (own ticket)`, await app.inject({ method: 'POST', url: route.url.replace(':locale', 'en').replace(':reference', reference), headers, payload: new URLSearchParams({ _csrf: token, state: value, action: value }).toString() }))
      }
    }
  }
  const after = await app.services.desk.ticket(system, reference)
  assert.equal(after.ticket.state, before.ticket.state, 'no state changed')
  assert.equal(after.messages.length, before.messages.length, 'no message was added')

  // Broken multipart bodies and deflection reports.
  const form = (await agent.get('/en/support/new')).body
  const multipart = (body: string, boundary = 'XyZ') => app.inject({ method: 'POST', url: '/en/support/new', payload: body, headers: { cookie: cookieHeader(agent.jar), 'content-type': `multipart/form-data; boundary=${boundary}` } })
  check('multipart without parts', await multipart('garbage'))
  check('multipart cut off', await multipart(`--XyZ\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${csrfFrom(form)}\r\n--XyZ\r\nContent-Disposition: form-data; name="attachments"; filename="a.png"\r\n\r\n\u0089PNG`))
  check('multipart repeated field', await multipart(`--XyZ\r\nContent-Disposition: form-data; name="subject"\r\n\r\na\r\n--XyZ\r\nContent-Disposition: form-data; name="subject"\r\n\r\nb\r\n--XyZ--\r\n`))
  for (const payload of ['{"id":', '[]', '{"id":"a","locale":"en","article":"x"}', JSON.stringify({ id: 'a'.repeat(32), locale: 'en', article: '<script>alert(1)</script>' }), JSON.stringify({ id: 'a'.repeat(32), locale: 'en', article: 'ok', extra: 1 })]) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/support/deflections', payload, headers: { 'content-type': 'application/json' } })
    check(`deflection ${payload}`, res)
    assert.ok(res.statusCode >= 400, `${payload} refused`)
  }
  assert.equal((await app.services.desk.report(system)).deflections.length, 0, 'no deflection was recorded')
  assert.equal((await app.services.desk.queue(system, { state: undefined })).total, ticketsBefore, 'no other ticket was created')
})

test('the platform console\'s service levels form answers hostile values with a 4xx and changes no market', async () => {
  const { app } = testApp()
  const platform = await signIn(testBrowser(() => app), platformAdmin)
  const token = csrfFrom((await platform.get('/en/admin/platform')).body)
  const headers = { cookie: cookieHeader(platform.jar), 'content-type': 'application/x-www-form-urlencoded' }
  const before = await app.services.organizations.listMarkets(system)
  const fields = ['normalFirstResponse', 'normalResolution', 'urgentFirstResponse', 'urgentResolution', 'timeZone', 'open1', 'close1', 'closed1', 'open7', 'close7', 'closed7']
  // IT's own figures: a post the server accepts saves what is already there.
  const it = before.find((m) => m.code === italy.code)
  assert.ok(it)
  const good: Record<string, string> = {
    normalFirstResponse: String(it.sla.normal.firstResponse), normalResolution: String(it.sla.normal.resolution),
    urgentFirstResponse: String(it.sla.urgent.firstResponse), urgentResolution: String(it.sla.urgent.resolution), timeZone: it.timeZone,
    ...Object.fromEntries((['1', '2', '3', '4', '5', '6', '7'] as const).flatMap((d) => {
      const range = it.businessHours[d]
      return range ? [[`open${d}`, range[0]], [`close${d}`, range[1]]] : [[`closed${d}`, 'on']]
    })),
  }
  for (const value of hostile) {
    for (const field of fields) {
      const url = `/en/admin/platform/markets/${italy.code}/service-levels`
      const res = await app.inject({ method: 'POST', url, headers, payload: new URLSearchParams({ ...good, _csrf: token, [field]: value }).toString() })
      check(`POST ${url} ${field}`, res)
      // A blank time on a closed day (Sunday) says nothing and is accepted; everything else here is refused.
      if (!(value.trim() === '' && /^(open7|close7)$/.test(field))) assert.ok(res.statusCode >= 400, `${field}=${JSON.stringify(value.slice(0, 20))} answered ${String(res.statusCode)}`)
    }
    check('POST market code', await app.inject({ method: 'POST', url: `/en/admin/platform/markets/${encodeURIComponent(value || 'x')}/service-levels`, headers, payload: new URLSearchParams({ ...good, _csrf: token }).toString() }))
  }
  assert.deepEqual(await app.services.organizations.listMarkets(system), before, 'no market changed')
})

test('answers with files (requester and agent) refuse broken multipart bodies with a 4xx, store nothing and never reflect a file name as markup', async () => {
  const { app, agent, reference } = await agentAndTicket('Hostile files target', 'hal.files@hostile.example')
  const agentPage = `/en/agent/tickets/${reference}`
  const token = csrfFrom((await agent.get(agentPage)).body)
  const before = await app.services.desk.ticket(system, reference)
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64')
  const post = (url: string, body: Buffer | string, boundary = 'XyZ') => app.inject({ method: 'POST', url, payload: body, headers: { cookie: cookieHeader(agent.jar), 'content-type': `multipart/form-data; boundary=${boundary}` } })
  const field = (name: string, value: string) => `--XyZ\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  for (const url of [`${agentPage}/reply`, `${agentPage}/note`, `/en/support/tickets/${reference}/reply`]) {
    check(`${url} garbage`, await post(url, 'garbage'))
    check(`${url} cut off`, await post(url, `${field('_csrf', token)}${field('message', 'cut')}--XyZ\r\nContent-Disposition: form-data; name="attachments"; filename="a.png"\r\n\r\n\u0089PNG`))
    check(`${url} repeated`, await post(url, `${field('_csrf', token)}${field('message', 'a')}${field('message', 'b')}${field('state', 'open')}--XyZ--\r\n`))
    for (const value of hostile) {
      const res = await post(url, Buffer.concat([
        Buffer.from(`${field('_csrf', token)}${field('message', value)}${field('state', value)}--XyZ\r\nContent-Disposition: form-data; name="attachments"; filename="${value.replace(/["\r\n]/g, '')}.png"\r\nContent-Type: image/png\r\n\r\n`),
        Buffer.from(value.startsWith('<') ? '<svg onload=alert(1)>' : 'not an image'), Buffer.from('\r\n--XyZ--\r\n'),
      ]))
      check(`${url} hostile file`, res)
      assert.ok(res.statusCode >= 400, `${url} with a fake file answered ${String(res.statusCode)}`)
    }
  }
  const after = await app.services.desk.ticket(system, reference)
  assert.equal(after.messages.length, before.messages.length, 'no message was added')
  assert.equal(after.attachments.length, 0, 'no file was stored')

  // A real picture with a hostile name is stored under a clean name and shown as text.
  const named = await post(`${agentPage}/note`, Buffer.concat([
    Buffer.from(`${field('_csrf', token)}${field('message', 'Picture with a strange name')}--XyZ\r\nContent-Disposition: form-data; name="attachments"; filename="<img src=x onerror=alert(1)>.png"\r\nContent-Type: image/png\r\n\r\n`),
    png, Buffer.from('\r\n--XyZ--\r\n'),
  ]))
  assert.equal(named.statusCode, 303)
  check('agent page with a hostile file name', await agent.get(agentPage))
})
