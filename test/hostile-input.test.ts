import assert from 'node:assert/strict'
import { test } from 'node:test'
import { helpArticles, market, signIn, system, user, type MarketRow, type UserRow } from './factories.js'
import { cookieHeader, csrfFrom, testBrowser, useFixture, useTestApp } from './helpers.js'

const testApp = useTestApp()

/** A market with a support agent, a platform administrator, and help articles (one with branches) in every language. */
let italy: MarketRow
let agentIt: UserRow
let platformAdmin: UserRow
useFixture(testApp, async (app) => {
  italy = await market(app, { code: 'IT' })
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
const rawQueries = ['%FF%FE', '%C3%28', '%', '%E0%A4%A', 'q[]=a&q[]=b', 'q=a&q=b', 'locale[]=en', '__proto__[x]=1', 'constructor.prototype.x=1']

function fill(url: string, value: string): string {
  return url.replace(/:(\w+)/g, () => encodeURIComponent(value)).replace('*', encodeURIComponent(value))
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

test('every route answers hostile path, query and body values without a 5xx or reflected markup', async () => {
  const { app } = testApp()
  const routes = app.routeList.filter((r) => !r.url.startsWith('/assets/'))
  assert.ok(routes.length >= 10, `walks ${routes.length} routes`)
  for (const route of routes) {
    for (const value of hostile) {
      const url = fill(route.url, value || 'x')
      const query = { q: value, locale: value, limit: value, topic: value, article: value, branch: value }
      if (route.method === 'GET') {
        check(`GET ${url}`, await app.inject({ method: 'GET', url, query }))
      } else {
        const form = new URLSearchParams({ helpful: value, reason: value, branch: value, _csrf: value }).toString()
        check(`${route.method} ${url} form`, await app.inject({ method: route.method as 'POST', url, payload: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } }))
        check(`${route.method} ${url} json`, await app.inject({ method: route.method as 'POST', url, payload: { helpful: value }, headers: { 'content-type': 'application/json' } }))
      }
    }
    for (const raw of rawQueries) {
      const url = `${fill(route.url, 'en')}?${raw}`
      check(`${route.method} ${url}`, await app.inject({ method: route.method as 'GET', url }))
    }
  }
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
  assert.equal((await app.services.desk.queue(system, { state: undefined })).total, 1, 'no other ticket was created')
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
