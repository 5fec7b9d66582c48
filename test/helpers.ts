import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, type TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { openDatabase, type Database } from '../src/db/client.js'
import { seedDemo } from '../src/seed/demo.js'
import { resetClock } from '../src/shared/clock.js'
import { cloneTemplate, removeAtExit, takeEmbeddedTestDatabase } from './template.js'

type Hook = (fn: () => Promise<void> | void) => void

/**
 * A fresh database for one test file, as the run's migrated template (test/template.ts): PGlite on a copy of
 * the template's data directory, or one an earlier file of the process used, emptied back to the template's
 * content (takeEmbeddedTestDatabase), or a new database cloned
 * from the template on the PostgreSQL server named by DATABASE_URL (dropped afterwards). With
 * `migrate: false` the database is empty, as before the first start (PGlite in memory).
 */
export async function freshDatabase(after: Hook, options: { migrate?: boolean } = {}): Promise<Database> {
  const migrated = options.migrate !== false
  const url = process.env.DATABASE_URL
  if (!url && migrated) {
    const { database, release } = await takeEmbeddedTestDatabase()
    after(release)
    return database
  }
  if (!url) {
    const database = await openDatabase({})
    after(() => database.close())
    return database
  }
  const clone = await cloneTemplate(url, { migrated })
  const database = await openDatabase({ url: clone.url, poolSize: 4 })
  after(async () => {
    await database.close()
    await clone.drop()
  })
  return database
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sportello-test-'))
  removeAtExit(dataDir)
  return loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', SESSION_SECRET: randomBytes(32).toString('hex'), ...overrides })
}

export interface TestApp {
  app: FastifyInstance
  database: Database
  config: Config
}

/** The whole app on a fresh database; `demo` loads the demo markets and help content. */
export interface TestAppOptions {
  demo?: boolean
  /** Extra environment, e.g. SMTP_URL of a test mailbox (a function when known only once hooks ran). */
  env?: Record<string, string> | (() => Record<string, string>)
}

export async function buildTestApp(t: TestContext | { after: Hook }, options: TestAppOptions = {}): Promise<TestApp> {
  const after: Hook = (fn) => { t.after(fn) }
  const database = await freshDatabase(after)
  const config = testConfig(typeof options.env === 'function' ? options.env() : options.env)
  const app = await buildApp(config, database, { logger: false })
  if (options.demo) await seedDemo(app.services)
  after(() => app.close())
  return { app, database, config }
}

/** Cookie header from a response's set-cookie headers, merged into an existing jar. */
export function cookieJar(jar: Record<string, string>, setCookie: string | string[] | undefined): Record<string, string> {
  for (const line of [setCookie ?? []].flat()) {
    const [pair = ''] = line.split(';')
    const index = pair.indexOf('=')
    if (index > 0) jar[pair.slice(0, index)] = pair.slice(index + 1)
  }
  return jar
}

export function cookieHeader(jar: Record<string, string>): string {
  return Object.entries(jar).map(([k, v]) => `${k}=${v}`).join('; ')
}

/** The value of the first hidden _csrf input in a page. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html)
  if (!match?.[1]) throw new Error('no CSRF token in page')
  return match[1]
}

/** The accessor useTestApp returns; `ready` settles when the app is built. */
export type TestAppAccessor = (() => TestApp) & { ready(): Promise<TestApp> }

/**
 * Registers file-level hooks that build one app (fresh database) before the
 * file's tests and close it after them. Returns an accessor for the tests.
 */
export function useTestApp(options: TestAppOptions = {}): TestAppAccessor {
  const cleanups: (() => Promise<void> | void)[] = []
  let current: TestApp | undefined
  let settle: { resolve(app: TestApp): void; reject(error: unknown): void } | undefined
  const ready = new Promise<TestApp>((resolve, reject) => { settle = { resolve, reject } })
  ready.catch(() => undefined)
  before(async () => {
    try {
      current = await buildTestApp({ after: (fn: () => Promise<void> | void) => { cleanups.push(fn) } }, options)
      settle?.resolve(current)
    } catch (error) {
      settle?.reject(error)
      throw error
    }
  })
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    // Several files share a test process (scripts/test-group.mjs): time left pinned would move the next file's.
    if (resetClock()) throw new Error('a test of this file left the clock pinned (setClock without its undo, or two side by side)')
  })
  const accessor = () => {
    if (!current) throw new Error('test app not built yet')
    return current
  }
  return Object.assign(accessor, { ready: () => ready })
}

/**
 * The rows a whole file shares, made with the factories once its app is built and before its
 * tests run. (Node 20 starts file-level hooks side by side, so a hook of its own would not wait
 * for the app.) Returns an accessor for what `make` answered.
 */
export function useFixture<T>(testApp: TestAppAccessor, make: (app: TestApp) => Promise<T>): () => T {
  let made: { value: T } | undefined
  before(async () => {
    made = { value: await make(await testApp.ready()) }
  })
  return () => {
    if (!made) throw new Error('fixture not made yet')
    return made.value
  }
}

export interface Browser {
  jar: Record<string, string>
  get(url: string): Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }>
  post(url: string, form: Record<string, string>, options?: { fromPage?: string; csrf?: boolean }): Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }>
}

let clients = 0

/** A cookie-keeping client, with an address of its own, that fills forms the way a browser does, CSRF token included. */
export function testBrowser(app: () => FastifyInstance): Browser {
  const jar: Record<string, string> = {}
  const remoteAddress = `10.0.${Math.floor(++clients / 250)}.${clients % 250}`
  const b: Browser = {
    jar,
    async get(url) {
      const res = await app().inject({ url, remoteAddress, headers: { cookie: cookieHeader(jar) } })
      cookieJar(jar, res.headers['set-cookie'])
      return res
    },
    async post(url, form, options = {}) {
      const page = await b.get(options.fromPage ?? url)
      const body = options.csrf === false ? form : { _csrf: csrfFrom(page.body), ...form }
      const res = await app().inject({
        method: 'POST', url, remoteAddress, payload: new URLSearchParams(body).toString(),
        headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      })
      cookieJar(jar, res.headers['set-cookie'])
      return res
    },
  }
  return b
}

