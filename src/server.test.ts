import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { cliEnvironment, runSportello, sportelloAsync, withCliDatabase } from '../test/cli.js'
import * as factory from '../test/factories.js'

async function freePort(): Promise<number> {
  const probe = createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const address = probe.address()
  probe.close()
  assert.ok(address && typeof address === 'object')
  return address.port
}

/** What each started server wrote to stderr, for the message of a failed assertion. */
const errorsOf = new WeakMap<ChildProcess, () => string>()

/** `npm start` as an operator runs it, on the test's database; answers once /healthz says 200. */
async function startServer(env: Record<string, string>, port: number): Promise<ChildProcess> {
  const server = spawn(process.execPath, ['scripts/start.mjs'], {
    env: { ...process.env, ...env, PORT: String(port), DEMO: 'false', LIFECYCLE_SWEEP_MINUTES: '0', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  server.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  errorsOf.set(server, () => stderr)
  for (let waited = 0; waited < 120_000; waited += 200) {
    if (server.exitCode !== null) assert.fail(`the server stopped with ${String(server.exitCode)}: ${stderr}`)
    const ready = await fetch(`http://127.0.0.1:${String(port)}/healthz`).then((r) => r.ok, () => false)
    if (ready) return server
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  server.kill('SIGKILL')
  assert.fail(`the server did not answer within 2 minutes: ${stderr}`)
}

async function stopServer(server: ChildProcess): Promise<void> {
  const exited = once(server, 'exit')
  server.kill('SIGTERM')
  const [code] = (await exited) as [number | null]
  assert.equal(code, 0, `the server shuts down cleanly: ${errorsOf.get(server)?.() ?? ''}`)
}

function inviteLinkOf(stdout: string): string {
  const link = /Single-use link, valid 7 days: (\S+)/.exec(stdout)?.[1]
  assert.ok(link, stdout)
  return link
}

test('the CLI beside a running server shares its database: the invitation link works at once, and after a restart', async () => {
  const env = await cliEnvironment()
  const port = await freePort()
  const local = (link: string) => link.replace(/^https?:\/\/[^/]+/, `http://127.0.0.1:${String(port)}`)
  let companyNumber = ''
  const args = (userId: string) => ['users', 'invite', '--user-id', userId, '--first-name', 'Lia', '--last-name', 'Neri', '--company', companyNumber, '--locale', 'it']
  // In this process, the code bin/sportello.js runs, opening the configured database as a command does.
  const invite = (userId: string) => runSportello({ env }, ...args(userId))
  // Processes of their own: two commands at once, beside the server process.
  const inviteAsync = (userId: string) => sportelloAsync(env, ...args(userId))
  const opensForm = async (link: string) => {
    const page = await fetch(local(link))
    assert.equal(page.status, 200)
    const html = await page.text()
    assert.doesNotMatch(html, /non è più valido/, 'the link made by the CLI works on the running server')
    assert.match(html, /type="password"/)
  }

  let server = await startServer(env, port)
  try {
    // Made while the server runs, through its socket on PGlite: this process starts no database of its own.
    companyNumber = (await withCliDatabase(env, ({ database }) => factory.company({ database }))).companyNumber
    // Two commands at once beside the server, while it answers requests: on PGlite both go through its socket.
    const [first, second] = await Promise.all([inviteAsync('lneri'), inviteAsync('lneri.two'), fetch(`http://127.0.0.1:${String(port)}/readyz`)])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(second.code, 0, second.stderr)
    await opensForm(inviteLinkOf(first.stdout))
    await opensForm(inviteLinkOf(second.stdout))
    assert.equal((await fetch(`http://127.0.0.1:${String(port)}/readyz`)).status, 200, 'the server still serves')
    if (!env.DATABASE_URL) {
      // A second server on the same directory is refused: one writer per data directory.
      const other = spawn(process.execPath, ['scripts/start.mjs'], { env: { ...process.env, ...env, PORT: String(await freePort()), DEMO: 'false' }, stdio: ['ignore', 'ignore', 'pipe'] })
      let otherErr = ''
      other.stderr.on('data', (chunk: Buffer) => { otherErr += chunk.toString() })
      const [otherCode] = (await once(other, 'exit')) as [number | null]
      assert.equal(otherCode, 1)
      assert.match(otherErr, /The embedded database in \S+ is in use by the Sportello server \(process \d+,/)
    }
  } finally {
    await stopServer(server)
  }

  // No server: the command opens the directory itself.
  const afterStop = await invite('lneri.cli')
  assert.equal(afterStop.status, 0, afterStop.stderr)
  server = await startServer(env, port)
  try {
    await opensForm(inviteLinkOf(afterStop.stdout))
    // And through the restarted server's socket again.
    const again = await invite('lneri.again')
    assert.equal(again.status, 0, again.stderr)
    await opensForm(inviteLinkOf(again.stdout))
  } finally {
    await stopServer(server)
  }
})

test('a command says clearly when the server holds the embedded database but its socket does not answer', { skip: Boolean(process.env.DATABASE_URL) }, async () => {
  const env = await cliEnvironment()
  // A live process (this test) holds the directory and names a socket no one listens on.
  const dataDir = path.join(env.DATA_DIR ?? '', 'pglite')
  const socket = path.join(env.DATA_DIR ?? '', 'socket', '.s.PGSQL.5432')
  writeFileSync(`${dataDir}.lock`, `${String(process.pid)}\n${new Date().toISOString()}\nthe Sportello server\n${socket}\n`)
  // A file where the socket should be, and no one listening on it.
  mkdirSync(path.dirname(socket), { recursive: true })
  writeFileSync(socket, '')
  try {
    const started = Date.now()
    // A process of its own: the lock names this test process as the server, so the command must be another one.
    const result = await sportelloAsync(env, 'migrate')
    assert.equal(result.code, 1)
    assert.match(result.stderr, /is held by the Sportello server \(process \d+, since [^)]+\), which serves it on \S+\.s\.PGSQL\.5432, but the socket does not answer/)
    assert.match(result.stderr, /stopping the server lets the command open the database itself/)
    assert.ok(Date.now() - started < 25_000, 'it does not wait for a server that is not there')
  } finally {
    rmSync(`${dataDir}.lock`, { force: true })
  }
})
