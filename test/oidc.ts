import { eq, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import type { Database } from '../src/db/client.js'
import { auditEvents, ssoLogoutOutbox, ssoSubjects, users, type AccountStatus } from '../src/db/schema/index.js'
import * as client from 'openid-client'
import type { Browser } from './helpers.js'

/** openid-client's HTTP through app.inject: the provider is reached at PUBLIC_URL without a socket. */
export function injectFetch(app: () => FastifyInstance): client.CustomFetch {
  return async (url, options) => {
    const target = new URL(url)
    const headers: Record<string, string> = { host: target.host }
    new Headers(options.headers).forEach((value, key) => { headers[key] = value })
    const body = options.body
    const res = await app().inject({
      method: options.method as 'GET', url: `${target.pathname}${target.search}`, headers,
      ...(body === undefined || body === null ? {} : { payload: typeof body === 'string' ? body : body instanceof URLSearchParams ? body.toString() : Buffer.from(body as ArrayBuffer) }),
    })
    const responseHeaders = new Headers()
    for (const [key, value] of Object.entries(res.headers)) {
      for (const v of [value ?? []].flat()) responseHeaders.append(key, String(v))
    }
    return new Response(res.statusCode === 204 || res.statusCode === 304 ? null : new Uint8Array(res.rawPayload), { status: res.statusCode, headers: responseHeaders })
  }
}

/** A client configuration from discovery, talking to the app through inject. */
export async function discover(app: () => FastifyInstance, issuer: string, clientId: string, secret?: string): Promise<client.Configuration> {
  const config = await client.discovery(new URL(issuer), clientId, undefined, secret ? client.ClientSecretBasic(secret) : client.None(), {
    // The test app's PUBLIC_URL is plain http; no socket is involved (inject).
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    execute: [client.allowInsecureRequests],
    [client.customFetch]: injectFetch(app),
  })
  config[client.customFetch] = injectFetch(app)
  return config
}

/** Where the continue page (meta refresh) leads. */
export function continueHref(html: string): string | undefined {
  const match = /http-equiv="refresh" content="0;url=([^"]+)"/.exec(html)
  return match?.[1]?.replaceAll('&amp;', '&')
}

/**
 * Follows what a browser would: redirects and continue pages, until the answer leaves the portal
 * (the app's callback, returned) or is a page for the user (returned as it is).
 */
export async function follow(browser: Browser, start: string, publicUrl: string): Promise<{ leftFor?: string; status: number; body: string; path: string }> {
  let path = start.startsWith(publicUrl) ? start.slice(publicUrl.length) : start
  for (let hops = 0; hops < 20; hops++) {
    const res = await browser.get(path)
    const location = typeof res.headers.location === 'string' ? res.headers.location : undefined
    const next = location ?? (res.statusCode === 200 ? continueHref(res.body) : undefined)
    if (!next) return { status: res.statusCode, body: res.body, path }
    const absolute = new URL(next, publicUrl)
    if (absolute.origin !== new URL(publicUrl).origin) return { leftFor: absolute.href, status: res.statusCode, body: res.body, path }
    path = `${absolute.pathname}${absolute.search}`
  }
  throw new Error(`too many redirects from ${start}`)
}

export interface AuthorizationStart {
  url: URL
  verifier: string
  state: string
}

export async function startAuthorization(config: client.Configuration, params: Record<string, string>): Promise<AuthorizationStart> {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    scope: 'openid profile email company roles', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, ...params,
  })
  return { url, verifier, state }
}

/** Test-only changes and reads of an account, straight in the database. */
export async function setAccount(database: Database, userId: string, change: { status?: AccountStatus; lastActivityAt?: Date }): Promise<void> {
  await database.db.update(users).set({ ...(change.status ? { status: change.status } : {}), ...(change.lastActivityAt ? { lastActivityAt: change.lastActivityAt } : {}) })
    .where(eq(users.userId, userId))
}

export async function accountState(database: Database, userId: string): Promise<{ id: number; status: AccountStatus; lastActivityAt: Date | null }> {
  const [row] = await database.db.select({ id: users.id, status: users.status, lastActivityAt: users.lastActivityAt }).from(users).where(eq(users.userId, userId))
  if (!row) throw new Error(`no account ${userId}`)
  return row
}

export async function storedSubjects(database: Database): Promise<string[]> {
  return (await database.db.select({ sub: ssoSubjects.sub }).from(ssoSubjects)).map((r) => r.sub)
}

export async function auditActions(database: Database, prefix: string): Promise<string[]> {
  return (await database.db.select({ action: auditEvents.action }).from(auditEvents)).map((r) => r.action).filter((a) => a.startsWith(prefix))
}

/** The back-channel logouts queued for an app, oldest first. */
export async function queuedLogouts(database: Database, clientId: string) {
  return database.db.select().from(ssoLogoutOutbox).where(eq(ssoLogoutOutbox.clientId, clientId)).orderBy(ssoLogoutOutbox.id)
}

/** Makes every pending back-channel logout due now, as if its backoff had passed. */
export async function makeLogoutsDue(database: Database): Promise<void> {
  await database.db.update(ssoLogoutOutbox).set({ nextAttemptAt: sql`now() - interval '1 second'` }).where(eq(ssoLogoutOutbox.status, 'pending'))
}

/** Answers "yes" on the provider's sign-out confirmation page, as the person would. */
export async function confirmSignOut(app: () => FastifyInstance, browser: Browser, confirmationPage: string) {
  const action = /action="([^"]+)"/.exec(confirmationPage)?.[1] ?? ''
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirmationPage)?.[1] ?? ''
  return app().inject({
    method: 'POST', url: new URL(action).pathname, payload: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    headers: { cookie: Object.entries(browser.jar).map(([k, v]) => `${k}=${v}`).join('; '), 'content-type': 'application/x-www-form-urlencoded' },
  })
}
