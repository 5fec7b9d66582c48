import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Config } from './config.js'
import { openDatabase, type Database } from './db/client.js'

/**
 * SESSION_SECRET, or the one generated into DATA_DIR on first start so that
 * cookies stay valid across restarts without any setup.
 */
export function resolveSessionSecret(config: Config): Config {
  if (config.sessionSecret) return config
  const file = path.join(config.dataDir, 'session-secret')
  try {
    return { ...config, sessionSecret: readFileSync(file, 'utf8').trim() }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  mkdirSync(config.dataDir, { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  return { ...config, sessionSecret: secret }
}

export function openConfiguredDatabase(config: Config): Promise<Database> {
  return openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : path.join(config.dataDir, 'pglite'),
  })
}
