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
  return config.sessionSecret ? config : { ...config, sessionSecret: secretInDataDir(config, 'session-secret') }
}

/** OIDC_KEY_SECRET, or one generated into DATA_DIR: the server and `sportello keys rotate` must agree on it. */
export function resolveOidcKeySecret(config: Config): Config {
  return config.oidcKeySecret ? config : { ...config, oidcKeySecret: secretInDataDir(config, 'oidc-key-secret') }
}

/**
 * FACTOR_KEY_SECRET, or one generated into DATA_DIR (the embedded demo needs no setup). Lost, every
 * enrolled authenticator stops working: set it explicitly wherever DATA_DIR is not kept.
 */
export function resolveFactorKeySecret(config: Config): Config {
  return config.factorKeySecret ? config : { ...config, factorKeySecret: secretInDataDir(config, 'factor-key-secret') }
}

function secretInDataDir(config: Config, name: string): string {
  const file = path.join(config.dataDir, name)
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  mkdirSync(config.dataDir, { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  return secret
}

/** The configured database; `holder` names this process to any other refused the embedded one meanwhile. */
export function openConfiguredDatabase(config: Config, holder: string): Promise<Database> {
  return openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : path.join(config.dataDir, 'pglite'),
    holder,
  })
}
