import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
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

/**
 * Where the server serves the embedded database to CLI commands: DATA_DIR/socket/.s.PGSQL.5432, the
 * name PostgreSQL clients expect in a socket folder. A Unix socket path holds at most 107 bytes;
 * beyond that the socket goes to a folder of the system's temporary directory named after DATA_DIR.
 * Commands find it in the lock file either way.
 */
export function socketPathFor(config: Config): string {
  const inDataDir = path.resolve(config.dataDir, 'socket', '.s.PGSQL.5432')
  if (Buffer.byteLength(inDataDir) <= 100) return inDataDir
  const tag = createHash('sha256').update(path.resolve(config.dataDir)).digest('hex').slice(0, 16)
  return path.join(tmpdir(), `sportello-${tag}`, '.s.PGSQL.5432')
}

/**
 * The configured database; `holder` names this process to any other process meanwhile. With
 * `serve` (the server) the embedded database is served on a Unix socket while open; without it, a
 * command reaches a running server's database through that socket, or opens the directory itself.
 */
export function openConfiguredDatabase(config: Config, holder: string, options: { serve?: boolean } = {}): Promise<Database> {
  return openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : path.join(config.dataDir, 'pglite'),
    socketPath: options.serve && !config.databaseUrl ? socketPathFor(config) : undefined,
    holder,
    startFromTemplate: true,
  })
}
