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
import postgres from 'postgres'
import { ensureEmbeddedTemplate, openDatabase } from '../src/db/client.js'
import { copyFolder, migrationsHash } from '../src/db/embedded-template.js'

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
