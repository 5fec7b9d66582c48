import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { test } from 'node:test'
import { ConfigError, loadConfig } from './config.js'

test('defaults give a portal on localhost:3000 with the embedded database in ./data', () => {
  const config = loadConfig({})
  assert.equal(config.port, 3000)
  assert.equal(config.host, '127.0.0.1')
  assert.equal(config.publicUrl, 'http://localhost:3000')
  assert.equal(config.dataDir, path.resolve('data'))
  assert.equal(config.databaseUrl, undefined)
  assert.equal(config.logLevel, 'info')
  assert.equal(config.demo, undefined)
})

test('values are converted and PUBLIC_URL follows PORT unless given', () => {
  const config = loadConfig({ PORT: '8080', DEMO: 'false', LOG_LEVEL: 'warn', DATABASE_URL: 'postgres://u@h:5432/db' })
  assert.equal(config.port, 8080)
  assert.equal(config.publicUrl, 'http://localhost:8080')
  assert.equal(config.demo, false)
  assert.equal(config.databaseUrl, 'postgres://u@h:5432/db')
  assert.equal(loadConfig({ PUBLIC_URL: 'https://portal.example.com/' }).publicUrl, 'https://portal.example.com')
})

test('every bad value is named with what was expected', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'abc' }, /PORT="abc" is invalid: expected an integer from 0 to 65535/],
    [{ PORT: '70000' }, /PORT="70000"/],
    [{ PUBLIC_URL: 'portal.example.com' }, /PUBLIC_URL/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ SMTP_URL: 'http://mail' }, /SMTP_URL/],
    [{ SESSION_SECRET: 'short' }, /SESSION_SECRET/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ DEMO: 'yes' }, /DEMO/],
  ]
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && message.test(error.message), JSON.stringify(env))
  }
  const both = (() => { try { loadConfig({ PORT: 'x', LOG_LEVEL: 'y' }) } catch (e) { return e } })()
  assert.ok(both instanceof ConfigError)
  assert.equal(both.problems.length, 2)
})

test('the server refuses to start with a bad value: clear message, exit code 1', () => {
  const result = spawnSync(process.execPath, ['scripts/start.mjs'], {
    env: { ...process.env, PORT: 'abc', DATABASE_URL: '' }, encoding: 'utf8', timeout: 30_000,
  })
  assert.equal(result.status, 1)
  assert.match(result.stderr, /PORT="abc" is invalid/)
  assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, 'no stack trace')
})
