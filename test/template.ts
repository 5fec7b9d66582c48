/**
 * The migrated template database of a test run. Migrating takes seconds; copying a migrated
 * database takes a fraction of one, so each test file starts from a copy:
 * - PGlite: a migrated data directory in the system's temporary folder; each file opens a copy.
 * - PostgreSQL: a migrated database `sportello_tpl_<hash>`; each file gets
 *   `CREATE DATABASE t_<random> TEMPLATE sportello_tpl_<hash>`, dropped after the file.
 * Both are named by a hash of the migrations (and of PGlite's version), so a later run reuses them
 * while the migrations stay unchanged. scripts/run-tests.ts makes them once before the test
 * processes start; a test file run on its own makes them when missing. Both are written under a
 * temporary name and renamed, so two processes making one at once never see half of it.
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import postgres from 'postgres'
import { migrationsFolder, openDatabase } from '../src/db/client.js'

const execFileAsync = promisify(execFile)
let hash: string | undefined

/** A hash of every file under the migrations folder (name and content) and of PGlite's version. */
export function migrationsHash(): string {
  if (hash) return hash
  const digest = createHash('sha256')
  const files = readdirSync(migrationsFolder, { recursive: true, encoding: 'utf8' }).sort()
  for (const file of files) {
    const full = path.join(migrationsFolder, file)
    if (!file.endsWith('.sql') && !file.endsWith('.json')) continue
    digest.update(file).update('\0').update(readFileSync(full)).update('\0')
  }
  // The data directory's format is PGlite's: a new version makes a new template.
  const pgliteMain = createRequire(import.meta.url).resolve('@electric-sql/pglite')
  digest.update(readFileSync(path.resolve(path.dirname(pgliteMain), '..', 'package.json')))
  hash = digest.digest('hex').slice(0, 16)
  return hash
}

/** The postgres:// URL of another database on the same server. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

// ---------------------------------------------------------------- PGlite

export function pgliteTemplateDir(): string {
  return path.join(tmpdir(), `sportello-template-${migrationsHash()}`)
}

/** Makes the PGlite template (a migrated data directory) when missing; answers its folder. */
export async function ensurePgliteTemplate(): Promise<string> {
  const dir = pgliteTemplateDir()
  if (existsSync(dir)) return dir
  const building = `${dir}.${String(process.pid)}.${randomBytes(4).toString('hex')}`
  try {
    const database = await openDatabase({ dataDir: building })
    try {
      await database.migrate()
    } finally {
      await database.close()
    }
    renameSync(building, dir)
  } catch (error) {
    rmSync(building, { recursive: true, force: true })
    // Another process finished the same template first (the rename found a full folder).
    if (!existsSync(dir)) throw error
  }
  return dir
}

/**
 * A copy of the PGlite template in `target`, or in a new temporary folder removed when the process
 * exits. (Copying the folder and opening it measured faster than loading a `dumpDataDir` tarball
 * into an in-memory PGlite: 1.2 s against 1.6 s, median of 4.)
 */
export async function copyPgliteTemplate(target?: string): Promise<string> {
  const template = await ensurePgliteTemplate()
  const dir = target ?? await mkdtemp(path.join(tmpdir(), 'sportello-db-'))
  if (!target) process.on('exit', () => { rmSync(dir, { recursive: true, force: true }) })
  await copyFolder(template, dir)
  return dir
}

/**
 * Copies a folder's contents into an existing folder. The system's `cp` copies the template's
 * ~5,000 small files with a quarter of the CPU node's cpSync takes, and off the event loop;
 * where it is missing (Windows), cpSync does it.
 */
async function copyFolder(from: string, to: string): Promise<void> {
  try {
    await execFileAsync('cp', ['-R', `${from}/.`, to])
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    cpSync(from, to, { recursive: true })
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
