import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildApp } from '../../app.js'
import { helpArticles } from '../../../test/factories.js'
import { buildTestApp, freshDatabase, testConfig } from '../../../test/helpers.js'

test('healthz, readyz and metrics on a migrated database', async (t) => {
  const { app } = await buildTestApp(t)
  await helpArticles(app, [{ locale: 'en', slug: 'forgot-password', title: 'I forgot my password', body: 'Choose a new password with the link we email you.' }])
  assert.deepEqual((await app.inject('/healthz')).json(), { status: 'ok' })
  const ready = await app.inject('/readyz')
  assert.equal(ready.statusCode, 200)
  assert.deepEqual(ready.json(), { status: 'ready' })

  await app.inject({ url: '/api/v1/help/search?q=password&locale=en' })
  await app.inject({ url: '/api/v1/help/search?q=qqqzzz&locale=en' })
  const metrics = await app.inject('/metrics')
  assert.match(String(metrics.headers['content-type']), /^text\/plain/)
  assert.match(metrics.body, /sportello_http_request_duration_seconds_bucket\{.*route="\/api\/v1\/help\/search"/)
  assert.match(metrics.body, /sportello_help_searches_total\{locale="en",outcome="hit"\} 1/)
  assert.match(metrics.body, /sportello_help_searches_total\{locale="en",outcome="miss"\} 1/)
  assert.match(metrics.body, /process_resident_memory_bytes/)
  assert.match(metrics.body, /sportello_outbox_pending 0/)
})

test('readyz answers 503 while migrations are pending', async (t) => {
  const database = await freshDatabase((fn) => { t.after(fn) }, { migrate: false })
  const app = await buildApp(testConfig(), database, { logger: false })
  t.after(() => app.close())
  const res = await app.inject('/readyz')
  assert.equal(res.statusCode, 503)
  assert.equal(res.json<{ error: { code: string } }>().error.code, 'NOT_READY')
  await database.migrate()
  assert.equal((await app.inject('/readyz')).statusCode, 200)
})

test('every response carries a request id and the security headers', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-12345678' } })
  assert.equal(res.headers['x-request-id'], 'abc-12345678')
  const generated = await app.inject({ url: '/healthz', headers: { 'x-request-id': '<bad id>' } })
  assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/)
  const csp = String(res.headers['content-security-policy'])
  assert.match(csp, /script-src 'self'/)
  assert.match(csp, /frame-ancestors 'none'/)
  assert.doesNotMatch(csp, /unsafe-inline/)
  assert.equal(res.headers['x-content-type-options'], 'nosniff')
})

test('an internal failure answers 500 with a generic message in the user\'s language, never internals', async (t) => {
  const database = await freshDatabase((fn) => { t.after(fn) })
  const app = await buildApp(testConfig(), database, { logger: false })
  t.after(() => app.close())
  // The database going away mid-flight is the kind of failure a user can meet.
  const broken = { ...app.services.help, overview: () => Promise.reject(new Error('connection terminated: secret detail at db.ts:42')) }
  Object.assign(app.services.help, broken)
  const page = await app.inject({ url: '/de/help' })
  assert.equal(page.statusCode, 500)
  assert.match(page.body, /<html lang="de">/)
  assert.match(page.body, /unerwarteter Fehler/)
  assert.doesNotMatch(page.body, /secret detail|db\.ts|Error:/)
})

test('/metrics answers only with its bearer token, or without one configured only to the loopback address', async (t) => {
  const open = (await buildTestApp(t)).app
  assert.equal((await open.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 200)
  const outside = await open.inject({ url: '/metrics', remoteAddress: '203.0.113.9' })
  assert.equal(outside.statusCode, 404)
  assert.doesNotMatch(outside.body, /sportello_/)
  const token = 'metrics-token-for-the-test-0123456789abcdef'
  const guarded = (await buildTestApp(t, { env: { METRICS_TOKEN: token } })).app
  for (const authorization of [undefined, 'Bearer wrong', `Basic ${token}`, `Bearer ${token}x`]) {
    const res = await guarded.inject({ url: '/metrics', remoteAddress: '127.0.0.1', headers: authorization ? { authorization } : {} })
    assert.equal(res.statusCode, 401, String(authorization))
    assert.doesNotMatch(res.body, /sportello_/)
  }
  const allowed = await guarded.inject({ url: '/metrics', remoteAddress: '203.0.113.9', headers: { authorization: `Bearer ${token}` } })
  assert.equal(allowed.statusCode, 200)
  assert.match(allowed.body, /sportello_outbox_pending/)
})
