import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { cliEnvironment, sportello, withCliDatabase } from '../test/cli.js'
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

test('the CLI beside a running server never corrupts the database: the invitation link works and the server restarts', async () => {
  const env = await cliEnvironment()
  const workshop = await withCliDatabase(env, ({ database }) => factory.company({ database }))
  const port = await freePort()
  const local = (link: string) => link.replace(/^https?:\/\/[^/]+/, `http://127.0.0.1:${String(port)}`)
  const invite = (userId: string) => sportello(env, 'users', 'invite', '--user-id', userId, '--first-name', 'Lia', '--last-name', 'Neri', '--company', workshop.companyNumber, '--locale', 'it')

  let server = await startServer(env, port)
  const beside = invite('lneri')
  if (env.DATABASE_URL) {
    // On PostgreSQL the CLI and the server share the database server: the link works at once.
    assert.equal(beside.status, 0, beside.stderr)
    const page = await fetch(local(inviteLinkOf(beside.stdout)))
    assert.equal(page.status, 200)
    assert.doesNotMatch(await page.text(), /non è più valido/)
  } else {
    // The embedded database has one writer: the CLI refuses at once and says what to do.
    assert.equal(beside.status, 1)
    assert.match(beside.stderr, /The embedded database in \S+ is in use by the Sportello server \(process \d+,/)
    assert.match(beside.stderr, /Stop it first and run the command again/)
    assert.equal((await fetch(`http://127.0.0.1:${String(port)}/healthz`)).status, 200, 'the server still serves')
    // A second server on the same directory is refused the same way.
    const second = spawn(process.execPath, ['scripts/start.mjs'], { env: { ...process.env, ...env, PORT: String(await freePort()), DEMO: 'false' }, stdio: ['ignore', 'ignore', 'pipe'] })
    let secondErr = ''
    second.stderr.on('data', (chunk: Buffer) => { secondErr += chunk.toString() })
    const [secondCode] = (await once(second, 'exit')) as [number | null]
    assert.equal(secondCode, 1)
    assert.match(secondErr, /in use by the Sportello server/)
  }
  await stopServer(server)

  const afterStop = invite('lneri.cli')
  assert.equal(afterStop.status, 0, afterStop.stderr)
  server = await startServer(env, port)
  try {
    const page = await fetch(local(inviteLinkOf(afterStop.stdout)))
    assert.equal(page.status, 200)
    const html = await page.text()
    assert.doesNotMatch(html, /non è più valido/, 'the link made by the CLI works on the restarted server')
    assert.match(html, /type="password"/)
  } finally {
    await stopServer(server)
  }
})
