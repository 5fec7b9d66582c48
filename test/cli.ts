import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after } from 'node:test'
import postgres from 'postgres'

/**
 * The environment of a CLI test: a database of its own, a temporary PGlite directory, or a new
 * database on the server when DATABASE_URL is set (dropped after the file's tests).
 */
export async function cliEnvironment(): Promise<Record<string, string>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sportello-cli-'))
  const serverUrl = process.env.DATABASE_URL
  // OIDC_KEY_SECRET empty: the CLI makes and keeps its own in DATA_DIR, as a fresh install does.
  if (!serverUrl) return { DATA_DIR: dataDir, DATABASE_URL: '', OIDC_KEY_SECRET: '' }
  const name = `sportello_cli_${randomBytes(4).toString('hex')}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined })
  await admin.unsafe(`create database "${name}"`)
  after(async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return { DATA_DIR: dataDir, DATABASE_URL: url.toString(), OIDC_KEY_SECRET: '' }
}

/** Runs `sportello <args>` as a user would, through the package's bin. */
export function sportello(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, ['bin/sportello.js', ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 120_000 })
}
