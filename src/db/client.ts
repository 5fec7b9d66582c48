import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { fuzzystrmatch } from '@electric-sql/pglite/contrib/fuzzystrmatch'
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm'
import { unaccent } from '@electric-sql/pglite/contrib/unaccent'
import { sql } from 'drizzle-orm'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import * as schema from './schema/index.js'
import { DataDirInUseError, holderOf, lockFileOf, tryLockFile, type LockHolder } from './data-dir-lock.js'
import { serveOnSocket, type EmbeddedSocketServer } from './embedded-socket.js'
import { copyFolder, embeddedTemplateDir, existingEmbeddedTemplate, isEmptyDataDir, removeStaleEmbeddedTemplates } from './embedded-template.js'
import { firstRow } from './query.js'
import { sourceDir } from '../paths.js'

export type Schema = typeof schema
export type Db = PgDatabase<PgQueryResultHKT, Schema>
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
/** Where a repository runs its statements: the pool, or the transaction of the use case it is part of. */
export type Executor = Db | Tx

export const migrationsFolder = path.join(sourceDir, 'db/migrations')

/** Taken around migrations so that several processes starting at once migrate one after the other. */
const MIGRATION_LOCK = 727_001

export interface DatabaseOptions {
  /** postgres://… ; when absent the embedded PGlite is used. */
  url?: string | undefined
  /** PGlite data directory; absent means in memory (tests). */
  dataDir?: string | undefined
  /**
   * Serve the embedded database on this Unix socket while it is open (the server does): other
   * processes opening the same `dataDir` then connect through it instead of being refused.
   */
  socketPath?: string | undefined
  /** PostgreSQL schema to use instead of public (tests use one per file). */
  schemaName?: string | undefined
  /** Connection pool size on PostgreSQL. */
  poolSize?: number
  /** Who opens a PGlite directory ("the Sportello server", "sportello users invite"), named to anyone refused meanwhile. */
  holder?: string
  /**
   * A PGlite `dataDir` that is still empty starts as a copy of the installation's migrated template
   * (src/db/embedded-template.ts) when there is one, instead of initdb and every migration.
   */
  startFromTemplate?: boolean
  /** Called with the text of every statement sent to a PostgreSQL server (the identity benchmark counts a sign-in's statements). */
  onStatement?: (query: string) => void
}

export interface Database {
  readonly db: Db
  /** 'pglite' also when this process reaches the embedded database through the server's socket. */
  readonly kind: 'pglite' | 'postgres'
  migrate(): Promise<void>
  /** Migrations in the code that the database has not applied yet. */
  pendingMigrations(): Promise<number>
  ping(): Promise<void>
  /**
   * Runs `work` only if no other process holds the lock `name` (a PostgreSQL advisory lock held on
   * one connection for the whole run; a lock file beside the embedded database); answers undefined
   * without running it otherwise.
   */
  withExclusiveLock<T>(name: string, work: () => Promise<T>): Promise<T | undefined>
  /**
   * Calls `onNotify` with the payload of each NOTIFY on `channel` (sent by any process, delivered
   * when its transaction commits); answers the function that stops listening.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

function migrationsTableSchema(options: DatabaseOptions): string {
  return options.schemaName ?? 'drizzle'
}

async function countPending(db: Db, migrationsSchema: string): Promise<number> {
  const expected = readMigrationFiles({ migrationsFolder }).length
  const exists = await firstRow<{ present: boolean }>(db, sql`
    select to_regclass(${`"${migrationsSchema}".__drizzle_migrations`}) is not null as present`)
  if (!exists?.present) return expected
  const applied = await firstRow<{ count: number }>(
    db, sql`select count(*)::int as count from ${sql.identifier(migrationsSchema)}.__drizzle_migrations`,
  )
  return Math.max(0, expected - (applied?.count ?? 0))
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.schemaName !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schemaName)) {
    throw new Error(`Invalid schema name ${JSON.stringify(options.schemaName)}`)
  }
  if (options.url) {
    const url = options.url
    const onStatement = options.onStatement
    return openPostgres((max) => postgres(url, {
      max, onnotice: () => undefined, connection: connectionParameters(options),
      ...(onStatement ? { debug: (_connection: number, query: string) => { onStatement(query) } } : {}),
    }), options)
  }
  return openPglite(options)
}

/**
 * The major PostgreSQL version of the pinned PGlite (0.5.x: PostgreSQL 18). A data directory
 * written by another major cannot be opened by it: PostgreSQL refuses, and PGlite aborts.
 */
export const PGLITE_POSTGRES_MAJOR = '18'

/** A data directory made by a PGlite of another PostgreSQL major (Sportello before PGlite 0.5 used 0.3, PostgreSQL 17). */
export class IncompatibleDataDirError extends Error {
  constructor(readonly dataDir: string, readonly found: string) {
    super(
      `The embedded database in ${dataDir} was made by an older PGlite (PostgreSQL ${found}); this version of Sportello ` +
      `runs PGlite 0.5 (PostgreSQL ${PGLITE_POSTGRES_MAJOR}), which cannot open it. Nothing was changed. ` +
      `Move it aside (mv ${dataDir} ${dataDir}-pg${found}) and start again for a new database, after exporting what you need ` +
      'with the previous Sportello version (README, "Breaking change: PGlite 0.5").',
    )
    this.name = 'IncompatibleDataDirError'
  }
}

/** Throws IncompatibleDataDirError when `dataDir` holds a database of another PostgreSQL major; an empty or new folder passes. */
export function assertCompatibleDataDir(dataDir: string): void {
  let found: string
  try {
    found = readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if (found !== PGLITE_POSTGRES_MAJOR) throw new IncompatibleDataDirError(dataDir, found)
}

/** The server is said to hold the database but its socket does not answer. */
export class EmbeddedServerUnreachableError extends Error {
  constructor(readonly dataDir: string, readonly holder: LockHolder, cause: unknown) {
    super(
      `The embedded database in ${dataDir} is held by ${holder.what} (process ${String(holder.pid)}, since ${holder.since}), ` +
      `which serves it on ${holder.socket ?? '(no socket)'}, but the socket does not answer (${(cause as Error).message || String(cause)}). ` +
      'Check that the server has finished starting and is not stuck, then run the command again; stopping the server lets the command open the database itself.',
    )
    this.name = 'EmbeddedServerUnreachableError'
  }
}

function connectionParameters(options: DatabaseOptions): Record<string, string> {
  return options.schemaName ? { search_path: `"${options.schemaName}", public`, application_name: 'sportello' } : { application_name: 'sportello' }
}

/**
 * PostgreSQL's settings for the embedded database: a small buffer cache keeps the server's memory
 * modest. PGlite reads its files through the operating system, whose page cache keeps what is read
 * often anyway. Resident memory of PGlite opened and queried once (Node 20): defaults 235 MB above
 * the process, shared_buffers 32MB 147 MB, 16MB 117 MB, and 8MB saves nothing more.
 */
const pgliteStartParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB', '-c', 'work_mem=4MB']

/**
 * Runs `work` under the lock `name` for this process (a flag) and, beside a data directory, for
 * every process (a lock file next to it: the server and a CLI command through its socket share one
 * PostgreSQL session, where advisory locks exclude no one).
 */
function embeddedLocks(dataDir: string | undefined, holder: string): Database['withExclusiveLock'] {
  const held = new Set<string>()
  return async (name, work) => {
    if (held.has(name)) return undefined
    held.add(name)
    try {
      const taken = dataDir ? tryLockFile(`${dataDir}.${name.replace(/[^a-zA-Z0-9_-]/g, '_')}.lock`, holder) : () => undefined
      if (typeof taken !== 'function') return undefined
      try {
        return await work()
      } finally {
        taken()
      }
    } finally {
      held.delete(name)
    }
  }
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  const holder = options.holder ?? 'another Sportello process'
  let releaseDataDir: () => void = () => undefined
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true })
    const taken = tryLockFile(lockFileOf(options.dataDir), holder, options.socketPath)
    if (typeof taken !== 'function') {
      // The server has it: reach it through its socket, as a PostgreSQL client. A second server never does.
      if (taken.socket && !options.socketPath) return openThroughSocket(options.dataDir, taken, options)
      throw new DataDirInUseError(options.dataDir, taken)
    }
    releaseDataDir = taken
  }
  let client: PGlite
  let served: EmbeddedSocketServer | undefined
  // NOTIFYs raised by a socket client's statements arrive in that client's stream: relayed to this process's listeners.
  const relayed = new Map<string, Set<(payload: string) => void>>()
  try {
    if (options.dataDir) {
      const template = options.startFromTemplate && isEmptyDataDir(options.dataDir) ? existingEmbeddedTemplate() : undefined
      if (template) await copyFolder(template, options.dataDir)
      assertCompatibleDataDir(options.dataDir)
    }
    client = await PGlite.create({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      extensions: { pg_trgm, unaccent, fuzzystrmatch },
      startParams: pgliteStartParams,
    })
    if (options.socketPath) {
      served = await serveOnSocket(client, options.socketPath, (channel, payload) => {
        for (const listener of relayed.get(channel) ?? []) listener(payload)
      }).catch(async (error: unknown) => {
        await client.close()
        throw error
      })
    }
  } catch (error) {
    releaseDataDir()
    throw error
  }
  const db = drizzlePglite({ client, schema }) as unknown as Db
  const migrationsSchema = migrationsTableSchema(options)
  return {
    db,
    kind: 'pglite',
    migrate: () => migratePglite(drizzlePglite({ client, schema }), { migrationsFolder, migrationsSchema }),
    pendingMigrations: () => countPending(db, migrationsSchema),
    ping: async () => {
      await client.query('select 1')
    },
    withExclusiveLock: embeddedLocks(options.dataDir, holder),
    listen: async (channel, onNotify) => {
      const listener = (payload: string) => { onNotify(payload) }
      const unsubscribe = await client.listen(channel, listener)
      const forChannel = relayed.get(channel) ?? new Set()
      relayed.set(channel, forChannel.add(listener))
      return async () => {
        forChannel.delete(listener)
        // A database closed first has already stopped every listener.
        if (!client.closed) await unsubscribe()
      }
    },
    close: async () => {
      try {
        // Clients first: their open transactions are rolled back while PGlite still runs.
        await served?.stop()
        await client.close()
      } finally {
        releaseDataDir()
      }
    },
  }
}

/**
 * Makes this installation's migrated template of the embedded database when it is missing (at
 * `npm ci`, and by the test runner); answers its folder. Built beside its final place and renamed,
 * so two processes making it at once never leave half of one.
 */
export async function ensureEmbeddedTemplate(): Promise<string> {
  const existing = existingEmbeddedTemplate()
  if (existing) return existing
  const dir = embeddedTemplateDir()
  mkdirSync(path.dirname(dir), { recursive: true })
  const building = `${dir}.${String(process.pid)}.${randomBytes(4).toString('hex')}`
  try {
    const database = await openDatabase({ dataDir: building, holder: 'the template build' })
    try {
      await database.migrate()
    } finally {
      await database.close()
    }
    renameSync(building, dir)
  } catch (error) {
    rmSync(building, { recursive: true, force: true })
    // Another process finished the same template first (the rename found a full folder).
    if (!existingEmbeddedTemplate()) throw error
    return dir
  }
  removeStaleEmbeddedTemplates()
  return dir
}

/** How long a command waits for a server that holds the directory but has no socket yet (it is starting: PGlite opens first). */
const SOCKET_WAIT_MS = 30_000

/**
 * The embedded database as the running server serves it: a PostgreSQL client on its Unix socket,
 * the same driver and code path as DATABASE_URL. PGlite is one PostgreSQL session shared by all,
 * so statements are never named (no prepared statement outlives a command or collides with
 * another's) and run-once locks are lock files, as the server's are.
 */
async function openThroughSocket(dataDir: string, holder: LockHolder, options: DatabaseOptions): Promise<Database> {
  const socket = holder.socket ?? ''
  const connect = (max: number) => postgres({
    host: path.dirname(socket), port: Number(/\.s\.PGSQL\.(\d+)$/.exec(socket)?.[1] ?? 5432),
    database: 'postgres', username: 'postgres', max, prepare: false, onnotice: () => undefined,
    // Connecting waits for its turn like any statement: while the server is in a long transaction too.
    connect_timeout: 30, connection: { application_name: 'sportello' },
  })
  const database = await openPostgres(connect, { ...options, poolSize: options.poolSize ?? 4 }, {
    kind: 'pglite',
    withExclusiveLock: embeddedLocks(dataDir, options.holder ?? 'another Sportello process'),
    // Commands do not listen; a NOTIFY they raise reaches the server's listeners through the socket.
    listen: () => Promise.resolve(() => Promise.resolve()),
  })
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    try {
      await database.ping()
      return database
    } catch (error) {
      const stillHeld = holderOf(dataDir)?.pid === holder.pid
      // A socket that exists and still refuses (after a moment's grace) has no one behind it.
      const refused = existsSync(socket) && attempt >= 4
      if (!stillHeld || refused || Date.now() - started > SOCKET_WAIT_MS) {
        await database.close().catch(() => undefined)
        // The server stopped meanwhile: the directory is free, open it here.
        if (!stillHeld) return openPglite(options)
        throw new EmbeddedServerUnreachableError(dataDir, holder, error)
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}

async function openPostgres(
  connect: (max: number) => postgres.Sql,
  options: DatabaseOptions,
  overrides: Partial<Pick<Database, 'kind' | 'withExclusiveLock' | 'listen'>> = {},
): Promise<Database> {
  const client = connect(options.poolSize ?? 10)
  const db = drizzlePostgres({ client, schema }) as unknown as Db
  const migrationsSchema = migrationsTableSchema(options)
  return {
    db,
    kind: 'postgres',
    migrate: async () => {
      if (options.schemaName) await client.unsafe(`create schema if not exists "${options.schemaName}"`)
      // A single-connection client holds the advisory lock for the whole migration.
      const single = connect(1)
      try {
        await single`select pg_advisory_lock(${MIGRATION_LOCK})`
        await migratePostgres(drizzlePostgres({ client: single, schema }), { migrationsFolder, migrationsSchema })
        await single`select pg_advisory_unlock(${MIGRATION_LOCK})`
      } finally {
        await single.end({ timeout: 5 })
      }
    },
    pendingMigrations: () => countPending(db, migrationsSchema),
    ping: async () => {
      await client`select 1`
    },
    withExclusiveLock: async (name, work) => {
      // Named per schema, so test files sharing a server do not take each other's locks.
      const key = `${options.schemaName ?? 'public'}:${name}`
      const reserved = await client.reserve()
      try {
        const [row] = await reserved<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtext(${key})) as locked`
        if (!row?.locked) return undefined
        try {
          return await work()
        } finally {
          await reserved`select pg_advisory_unlock(hashtext(${key}))`
        }
      } finally {
        reserved.release()
      }
    },
    listen: async (channel, onNotify) => {
      // postgres-js keeps one connection for all of this pool's channels and listens again after a reconnect.
      const subscription = await client.listen(channel, (payload) => { onNotify(payload) })
      return () => subscription.unlisten()
    },
    close: () => client.end({ timeout: 5 }),
    ...overrides,
  }
}
