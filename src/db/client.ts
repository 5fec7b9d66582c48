import { mkdirSync } from 'node:fs'
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
import { lockDataDir } from './data-dir-lock.js'
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
  /** PostgreSQL schema to use instead of public (tests use one per file). */
  schemaName?: string | undefined
  /** Connection pool size on PostgreSQL. */
  poolSize?: number
  /** Who opens a PGlite directory ("the Sportello server", "sportello users invite"), named to anyone refused meanwhile. */
  holder?: string
}

export interface Database {
  readonly db: Db
  readonly kind: 'pglite' | 'postgres'
  migrate(): Promise<void>
  /** Migrations in the code that the database has not applied yet. */
  pendingMigrations(): Promise<number>
  ping(): Promise<void>
  /**
   * Runs `work` only if no other process holds the lock `name` (a PostgreSQL advisory lock held on
   * one connection for the whole run); answers undefined without running it otherwise.
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
  return options.url ? openPostgres(options.url, options) : openPglite(options)
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  const heldLocks = new Set<string>()
  let releaseDataDir: () => void = () => undefined
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true })
    releaseDataDir = lockDataDir(options.dataDir, options.holder ?? 'another Sportello process')
  }
  let client: PGlite
  try {
    client = await PGlite.create({ ...(options.dataDir ? { dataDir: options.dataDir } : {}), extensions: { pg_trgm, unaccent, fuzzystrmatch } })
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
    // One embedded database belongs to one process: an in-process flag is the whole lock.
    withExclusiveLock: async (name, work) => {
      if (heldLocks.has(name)) return undefined
      heldLocks.add(name)
      try {
        return await work()
      } finally {
        heldLocks.delete(name)
      }
    },
    listen: async (channel, onNotify) => {
      const unsubscribe = await client.listen(channel, (payload) => { onNotify(payload) })
      // A database closed first has already stopped every listener.
      return async () => { if (!client.closed) await unsubscribe() }
    },
    close: async () => {
      try {
        await client.close()
      } finally {
        releaseDataDir()
      }
    },
  }
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const searchPath = options.schemaName ? `"${options.schemaName}", public` : undefined
  const connection = searchPath ? { search_path: searchPath, application_name: 'sportello' } : { application_name: 'sportello' }
  const client = postgres(url, { max: options.poolSize ?? 10, onnotice: () => undefined, connection })
  const db = drizzlePostgres({ client, schema }) as unknown as Db
  const migrationsSchema = migrationsTableSchema(options)
  return {
    db,
    kind: 'postgres',
    migrate: async () => {
      if (options.schemaName) await client.unsafe(`create schema if not exists "${options.schemaName}"`)
      // A single-connection client holds the advisory lock for the whole migration.
      const single = postgres(url, { max: 1, onnotice: () => undefined, connection })
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
  }
}
