import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import { IncompatibleDataDirError, PGLITE_POSTGRES_MAJOR, ensureEmbeddedTemplate, openDatabase, type Database } from './client.js'
import { DataDirInUseError, lockFileOf } from './data-dir-lock.js'
import { rows } from './query.js'

// The embedded database only: on PostgreSQL (DATABASE_URL) there is no data directory to share.
const onPglite = !process.env.DATABASE_URL

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('a data directory made by an older PGlite is refused with what to do, and left as it was', { skip: !onPglite }, async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'sportello-old-'))
  after(() => { rmSync(root, { recursive: true, force: true }) })
  const dataDir = path.join(root, 'pglite')
  mkdirSync(path.join(dataDir, 'base'), { recursive: true })
  writeFileSync(path.join(dataDir, 'PG_VERSION'), '17\n')
  writeFileSync(path.join(dataDir, 'base', 'page'), 'old pages')
  const before = readdirSync(dataDir, { recursive: true, encoding: 'utf8' }).sort()
  await assert.rejects(openDatabase({ dataDir }), (error: unknown) => {
    assert.ok(error instanceof IncompatibleDataDirError)
    assert.match(error.message, /made by an older PGlite \(PostgreSQL 17\)/)
    assert.match(error.message, new RegExp(`PostgreSQL ${PGLITE_POSTGRES_MAJOR}\\), which cannot open it\\. Nothing was changed\\.`))
    assert.match(error.message, /Move it aside \(mv \S+pglite \S+pglite-pg17\)/)
    assert.match(error.message, /README, "Breaking change: PGlite 0\.5"/)
    return true
  })
  assert.deepEqual(readdirSync(dataDir, { recursive: true, encoding: 'utf8' }).sort(), before)
  assert.equal(readFileSync(path.join(dataDir, 'base', 'page'), 'utf8'), 'old pages')
  assert.equal(existsSync(lockFileOf(dataDir)), false, 'the lock is given back')
})

test('a new data directory starts as a copy of the migrated template; one that holds a database is never overwritten', { skip: !onPglite }, async () => {
  await ensureEmbeddedTemplate()
  const root = mkdtempSync(path.join(tmpdir(), 'sportello-first-'))
  after(() => { rmSync(root, { recursive: true, force: true }) })

  const fromTemplate = await openDatabase({ dataDir: path.join(root, 'first'), startFromTemplate: true })
  try {
    assert.equal(await fromTemplate.pendingMigrations(), 0, 'migrated before the first migrate()')
    await fromTemplate.db.execute(sql`create table kept as select 1 as n`)
  } finally {
    await fromTemplate.close()
  }
  const reopened = await openDatabase({ dataDir: path.join(root, 'first'), startFromTemplate: true })
  try {
    const [kept] = await rows<{ count: number }>(reopened.db, sql`select count(*)::int as count from kept`)
    assert.equal(kept?.count, 1, 'a second start keeps what the first wrote')
  } finally {
    await reopened.close()
  }

  const bare = await openDatabase({ dataDir: path.join(root, 'bare') })
  try {
    assert.ok(await bare.pendingMigrations() > 0, 'without the template a new directory is empty, as PostgreSQL\'s initdb leaves it')
  } finally {
    await bare.close()
  }
})

describe('the embedded database served on a socket', { skip: !onPglite }, () => {
  let root: string
  let dataDir: string
  let socketPath: string
  let server: Database
  let command: Database

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'sportello-sock-'))
    dataDir = path.join(root, 'pglite')
    socketPath = path.join(root, 'socket', '.s.PGSQL.5432')
    server = await openDatabase({ dataDir, socketPath, holder: 'the Sportello server' })
    await server.db.execute(sql`create table notes (id serial primary key, body text not null, at timestamptz not null default clock_timestamp())`)
    // Another opener of the same directory connects through the socket (here in the same process, as a command would).
    command = await openDatabase({ dataDir, holder: 'sportello test' })
  })
  after(async () => {
    await command.close()
    await server.close()
    rmSync(root, { recursive: true, force: true })
  })

  test('the lock file names the server and its socket; the server is PostgreSQL 18 with a small buffer cache', async () => {
    const [pid, , what, socket] = readFileSync(lockFileOf(dataDir), 'utf8').split('\n')
    assert.equal(Number(pid), process.pid)
    assert.equal(what, 'the Sportello server')
    assert.equal(socket, socketPath)
    assert.equal(statSync(path.dirname(socketPath)).mode & 0o777, 0o700, 'no other user reaches the socket')
    assert.equal(command.kind, 'pglite')
    const [row] = await rows<{ version: string; buffers: string }>(command.db, sql`select current_setting('server_version_num') as version, current_setting('shared_buffers') as buffers`)
    assert.match(row?.version ?? '', new RegExp(`^${PGLITE_POSTGRES_MAJOR}`))
    assert.equal(row?.buffers, '16MB')
  })

  test('a second server on the directory is refused', async () => {
    await assert.rejects(openDatabase({ dataDir, socketPath: path.join(root, 'other', '.s.PGSQL.5432'), holder: 'a second server' }), (error: unknown) => {
      assert.ok(error instanceof DataDirInUseError)
      assert.match(error.message, /in use by the Sportello server \(process \d+/)
      return true
    })
  })

  /** `writer` writes twice in one transaction with a pause between; `reader` counts meanwhile. Answers the order of events. */
  const readDuringTransaction = async (writer: Database, reader: Database, who: string): Promise<string[]> => {
    const order: string[] = []
    const writing = writer.db.transaction(async (tx) => {
      await tx.execute(sql`insert into notes (body) values (${`${who} 1`})`)
      order.push(`${who} wrote 1`)
      await sleep(300)
      await tx.execute(sql`insert into notes (body) values (${`${who} 2`})`)
      order.push(`${who} wrote 2`)
    })
    // The reader starts once the writer's transaction holds its first row, however busy the machine.
    while (order.length === 0) await Promise.race([writing, sleep(10)])
    const seen = await rows<{ count: number }>(reader.db, sql`select count(*)::int as count from notes where body like ${`${who} %`}`)
    order.push(`reader saw ${String(seen[0]?.count)}`)
    await writing
    return order
  }

  test('a command\'s transaction and the server\'s queries never interleave', async () => {
    // The server's own query waits for the command's transaction and sees all of it or none.
    assert.deepEqual(await readDuringTransaction(command, server, 'command'), ['command wrote 1', 'command wrote 2', 'reader saw 2'])
    // And the other way round: a server transaction keeps the command out until it commits.
    assert.deepEqual(await readDuringTransaction(server, command, 'server'), ['server wrote 1', 'server wrote 2', 'reader saw 2'])
  })

  test('many statements from several clients and the server at once all land, each with its parameters', async () => {
    const other = await openDatabase({ dataDir, holder: 'sportello other' })
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => {
        const on = [server, command, other][i % 3]
        assert.ok(on)
        return on.db.transaction(async (tx) => {
          await tx.execute(sql`insert into notes (body) values (${`many ${String(i)}`})`)
          const [mine] = await rows<{ body: string }>(tx, sql`select body from notes where body = ${`many ${String(i)}`}`)
          assert.equal(mine?.body, `many ${String(i)}`)
        })
      }))
    } finally {
      await other.close()
    }
    const [row] = await rows<{ count: number }>(server.db, sql`select count(distinct body)::int as count from notes where body like 'many %'`)
    assert.equal(row?.count, 30)
  })

  test('a client that pipelines its statements on one connection gets each answer in order', async () => {
    const raw = postgres({ host: path.dirname(socketPath), port: 5432, database: 'postgres', username: 'postgres', prepare: false, max: 1, onnotice: () => undefined })
    try {
      await raw`select 1`
      // The server is busy in a transaction while the client's statements arrive, in several writes.
      const busy = server.db.transaction(async (tx) => {
        await tx.execute(sql`select 1`)
        await sleep(300)
      })
      await sleep(20)
      const answers = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        await sleep(Math.floor(i / 10) * 30)
        return raw<{ n: number }[]>`select ${i}::int as n, pg_sleep(0.001)`
      }))
      await busy
      assert.deepEqual(answers.map((answer) => answer[0]?.n), Array.from({ length: 40 }, (_, i) => i))
    } finally {
      await raw.end({ timeout: 5 })
    }
  })

  test('a client that disconnects in the middle of a transaction is rolled back and the server goes on', async () => {
    const raw = postgres({ host: path.dirname(socketPath), port: 5432, database: 'postgres', username: 'postgres', prepare: false, max: 1, onnotice: () => undefined })
    const reserved = await raw.reserve()
    await reserved`begin`
    await reserved`insert into notes (body) values ('abandoned')`
    // Gone without a word (a killed command): the socket closes.
    await raw.end({ timeout: 0 })
    const [row] = await rows<{ count: number }>(server.db, sql`select count(*)::int as count from notes where body = 'abandoned'`)
    assert.equal(row?.count, 0)
  })

  test('run-once locks hold across the server and a command', async () => {
    let inside = 0
    const results = await Promise.all([
      server.withExclusiveLock('sweep', async () => { inside++; await sleep(200); return 'server' }),
      (async () => { await sleep(50); return command.withExclusiveLock('sweep', () => { inside++; return Promise.resolve('command') }) })(),
    ])
    assert.deepEqual(results, ['server', undefined])
    assert.equal(inside, 1)
    assert.equal(await command.withExclusiveLock('sweep', () => Promise.resolve('command')), 'command', 'free again afterwards')
  })

  test('a NOTIFY sent by a command reaches the server\'s listeners', async () => {
    const heard: string[] = []
    const stop = await server.listen('help_revision', (payload) => { heard.push(payload) })
    await command.db.execute(sql`select pg_notify('help_revision', 'from the command')`)
    for (let waited = 0; waited < 2000 && heard.length === 0; waited += 50) await sleep(50)
    await stop()
    assert.deepEqual(heard, ['from the command'])
  })
})
