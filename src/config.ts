import path from 'node:path'
import Type from 'typebox'
import Value from 'typebox/value'

/**
 * Every environment variable Sportello reads, validated once. Nothing else in
 * the code base looks at process.env, so this schema is the full list.
 */
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$' })),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://\\S+$' })),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://\\S+$' })),
  SESSION_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  OIDC_KEY_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  FACTOR_KEY_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 32, pattern: '^\\S+$' })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  DEMO: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  BRAND_NAME: Type.String({ minLength: 1, maxLength: 60, default: 'Demo Motors' }),
  TRUST_PROXY: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false' }),
  AUTH_RATE_LIMIT: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20 }),
  LIFECYCLE_SWEEP_MINUTES: Type.Integer({ minimum: 0, maximum: 10_080, default: 60 }),
})

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface Config {
  port: number
  host: string
  publicUrl: string
  dataDir: string
  databaseUrl: string | undefined
  smtpUrl: string | undefined
  /** Undefined until resolveSessionSecret fills it from DATA_DIR on first start. */
  sessionSecret: string | undefined
  /** The bearer token /metrics asks for; undefined: /metrics answers only to the loopback address. */
  metricsToken: string | undefined
  /** Encrypts the OIDC signing keys stored in the database; undefined until resolveOidcKeySecret fills it from DATA_DIR. */
  oidcKeySecret: string | undefined
  /** Encrypts authenticator secrets stored in the database; undefined until resolveFactorKeySecret fills it from DATA_DIR. */
  factorKeySecret: string | undefined
  logLevel: LogLevel
  /** undefined: load demo content only when the embedded database is empty. */
  demo: boolean | undefined
  brandName: string
  trustProxy: boolean
  /** Sign-in, reset and sign-out form posts per minute per client address. */
  authRateLimit: number
  /** Minutes between inactivity sweeps inside the server; 0: only `sportello lifecycle sweep` runs them. */
  lifecycleSweepMinutes: number
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

const hints: Record<string, string> = {
  PORT: 'an integer from 0 to 65535',
  HOST: 'a host name or address',
  PUBLIC_URL: 'an absolute http(s) URL such as https://portal.example.com',
  DATA_DIR: 'a directory path',
  DATABASE_URL: 'a URL such as postgres://user@host:5432/db',
  SMTP_URL: 'a URL such as smtp://user:pass@mail.example.com:587',
  SESSION_SECRET: 'a random string of at least 32 characters',
  OIDC_KEY_SECRET: 'a random string of at least 32 characters',
  FACTOR_KEY_SECRET: 'a random string of at least 32 characters',
  LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
  DEMO: 'true or false',
  BRAND_NAME: 'a name of 1 to 60 characters',
  TRUST_PROXY: 'true or false',
  METRICS_TOKEN: 'at least 32 characters without spaces',
  AUTH_RATE_LIMIT: 'an integer from 1 to 1000000',
  LIFECYCLE_SWEEP_MINUTES: 'an integer from 0 (off) to 10080',
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.keys(EnvSchema.properties)
  // Empty strings count as unset, as in most twelve-factor tooling.
  const raw = Object.fromEntries(known.flatMap((k) => (env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]])))
  const value: unknown = Value.Convert(EnvSchema, Value.Default(EnvSchema, { ...raw }))
  if (!Value.Check(EnvSchema, value)) {
    const bad = new Set<string>()
    for (const error of Value.Errors(EnvSchema, value)) {
      const name = error.instancePath.replace(/^\//, '').split('/')[0] ?? ''
      if (name) bad.add(name)
    }
    throw new ConfigError([...bad].map((name) => `${name}=${JSON.stringify(raw[name] ?? '')} is invalid: expected ${hints[name] ?? 'a valid value'}`))
  }
  const port = value.PORT
  return {
    port,
    host: value.HOST,
    publicUrl: (value.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/$/, ''),
    dataDir: path.resolve(value.DATA_DIR),
    databaseUrl: value.DATABASE_URL,
    smtpUrl: value.SMTP_URL,
    sessionSecret: value.SESSION_SECRET,
    oidcKeySecret: value.OIDC_KEY_SECRET,
    factorKeySecret: value.FACTOR_KEY_SECRET,
    logLevel: value.LOG_LEVEL,
    demo: value.DEMO === undefined ? undefined : value.DEMO === 'true',
    metricsToken: value.METRICS_TOKEN,
    brandName: value.BRAND_NAME,
    trustProxy: value.TRUST_PROXY === 'true',
    authRateLimit: value.AUTH_RATE_LIMIT,
    lifecycleSweepMinutes: value.LIFECYCLE_SWEEP_MINUTES,
  }
}
