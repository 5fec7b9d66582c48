/**
 * Single sign-on benchmark, in one run on PostgreSQL, against the bare discovery route of the same
 * server (baseline) in alternating rounds:
 *  1. client_credentials grants per second (machine client, client_secret_basic) — goal ≥ 480 /s;
 *  2. refresh-token grants per second, each connection chaining its own rotated refresh token;
 *  3. SCIM 2.0 user creates per second (POST /scim/v2/Users: invitation, its email in the outbox,
 *     audit) — goal ≥ 300 /s;
 *  4. SCIM 2.0 user PATCHes per second (a name replaced, audited), spread over the accounts the
 *     creates made — goal ≥ 300 /s.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type autocannon from 'autocannon'
import { createServices } from '../src/composition.js'
import { openDatabase } from '../src/db/client.js'
import { seedDemo } from '../src/seed/demo.js'
import { DEMO_PASSWORD } from '../src/seed/users.js'
import { systemActor } from '../src/shared/actor.js'
import { freshBenchDatabase, load, startServer, type LoadResult } from './lib.js'

const PORT = 3911
const CONNECTIONS = 16

export interface SsoBenchResult {
  discovery: LoadResult
  clientCredentials: LoadResult
  refresh: LoadResult
  clientCredentialsRatio: number
  refreshRatio: number
  /** The rounds with the median SCIM create and PATCH rates. */
  scimCreate: LoadResult
  scimPatch: LoadResult
  rounds: { discovery: number; clientCredentials: number; refresh: number; scimCreate: number; scimPatch: number }[]
  allErrors: number
}

const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

/** A minimal cookie-keeping browser over fetch: enough to sign in and walk the authorization redirects. */
function jarFetch() {
  const jar = new Map<string, string>()
  return async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string> | undefined), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } })
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const index = pair.indexOf('=')
      if (index > 0) jar.set(pair.slice(0, index), pair.slice(index + 1))
    }
    return res
  }
}

/** One user's code flow (S256 with a fixed verifier is fine for a benchmark), ending with a refresh token. */
async function refreshTokenFor(base: string, clientId: string, secret: string, redirectUri: string, userId: string): Promise<string> {
  const get = jarFetch()
  const loginPage = await (await get(`${base}/en/login`)).text()
  const csrf = /name="_csrf" value="([^"]+)"/.exec(loginPage)?.[1] ?? ''
  await get(`${base}/en/login`, { method: 'POST', body: new URLSearchParams({ _csrf: csrf, identifier: userId, password: DEMO_PASSWORD }) })
  const verifier = randomBytes(32).toString('base64url')
  const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url')
  let url = `${base}/oidc/auth?${new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid profile email', redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256' }).toString()}`
  for (let hop = 0; hop < 12 && !url.startsWith(redirectUri); hop++) {
    const res = await get(url)
    const location = res.headers.get('location')
    const body = await res.text()
    const next = location ?? /content="0;url=([^"]+)"/.exec(body)?.[1]?.replaceAll('&amp;', '&')
    if (!next) throw new Error(`authorization stopped at ${url} (${String(res.status)})`)
    url = new URL(next, base).href
  }
  const code = new URL(url).searchParams.get('code') ?? ''
  const token = await fetch(`${base}/oidc/token`, {
    method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
  })
  const json = await token.json() as { refresh_token?: string }
  if (!json.refresh_token) throw new Error(`no refresh token: ${JSON.stringify(json)}`)
  return json.refresh_token
}

export async function runSsoBench(log: (line: string) => void): Promise<SsoBenchResult> {
  const databaseUrl = await freshBenchDatabase('sportello_bench_sso')
  const oidcKeySecret = randomBytes(32).toString('base64url')
  const database = await openDatabase({ url: databaseUrl })
  await database.migrate()
  const services = createServices(database, undefined, { oidcKeySecret })
  await seedDemo(services)
  const redirectUri = `http://localhost:${String(PORT)}/callback`
  const machine = await services.sso.addClient(systemActor('bench'), { realm: 'partner', name: 'Bench machine', kind: 'machine', firstParty: true, redirectUris: [], postLogoutRedirectUris: [] })
  const web = await services.sso.addClient(systemActor('bench'), { realm: 'partner', name: 'Bench web app', kind: 'web', firstParty: true, redirectUris: [redirectUri], postLogoutRedirectUris: [] })
  // Refresh chains belong to different people, as in life (one person's refreshes would queue on their row).
  const users: string[] = []
  for (let i = 0; i < 2 * CONNECTIONS; i++) {
    users.push((await services.auth.createUser({ realm: 'partner', userId: `bench${String(i)}`, firstName: 'Bench', lastName: String(i), email: `bench${String(i)}@example.com`, emailVerified: true, locale: 'en', companyId: null, password: DEMO_PASSWORD })).userId)
  }
  // A dealer management system provisioning one demo company's staff.
  const dms = await services.sso.addClient(systemActor('bench'), { realm: 'partner', name: 'Bench DMS', kind: 'machine', firstParty: true, redirectUris: [], postLogoutRedirectUris: [] })
  const { token: scimToken } = await services.scim.issueToken(systemActor('bench'), { clientId: dms.client.clientId, company: 'IT-10001' })
  await database.close()

  const server = await startServer({
    DATABASE_URL: databaseUrl, AUTH_RATE_LIMIT: '1000000', PUBLIC_URL: `http://127.0.0.1:${String(PORT)}`, OIDC_KEY_SECRET: oidcKeySecret,
    SESSION_SECRET: randomBytes(32).toString('base64url'), DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sportello-bench-sso-')), LIFECYCLE_SWEEP_MINUTES: '0',
  }, PORT)
  const base = server.url
  const basic = (id: string, secret: string | null) => `Basic ${Buffer.from(`${id}:${secret ?? ''}`).toString('base64')}`

  const discovery = { url: `${base}/.well-known/openid-configuration`, connections: CONNECTIONS }
  const clientCredentials = {
    url: `${base}/oidc/token`, method: 'POST' as const, connections: CONNECTIONS, body: 'grant_type=client_credentials',
    headers: { authorization: basic(machine.client.clientId, machine.secret), 'content-type': 'application/x-www-form-urlencoded' },
  }
  // A pool of live refresh tokens, twice as many as connections: each request takes one, its answer
  // puts the rotated one back. (autocannon resets a connection's context after every request.) The
  // requests still in flight when a round ends take their tokens with them: each round tops it up.
  const pool: string[] = []
  let signIns = 0
  const topUp = async () => {
    log('signing in for fresh refresh tokens…')
    while (pool.length < 2 * CONNECTIONS) pool.push(await refreshTokenFor(base, web.client.clientId, web.secret ?? '', redirectUri, users[signIns++ % users.length] ?? ''))
  }
  const refresh: autocannon.Options = {
    url: base, connections: CONNECTIONS, initialContext: {},
    requests: [{
      method: 'POST', path: '/oidc/token',
      headers: { authorization: basic(web.client.clientId, web.secret), 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest: (req) => ({ ...req, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(pool.shift() ?? 'pool-empty')}` }),
      onResponse: (_status, body) => {
        const rotated = (JSON.parse(body) as { refresh_token?: string }).refresh_token
        if (rotated) pool.push(rotated)
      },
    }],
  }

  // SCIM: every create a new person (a fresh user ID and address), every PATCH another account of
  // those created so far (one account's PATCHes would queue on its row lock), its given name replaced.
  const scimHeaders = { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' }
  const created: string[] = []
  let people = 0
  let patches = 0
  const scimCreate: autocannon.Options = {
    url: base, connections: CONNECTIONS,
    requests: [{
      method: 'POST', path: '/scim/v2/Users', headers: scimHeaders,
      setupRequest: (req) => {
        const userName = `scim.bench.${String(++people)}`
        return { ...req, body: JSON.stringify({ schemas: [SCIM_USER], userName, name: { givenName: 'Bench', familyName: String(people) }, emails: [{ value: `${userName}@dealer.example`, primary: true, type: 'work' }], preferredLanguage: 'it' }) }
      },
      onResponse: (status, body) => {
        if (status === 201) created.push((JSON.parse(body) as { id: string }).id)
      },
    }],
  }
  const scimPatch: autocannon.Options = {
    url: base, connections: CONNECTIONS,
    requests: [{
      method: 'PATCH', path: '/scim/v2/Users', headers: scimHeaders,
      setupRequest: (req) => {
        const n = ++patches
        return { ...req, path: `/scim/v2/Users/${created[n % Math.max(1, created.length)] ?? '0'}`, body: JSON.stringify({ schemas: [SCIM_PATCH], Operations: [{ op: 'replace', path: 'name.givenName', value: `Bench ${String(n)}` }] }) }
      },
    }],
  }

  // The creates leave invitation emails behind, which the server's outbox worker sends while the
  // creates run and after: the PATCH rounds wait until it is done, so that they measure PATCHes.
  const outboxDrained = async () => {
    for (let i = 0; i < 240; i++) {
      const metrics = await (await fetch(`${base}/metrics`)).text()
      if (/^sportello_outbox_pending 0$/m.test(metrics)) return
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    log('the outbox is still sending invitations; PATCH measured beside it')
  }

  await load({ ...discovery, duration: 3 })
  await load({ ...clientCredentials, duration: 3 })
  await topUp()
  await load({ ...refresh, duration: 3 })
  await load({ ...scimCreate, duration: 3 })
  await outboxDrained()
  await load({ ...scimPatch, duration: 3 })
  const rounds: { discovery: LoadResult; clientCredentials: LoadResult; refresh: LoadResult; scimCreate: LoadResult; scimPatch: LoadResult }[] = []
  for (let round = 1; round <= 3; round++) {
    log(`round ${String(round)}: discovery, client_credentials, refresh, SCIM create, SCIM PATCH…`)
    const d = await load({ ...discovery, duration: 6 })
    const c = await load({ ...clientCredentials, duration: 6 })
    await topUp()
    const r = await load({ ...refresh, duration: 6 })
    const sc = await load({ ...scimCreate, duration: 6 })
    await outboxDrained()
    const sp = await load({ ...scimPatch, duration: 6 })
    rounds.push({ discovery: d, clientCredentials: c, refresh: r, scimCreate: sc, scimPatch: sp })
  }
  await server.stop()
  const median = [...rounds].sort((a, b) => a.clientCredentials.rps / a.discovery.rps - b.clientCredentials.rps / b.discovery.rps)[1]
  const middle = (pick: (r: (typeof rounds)[number]) => LoadResult) => [...rounds].map(pick).sort((a, b) => a.rps - b.rps)[1]
  const scimCreateMedian = middle((r) => r.scimCreate)
  const scimPatchMedian = middle((r) => r.scimPatch)
  if (!median || !scimCreateMedian || !scimPatchMedian) throw new Error('no rounds')
  return {
    ...median,
    scimCreate: scimCreateMedian,
    scimPatch: scimPatchMedian,
    clientCredentialsRatio: Math.round((median.clientCredentials.rps / median.discovery.rps) * 1000) / 10,
    refreshRatio: Math.round((median.refresh.rps / median.discovery.rps) * 1000) / 10,
    rounds: rounds.map((r) => ({ discovery: r.discovery.rps, clientCredentials: r.clientCredentials.rps, refresh: r.refresh.rps, scimCreate: r.scimCreate.rps, scimPatch: r.scimPatch.rps })),
    allErrors: rounds.reduce((n, r) => n + [r.discovery, r.clientCredentials, r.refresh, r.scimCreate, r.scimPatch].reduce((m, x) => m + x.errors + x.non2xx, 0), 0),
  }
}
