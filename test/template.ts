/**
 * The migrated template database of a test run. Migrating takes seconds; copying a migrated
 * database takes a fraction of one, so each test file starts from a copy:
 * - PGlite: the installation's migrated data directory (src/db/embedded-template.ts, made by `npm ci`
 *   in node_modules/.cache/sportello); each file opens a copy.
 * - PostgreSQL: a migrated database `sportello_tpl_<hash>`; each file gets
 *   `CREATE DATABASE t_<random> TEMPLATE sportello_tpl_<hash>`, dropped after the file.
 * Both are named by a hash of the migrations (and of PGlite's version), so a later run reuses them
 * while the migrations stay unchanged. scripts/run-tests.ts makes them once before the test
 * processes start; a test file run on its own makes them when missing. Both are written under a
 * temporary name and renamed, so two processes making one at once never see half of it.
 */
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import { ensureEmbeddedTemplate, openDatabase, type Database } from '../src/db/client.js'
import { copyFolder, migrationsHash } from '../src/db/embedded-template.js'
import { rows } from '../src/db/query.js'

/** The postgres:// URL of another database on the same server. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

// ---------------------------------------------------------------- PGlite

/** The PGlite template is the installation's own (src/db/embedded-template.ts), the one `npm ci` made. */
export const ensurePgliteTemplate = ensureEmbeddedTemplate

const leftAtExit = new Set<string>()

/**
 * Removes `dir` when the process exits, if nothing removed it before. One exit listener for every folder a
 * process makes (a process may run several test files).
 */
export function removeAtExit(dir: string): void {
  if (leftAtExit.size === 0) {
    process.once('exit', () => {
      for (const left of leftAtExit) rmSync(left, { recursive: true, force: true })
    })
  }
  leftAtExit.add(dir)
}

/**
 * A copy of the PGlite template in `target`, or in a new temporary folder removed when the process
 * exits. (Copying the folder and opening it measured faster than loading a `dumpDataDir` tarball
 * into an in-memory PGlite: 1.2 s against 1.6 s, median of 4.)
 */
export async function copyPgliteTemplate(target?: string): Promise<string> {
  const template = await ensurePgliteTemplate()
  const dir = target ?? await mkdtemp(path.join(tmpdir(), 'sportello-db-'))
  if (!target) removeAtExit(dir)
  await copyFolder(template, dir)
  return dir
}

// ---------------------------------------------------------------- PGlite, reused within a process

/** What a migrated database holds before any test wrote to it, read once per process from a fresh copy. */
interface TemplateContent {
  /** Every table of the schema `public`, quoted. */
  tables: string[]
  /** The tables the migrations filled (realms): their rows as JSON, and the columns to put back. */
  filled: { table: string; columns: string; rows: string }[]
  /** Every sequence of `public` with the value it had (ticket numbers start where a new database's do). */
  sequences: string
}

let templateContent: Promise<TemplateContent> | undefined
/**
 * Databases of this process whose test file has ended, each with the timer that closes it: the next file takes
 * one and empties it instead of opening a copy. PGlite keeps a process alive for 10 s after its last statement
 * (PostgreSQL's timer for flushing statistics), so one nobody takes within IDLE_CLOSE_MS is closed; the next
 * file of a group takes it within milliseconds of the previous one's end.
 */
const idleEmbedded: { database: Database; content: Promise<TemplateContent>; closing: NodeJS.Timeout }[] = []
const IDLE_CLOSE_MS = 100

async function readTemplateContent(database: Database): Promise<TemplateContent> {
  const tables = (await rows<{ name: string }>(database.db, sql`
    select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1`)).map((row) => row.name)
  const filled: TemplateContent['filled'] = []
  for (const table of await filledTables(database, tables)) {
    const [content] = await rows<{ columns: string; rows: string }>(database.db, sql`
      select (select string_agg(quote_ident(attname), ', ' order by attnum) from pg_attribute
              where attrelid = ${table}::regclass and attnum > 0 and not attisdropped and attgenerated = '') as columns,
             (select json_agg(t)::text from ${sql.raw(table)} t) as rows`)
    if (content) filled.push({ table, ...content })
  }
  const [sequences] = await rows<{ list: string }>(database.db, sql`
    select coalesce(json_agg(json_build_object('name', format('%I.%I', schemaname, sequencename),
      'value', coalesce(last_value, start_value), 'called', last_value is not null)), '[]')::text as list
    from pg_sequences where schemaname = 'public'`)
  return { tables, filled, sequences: sequences?.list ?? '[]' }
}

/** The tables of `tables` that hold a row, in one statement. */
async function filledTables(database: Database, tables: string[]): Promise<string[]> {
  if (tables.length === 0) return []
  const probe = tables.map((table, i) => `select ${String(i)} as i where exists (select 1 from ${table})`).join(' union all ')
  return (await rows<{ i: number }>(database.db, probe)).map((row) => tables[row.i] ?? '')
}

/**
 * Puts a database of this process back as a fresh copy of the template would be: the rows every earlier file
 * wrote deleted (triggers and foreign keys off meanwhile: the audit log refuses deletes by design), the
 * template's own rows and sequence values back. One transaction of a few statements, about a tenth of the CPU of
 * copying the template folder and opening a new PGlite (0.6 s).
 */
async function restoreTemplateContent(database: Database, content: TemplateContent): Promise<void> {
  const written = await filledTables(database, content.tables)
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`)
    for (const table of written) await tx.execute(sql.raw(`delete from ${table}`))
    for (const { table, columns, rows: json } of content.filled) {
      await tx.execute(sql`insert into ${sql.raw(table)} (${sql.raw(columns)}) overriding system value
        select ${sql.raw(columns)} from json_populate_recordset(null::${sql.raw(table)}, ${json}::json)`)
    }
    await tx.execute(sql`select setval(s.name::regclass, s.value, s.called) from json_to_recordset(${content.sequences}::json) as s(name text, value bigint, called boolean)`)
  })
}

/**
 * A migrated PGlite database for one test file, as a fresh copy of the template: a database an earlier file
 * of this process left (scripts/test-group.mjs runs several), emptied back to the template's content, or
 * else a new copy. `release` hands it to the next file; the copies are removed when the process exits.
 */
export async function takeEmbeddedTestDatabase(): Promise<{ database: Database; release: () => void }> {
  const idle = idleEmbedded.pop()
  if (idle) {
    clearTimeout(idle.closing)
    await restoreTemplateContent(idle.database, await idle.content)
    return lend(idle.database, idle.content)
  }
  const database = await openDatabase({ dataDir: await copyPgliteTemplate() })
  const content = (templateContent ??= readTemplateContent(database))
  await content
  return lend(database, content)
}

/** A database for one file, and the `release` that puts it among the idle ones (closed if nobody takes it). */
function lend(database: Database, content: Promise<TemplateContent>): { database: Database; release: () => void } {
  return {
    database,
    release: () => {
      const entry = {
        database, content,
        closing: setTimeout(() => {
          idleEmbedded.splice(idleEmbedded.indexOf(entry), 1)
          database.close().catch(() => undefined)
        }, IDLE_CLOSE_MS),
      }
      idleEmbedded.push(entry)
    },
  }
}

// ---------------------------------------------------------------- PostgreSQL

export function postgresTemplateName(): string {
  return `sportello_tpl_${migrationsHash()}`
}

/** Makes the PostgreSQL template on the server of `serverUrl` when missing; answers its name. */
export async function ensurePostgresTemplate(serverUrl: string): Promise<string> {
  const name = postgresTemplateName()
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined })
  try {
    const [found] = await admin`select 1 from pg_database where datname = ${name}`
    if (found) return name
    const building = `${name}_${randomBytes(4).toString('hex')}`
    await admin.unsafe(`create database "${building}"`)
    try {
      const database = await openDatabase({ url: databaseUrl(serverUrl, building), poolSize: 1 })
      try {
        await database.migrate()
      } finally {
        await database.close()
      }
      await admin.unsafe(`alter database "${building}" rename to "${name}"`)
    } catch (error) {
      await admin.unsafe(`drop database if exists "${building}" with (force)`)
      // Another process finished the same template first: theirs is as good as ours.
      if ((error as { code?: string }).code === '42P04') return name
      throw error
    }
    return name
  } finally {
    await admin.end({ timeout: 5 })
  }
}

let templateName: Promise<string> | undefined

/**
 * A new database cloned from the template (or empty, with `migrated: false`) on the server of
 * `serverUrl`; answers its name and a function that drops it.
 */
export async function cloneTemplate(serverUrl: string, options: { migrated?: boolean } = {}): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const template = options.migrated === false ? 'template0' : await (templateName ??= ensurePostgresTemplate(serverUrl))
  const name = `t_${randomBytes(6).toString('hex')}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined })
  try {
    await admin.unsafe(`create database "${name}" template "${template}"`)
  } finally {
    await admin.end({ timeout: 5 })
  }
  return {
    name, url: databaseUrl(serverUrl, name),
    drop: async () => {
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => undefined })
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`)
      } finally {
        await dropper.end({ timeout: 5 })
      }
    },
  }
}

/** Makes the template the environment asks for: PostgreSQL's with DATABASE_URL, PGlite's otherwise. */
export async function ensureTemplate(): Promise<string> {
  const url = process.env.DATABASE_URL
  return url ? ensurePostgresTemplate(url) : ensurePgliteTemplate()
}
