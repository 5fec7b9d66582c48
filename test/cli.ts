import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { after } from 'node:test'
import { runCli } from '../src/cli.js'
import { openDatabase, type Database } from '../src/db/client.js'
import { cloneTemplate, copyPgliteTemplate } from './template.js'

/**
 * The environment of a CLI test: a database of its own, a temporary PGlite directory, or a new
 * database on the server when DATABASE_URL is set (dropped after the file's tests). It starts
 * migrated, copied from the run's template as `sportello migrate` would leave it; with
 * `migrated: false` it is empty, as on a fresh install.
 */
export async function cliEnvironment(options: { migrated?: boolean } = {}): Promise<Record<string, string>> {
  const { env, remove } = await makeCliEnvironment(options)
  after(remove)
  return env
}

async function makeCliEnvironment(options: { migrated?: boolean }): Promise<{ env: Record<string, string>; remove: () => Promise<void> }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sportello-cli-'))
  const removeDir = () => rm(dataDir, { recursive: true, force: true })
  const serverUrl = process.env.DATABASE_URL
  // OIDC_KEY_SECRET empty: the CLI makes and keeps its own in DATA_DIR, as a fresh install does.
  if (!serverUrl) {
    if (options.migrated !== false) await copyPgliteTemplate(path.join(dataDir, 'pglite'))
    return { env: { DATA_DIR: dataDir, DATABASE_URL: '', OIDC_KEY_SECRET: '' }, remove: removeDir }
  }
  const database = await cloneTemplate(serverUrl, options)
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: database.url, OIDC_KEY_SECRET: '' },
    remove: async () => {
      await database.drop()
      await removeDir()
    },
  }
}

/** The database of a CLI environment, opened in the test process. */
function openCliDatabase(env: Record<string, string>, poolSize?: number): Promise<Database> {
  const url = env.DATABASE_URL ?? ''
  return openDatabase(url ? { url, ...(poolSize ? { poolSize } : {}) } : { dataDir: path.join(env.DATA_DIR ?? '', 'pglite') })
}

/** A CLI environment whose database this test process holds open; `database` is what the factories take. */
export interface CliSession {
  env: Record<string, string>
  database: Database
}

/**
 * A CLI environment (see cliEnvironment) with its database open in the test process, for
 * runSportello and the factories, until the test (or, made outside one, the file's tests) ends.
 * `before` runs first, on the environment alone: e.g. a spawned `sportello migrate` on an empty one.
 */
export async function cliSession(options: {
  migrated?: boolean
  before?: (env: Record<string, string>) => unknown
  /** Where its closing is registered: node:test's `after` unless a hook must defer it to the file's end. */
  after?: (fn: () => Promise<void>) => void
} = {}): Promise<CliSession> {
  const { env, remove } = await makeCliEnvironment(options)
  const opened: { database?: Database } = {}
  // Closed before its directory or server database goes.
  ;(options.after ?? after)(async () => {
    await opened.database?.close()
    await remove()
  })
  await options.before?.(env)
  opened.database = await openCliDatabase(env)
  return { env, database: opened.database }
}

export interface CliResult {
  status: number
  stdout: string
  stderr: string
}

/**
 * `sportello <args>` in the test process: runCli, the code bin/sportello.js runs, with the
 * environment and database of `cli` (without `database`, the command opens the configured one
 * itself, as a process does). What it prints is captured. No process of its own: starting node,
 * importing the application and opening the database took 1.5–2 s of CPU per command.
 */
export async function runSportello(cli: { env: Record<string, string>; database?: Database }, ...args: string[]): Promise<CliResult> {
  const stdout = capture()
  const stderr = capture()
  const status = await runCli(args, {
    env: { ...process.env, ...cli.env, LOG_LEVEL: 'silent' }, stdout: stdout.stream, stderr: stderr.stream,
    ...(cli.database ? { database: cli.database } : {}),
  })
  return { status, stdout: stdout.text(), stderr: stderr.text() }
}

/** A stream that keeps what is written to it, as a pipe (not a terminal) would pass it on. */
function capture(): { stream: Writable; text: () => string } {
  let text = ''
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  return { stream, text: () => text }
}

/**
 * Opens the database of a CLI environment in the test process, e.g. to make rows with the
 * factories; closed before it answers. On PGlite, while a server runs there it goes through the
 * server's socket, as a command does.
 */
export async function withCliDatabase<T>(env: Record<string, string>, work: (database: { database: Database }) => Promise<T>): Promise<T> {
  const database = await openCliDatabase(env, 1)
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
