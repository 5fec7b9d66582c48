/**
 * Two Sportello servers on one PostgreSQL database behind HAProxy, as docs/deployment.md grows a
 * portal to several nodes. Everything goes through the proxy over real HTTP; the proxy sends a
 * request to the node its `x-test-node` header names (round robin without it) and says which node
 * answered in `x-served-by`.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { cookieHeader, cookieJar, csrfFrom } from './helpers.js'
import { company, mailsTo, TEST_PASSWORD, user } from './factories.js'
import { useMailbox } from './mailbox.js'
import { sportello, withCliDatabase } from './cli.js'
import { cloneTemplate } from './template.js'

const DAY = 24 * 60 * 60 * 1000
const RATE_LIMIT = 20

/** HAProxy from Debian's package (.ci/run installs it). */
function proxyBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v haproxy || ls /usr/sbin/haproxy'], { encoding: 'utf8' }).stdout.trim().split('\n')[0]
  return found && existsSync(found) ? found : undefined
}

const haproxy = proxyBinary()
// CI must run this test: .ci/run installs HAProxy and sets SPORTELLO_TWO_NODES=required.
const required = process.env.SPORTELLO_TWO_NODES === 'required'
const skip = !process.env.DATABASE_URL
  ? 'two nodes need PostgreSQL (DATABASE_URL): the embedded database has one writer, the server that owns its directory'
  : !haproxy && !required
    ? 'HAProxy is not installed (apt-get install haproxy); .ci/run installs it'
    : false

async function freePort(): Promise<number> {
  const probe = createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const address = probe.address()
  probe.close()
  assert.ok(address && typeof address === 'object')
  return address.port
}

interface Node { name: 'a' | 'b'; port: number; child: ChildProcess; logs: () => string }

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > until) assert.fail(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

async function startNode(name: 'a' | 'b', env: Record<string, string>): Promise<Node> {
  const port = await freePort()
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    env: { ...process.env, ...env, PORT: String(port), DATA_DIR: await mkdtemp(path.join(tmpdir(), `sportello-node-${name}-`)) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  // Kept in a file too: when a step fails, the node's own log says why.
  const logFile = path.join(tmpdir(), `sportello-two-nodes-${name}.log`)
  await writeFile(logFile, '')
  const keep = (chunk: Buffer) => { output += chunk.toString(); void appendFile(logFile, chunk) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  await waitFor(`node ${name} to answer /healthz`, async () => {
    if (child.exitCode !== null) assert.fail(`node ${name} stopped with ${String(child.exitCode)}: ${output}`)
    return (await fetch(`http://127.0.0.1:${String(port)}/healthz`).then((r) => r.ok, () => false)) ? true : undefined
  }, 120_000, 200)
  return { name, port, child, logs: () => output }
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

/** A visitor with a cookie jar, talking to the portal through the proxy, on node `via` when named. */
function visitor(proxyUrl: () => string) {
  const jar: Record<string, string> = {}
  const send = async (via: 'a' | 'b' | undefined, pathname: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers)
    headers.set('cookie', cookieHeader(jar))
    if (via) headers.set('x-test-node', via)
    const res = await fetch(`${proxyUrl()}${pathname}`, { ...init, headers, redirect: 'manual' })
    cookieJar(jar, res.headers.getSetCookie())
    const body = await res.text()
    if (via) assert.equal(res.headers.get('x-served-by'), via, `the proxy sent ${pathname} to node ${via}`)
    return { status: res.status, body, headers: res.headers }
  }
  return {
    jar,
    get: (via: 'a' | 'b' | undefined, pathname: string) => send(via, pathname),
    /** The form of `pathname` from node `pageVia`, posted to node `via` (its token came from the other node). */
    async post(via: 'a' | 'b', pathname: string, form: Record<string, string>, pageVia: 'a' | 'b' = via) {
      const page = await send(pageVia, pathname)
      return send(via, pathname, {
        method: 'POST', body: new URLSearchParams({ _csrf: csrfFrom(page.body), ...form }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
    },
  }
}

describe('two nodes on one PostgreSQL behind HAProxy', { skip }, () => {
  const mailbox = useMailbox()
  let env: Record<string, string> = {}
  let nodes: Node[] = []
  let proxy: ChildProcess | undefined
  let proxyUrl = ''
  let contentDir = ''
  let dropDatabase: () => Promise<void> = () => Promise.resolve()
  const people = {} as Record<'signer' | 'locked' | 'sleeper', { userId: string; email: string; firstName: string }>

  before(async () => {
    if (!haproxy) assert.fail('HAProxy is required here (SPORTELLO_TWO_NODES=required) but not installed')
    // A database of this file's own (cliEnvironment's would be dropped when this hook ends).
    const database = await cloneTemplate(process.env.DATABASE_URL ?? '')
    dropDatabase = database.drop
    contentDir = await mkdtemp(path.join(tmpdir(), 'sportello-nodes-content-'))
    env = { DATABASE_URL: database.url, DATA_DIR: path.join(contentDir, 'cli') }
    await withCliDatabase(env, async ({ database }) => {
      const workshop = await company({ database })
      const make = async (prefix: string, extra: { lastActivityAt?: Date } = {}) => {
        const row = await user({ database }, { company: workshop, userId: `${prefix}.${randomBytes(3).toString('hex')}`, firstName: `Nodo${prefix}`, ...extra })
        return { userId: row.userId, email: row.email ?? '', firstName: row.firstName }
      }
      people.signer = await make('signer')
      people.locked = await make('locked')
      // Inactive for 151 days: the next sweep warns this account (one email).
      people.sleeper = await make('sleeper', { lastActivityAt: new Date(Date.now() - 151 * DAY) })
    })
    // The help content, as an operator imports it before starting the nodes.
    await cp('content', contentDir, { recursive: true })
    const imported = sportello(env, 'content', 'import', contentDir)
    assert.equal(imported.status, 0, imported.stderr)

    const proxyPort = await freePort()
    proxyUrl = `http://127.0.0.1:${String(proxyPort)}`
    const common = {
      ...env, DEMO: 'false', LOG_LEVEL: 'info', PUBLIC_URL: proxyUrl, TRUST_PROXY: 'true', SMTP_URL: mailbox().url,
      // Every node shares the secrets: a cookie signed by one is read by the other.
      SESSION_SECRET: randomBytes(32).toString('hex'), OIDC_KEY_SECRET: randomBytes(32).toString('hex'),
      AUTH_RATE_LIMIT: String(RATE_LIMIT), LIFECYCLE_SWEEP_MINUTES: '1',
    }
    nodes = await Promise.all([startNode('a', common), startNode('b', common)])
    const [a, b] = nodes as [Node, Node]
    const config = [
      'global', '  maxconn 200',
      'defaults', '  mode http', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s',
      'frontend portal', `  bind 127.0.0.1:${String(proxyPort)}`,
      // The proxy, not the client, says who the client is (TRUST_PROXY=true trusts this header).
      '  http-request set-header X-Forwarded-For %[src]', '  default_backend nodes',
      'backend nodes', '  balance roundrobin',
      '  use-server a if { req.hdr(x-test-node) -m str a }', '  use-server b if { req.hdr(x-test-node) -m str b }',
      '  http-response set-header X-Served-By %[srv_name]',
      `  server a 127.0.0.1:${String(a.port)}`, `  server b 127.0.0.1:${String(b.port)}`, '',
    ].join('\n')
    const configFile = path.join(contentDir, 'haproxy.cfg')
    await writeFile(configFile, config)
    proxy = spawn(haproxy, ['-db', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
    await waitFor('the proxy', async () => (await fetch(`${proxyUrl}/healthz`).then((r) => r.ok, () => false)) ? true : undefined, 20_000)
  })

  after(async () => {
    await stop(proxy)
    await Promise.all(nodes.map((node) => stop(node.child)))
    if (contentDir) await rm(contentDir, { recursive: true, force: true })
    await dropDatabase()
  })

  test('the proxy spreads requests over both nodes', async () => {
    const served = new Set<string>()
    for (let i = 0; i < 4; i++) served.add((await fetch(`${proxyUrl}/healthz`)).headers.get('x-served-by') ?? '')
    assert.deepEqual([...served].sort(), ['a', 'b'])
  })

  test('a session made through node A works on node B, and signing out on B ends it on A', async () => {
    const person = visitor(() => proxyUrl)
    const signedIn = await person.post('a', '/en/login', { identifier: people.signer.userId, password: TEST_PASSWORD })
    assert.equal(signedIn.status, 303, signedIn.body.slice(0, 300))
    const onB = await person.get('b', '/en/account')
    assert.equal(onB.status, 200)
    assert.ok(onB.body.includes(people.signer.firstName), 'node B shows the account of the person signed in on A')
    const signedOut = await person.post('b', '/en/logout', {})
    assert.equal(signedOut.status, 303)
    const onA = await person.get('a', '/en/account')
    assert.equal(onA.status, 303, 'signed out on B, no longer signed in on A')
  })

  test('a lockout counted on both nodes holds on both, and its email is sent once', async () => {
    const attacker = visitor(() => proxyUrl)
    for (let i = 0; i < 10; i++) {
      const wrong = await attacker.post(i % 2 === 0 ? 'a' : 'b', '/en/login', { identifier: people.locked.userId, password: `wrong-${String(i)}` })
      assert.equal(wrong.status, 401)
    }
    // The right password is refused on both: the account is locked for everyone, wherever it is tried.
    for (const via of ['a', 'b'] as const) {
      const right = await visitor(() => proxyUrl).post(via, '/en/login', { identifier: people.locked.userId, password: TEST_PASSWORD })
      assert.equal(right.status, 401, `locked on node ${via}`)
    }
    await waitFor('the lockout email', () => mailbox().to(people.locked.email).length > 0 ? true : undefined, 30_000)
    assert.equal(mailbox().to(people.locked.email).length, 1, 'one email about the lockout, not one per node')
  })

  test('the per-address sign-in limit counts the requests of both nodes together', async () => {
    // Sign-in attempts so far from this address (the proxy's client), on either node: 1 + 10 + 2 = 13 of RATE_LIMIT.
    const guest = visitor(() => proxyUrl)
    const statuses: number[] = []
    for (let i = 13; i < RATE_LIMIT + 2; i++) {
      statuses.push((await guest.post(i % 2 === 0 ? 'a' : 'b', '/en/login', { identifier: 'nobody', password: 'wrong' })).status)
    }
    assert.deepEqual(statuses, [...Array<number>(RATE_LIMIT - 13).fill(401), 429, 429], 'the limit is reached after RATE_LIMIT sign-ins in all, on either node')
  })

  test('a content import is served by the other node within a second', async () => {
    const article = '/en/help/articles/forgot-password'
    const before = await fetch(`http://127.0.0.1:${String(nodes[1]?.port)}${article}`)
    assert.equal(before.status, 200)
    const file = path.join(contentDir, 'en', 'password', 'forgot-password.md')
    const text = await readFile(file, 'utf8')
    const newTitle = `Forgotten your password? (${randomBytes(3).toString('hex')})`
    await writeFile(file, text.replace(/^title: .*$/m, `title: ${newTitle}`))
    // The operator imports on node A's machine; node B had the old revision cached.
    const imported = sportello(env, 'content', 'import', contentDir)
    assert.equal(imported.status, 0, imported.stderr)
    const importedAt = Date.now()
    const seen = await waitFor('node B to serve the new title', async () => {
      const page = await visitor(() => proxyUrl).get('b', article)
      return page.body.includes(newTitle) ? Date.now() - importedAt : undefined
    }, 5_000, 50)
    assert.ok(seen <= 1000, `node B served the import after ${String(seen)} ms`)
  })

  test('the sweep runs once across both nodes: one warning email, not two', async () => {
    // Both nodes schedule the sweep a minute after they started; one holds the lock, the other skips
    // (or, coming later, finds nothing left to do).
    const swept = (node: Node) => /lifecycle sweep (done|skipped)/.test(node.logs())
    await waitFor('both nodes to run their sweep', () => nodes.every(swept) ? true : undefined, 150_000, 500)
    await waitFor('the warning email', () => mailbox().to(people.sleeper.email).length > 0 ? true : undefined, 30_000)
    const queued = await withCliDatabase(env, ({ database }) => mailsTo({ database }, people.sleeper.email))
    assert.deepEqual(queued.map((m) => m.template), ['lifecycle-block_warned'], 'one email queued')
    assert.equal(mailbox().to(people.sleeper.email).length, 1, 'and sent once')
  })
})
