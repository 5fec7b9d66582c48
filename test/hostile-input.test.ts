import assert from 'node:assert/strict'
import { test } from 'node:test'
import { useTestApp } from './helpers.js'

const testApp = useTestApp({ demo: true })

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
