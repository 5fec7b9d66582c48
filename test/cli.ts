import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after } from 'node:test'
import { openDatabase, type Database } from '../src/db/client.js'
import { cloneTemplate, copyPgliteTemplate } from './template.js'

/**
 * The environment of a CLI test: a database of its own, a temporary PGlite directory, or a new
 * database on the server when DATABASE_URL is set (dropped after the file's tests). It starts
 * migrated, copied from the run's template as `sportello migrate` would leave it; with
 * `migrated: false` it is empty, as on a fresh install.
 */
export async function cliEnvironment(options: { migrated?: boolean } = {}): Promise<Record<string, string>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sportello-cli-'))
  after(() => rm(dataDir, { recursive: true, force: true }))
  const serverUrl = process.env.DATABASE_URL
  // OIDC_KEY_SECRET empty: the CLI makes and keeps its own in DATA_DIR, as a fresh install does.
  if (!serverUrl) {
    if (options.migrated !== false) await copyPgliteTemplate(path.join(dataDir, 'pglite'))
    return { DATA_DIR: dataDir, DATABASE_URL: '', OIDC_KEY_SECRET: '' }
  }
  const database = await cloneTemplate(serverUrl, options)
  after(database.drop)
  return { DATA_DIR: dataDir, DATABASE_URL: database.url, OIDC_KEY_SECRET: '' }
}

/**
 * Opens the database of a CLI environment in the test process, e.g. to make rows with the
 * factories; closed before it answers. On PGlite, while a server runs there it goes through the
 * server's socket, as a command does.
 */
export async function withCliDatabase<T>(env: Record<string, string>, work: (database: { database: Database }) => Promise<T>): Promise<T> {
  const url = env.DATABASE_URL ?? ''
  const database = await openDatabase(url ? { url, poolSize: 1 } : { dataDir: path.join(env.DATA_DIR ?? '', 'pglite') })
  try {
    return await work({ database })
  } finally {
    await database.close()
  }
}

/** Runs `sportello <args>` as a user would, through the package's bin. */
export function sportello(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, ['bin/sportello.js', ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 120_000 })
}

/** `sportello <args>` without blocking the test process (a server or another command runs beside it). */
export function sportelloAsync(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/sportello.js', ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 120_000)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
