/**
 * A migrated, empty embedded database kept once per installation, so that a new DATA_DIR starts as a
 * copy of it instead of running PostgreSQL's initdb and every migration (most of a first start's
 * time: about 4 s of initdb and 1 s of migrations against a quarter of a second to copy). `npm ci`
 * makes it (scripts/build.mjs, through `prepare`); the test runner copies the same one into each
 * test file's directory.
 *
 * It lives in node_modules/.cache (the place build tools keep what they can remake), named by a hash
 * of the migrations and of PGlite's version: a new migration or PGlite makes a new one, and a stale
 * one is never used. Written under a temporary name and renamed, so a process never copies half of it.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { promisify } from 'node:util'
import { packageRoot, sourceDir } from '../paths.js'

const execFileAsync = promisify(execFile)
let hash: string | undefined

/** A hash of every migration file (name and content) and of PGlite's version. */
export function migrationsHash(): string {
  if (hash) return hash
  const migrationsFolder = path.join(sourceDir, 'db/migrations')
  const digest = createHash('sha256')
  for (const file of readdirSync(migrationsFolder, { recursive: true, encoding: 'utf8' }).sort()) {
    if (!file.endsWith('.sql') && !file.endsWith('.json')) continue
    digest.update(file).update('\0').update(readFileSync(path.join(migrationsFolder, file))).update('\0')
  }
  // The data directory's format is PGlite's: a new version makes a new template.
  const pgliteMain = createRequire(import.meta.url).resolve('@electric-sql/pglite')
  digest.update(readFileSync(path.resolve(path.dirname(pgliteMain), '..', 'package.json')))
  hash = digest.digest('hex').slice(0, 16)
  return hash
}

/** Where this installation's template is (whether or not it exists yet). */
export function embeddedTemplateDir(): string {
  return path.join(packageRoot, 'node_modules', '.cache', 'sportello', `pglite-${migrationsHash()}`)
}

/** Templates of earlier migrations or PGlite versions (about 40 MB each): nothing will copy them again. */
export function removeStaleEmbeddedTemplates(): void {
  const current = embeddedTemplateDir()
  const folder = path.dirname(current)
  for (const name of readdirSync(folder)) {
    if (/^pglite-[0-9a-f]{16}$/.test(name) && path.join(folder, name) !== current) rmSync(path.join(folder, name), { recursive: true, force: true })
  }
}

/** The template's folder when it is there and complete (renamed into place), else undefined. */
export function existingEmbeddedTemplate(): string | undefined {
  const dir = embeddedTemplateDir()
  return existsSync(path.join(dir, 'PG_VERSION')) ? dir : undefined
}

/** True when a data directory has nothing in it yet (a first start). */
export function isEmptyDataDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0
}

/**
 * Copies a folder's contents into an existing folder. The system's `cp` copies the template's
 * ~5,000 small files with a quarter of the CPU node's cpSync takes, and off the event loop;
 * where it is missing (Windows), cpSync does it.
 */
export async function copyFolder(from: string, to: string): Promise<void> {
  try {
    await execFileAsync('cp', ['-R', `${from}/.`, to])
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    cpSync(from, to, { recursive: true })
  }
}
