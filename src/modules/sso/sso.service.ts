import { randomBytes, randomUUID } from 'node:crypto'
import type { JsonWebKey } from 'node:crypto'
import type { ClientKind } from '../../db/schema/index.js'
import { assertCan } from '../../shared/access.js'
import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { may } from '../identity/index.js'
import { decryptJwk, encryptJwk, generateSigningKey } from './keys.js'
import { isSsoRealm, sha256Hex, ssoRealms, type ProviderStore } from './realms.js'
import type { ClientRow, SsoRepo } from './sso.repo.js'

/** The signing key plus the previous one, which stays published so tokens it signed still verify. */
const PUBLISHED_KEYS = 2

/** Back-channel logout delivery: an app gets this long to answer, and is retried for a week. */
const LOGOUT_TIMEOUT_MS = 5000
const LOGOUT_LEASE_SECONDS = 60
const LOGOUT_GIVE_UP_MS = 7 * 24 * 3600 * 1000
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** Seconds before the next try after the n-th failed one: 15 s, 30 s, 1 min … capped at 1 hour. */
export function logoutRetryDelaySeconds(attempt: number): number {
  return Math.min(3600, 15 * 2 ** Math.max(0, attempt - 1))
}

export interface ClientInput {
  realm: string
  name: string
  kind: ClientKind
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  firstParty: boolean
  /** A chosen client ID (the demo seed's workshop app); otherwise a random one. */
  clientId?: string | undefined
  /** Where the app receives logout tokens (OpenID Connect Back-Channel Logout 1.0); web and public apps only. */
  backchannelLogoutUri?: string | undefined
}

function actorRef(actor: Actor): { type: string; id: number | null } {
  return actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }
}

/** Redirect URIs: absolute, no fragment, and HTTPS except on this machine (development and the demo app). */
function checkRedirectUri(uri: string): string {
  const trimmed = uri.trim()
  if (trimmed.length > 500 || !URL.canParse(trimmed)) throw new AppError('SSO_REDIRECT_URI_INVALID', { uri: trimmed.slice(0, 100) })
  const url = new URL(trimmed)
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  if (url.hash || url.username || url.password || !(url.protocol === 'https:' || (url.protocol === 'http:' && local))) {
    throw new AppError('SSO_REDIRECT_URI_INVALID', { uri: trimmed.slice(0, 100) })
  }
  return trimmed
}

export function createSsoService(repo: SsoRepo, deps: { keySecret: () => string }) {
  async function rotate(actor: Actor | undefined, ctx: { requestId?: string | undefined; ip?: string | undefined }): Promise<{ kid: string; published: string[] }> {
    const key = generateSigningKey()
    const now = clock.now()
    const published = await repo.rotateKeys(
      { kid: key.kid, alg: key.alg, encryptedJwk: encryptJwk(deps.keySecret(), key.jwk) }, now,
      actor ? { at: now, actor: actorRef(actor), action: 'sso.keys_rotated', data: { kid: key.kid }, requestId: ctx.requestId, ip: ctx.ip } : undefined,
      PUBLISHED_KEYS,
    )
    return { kid: key.kid, published: published.map((k) => k.kid) }
  }

  return {
    /**
     * Registers a connected app. Web and machine clients get a secret, returned here once and
     * stored only as its SHA-256 (32 random bytes: a fast hash is enough for that much entropy).
     */
    async addClient(actor: Actor, input: ClientInput, ctx: { requestId?: string | undefined; ip?: string | undefined } = {}): Promise<{ client: ClientRow; secret: string | null }> {
      assertCan(actor, 'manage_sso')
      if (!isSsoRealm(input.realm)) throw new AppError('INVALID_INPUT', { field: 'realm', reason: input.realm.slice(0, 40) })
      const name = input.name.trim()
      if (!name || name.length > 100) throw new AppError('INVALID_INPUT', { field: 'name', reason: '1–100' })
      const redirectUris = input.kind === 'machine' ? [] : input.redirectUris.map(checkRedirectUri)
      const postLogoutRedirectUris = input.kind === 'machine' ? [] : input.postLogoutRedirectUris.map(checkRedirectUri)
      if (input.kind !== 'machine' && redirectUris.length === 0) throw new AppError('SSO_REDIRECT_URI_INVALID', { uri: '' })
      if (redirectUris.length + postLogoutRedirectUris.length > 20) throw new AppError('INVALID_INPUT', { field: 'redirect_uris', reason: '≤ 20' })
      if (input.kind === 'machine' && input.backchannelLogoutUri) throw new AppError('INVALID_INPUT', { field: 'backchannel_logout_uri', reason: 'machine' })
      const backchannelLogoutUri = input.backchannelLogoutUri ? checkRedirectUri(input.backchannelLogoutUri) : null
      const secret = input.kind === 'public' ? null : randomBytes(32).toString('base64url')
      const now = clock.now()
      if (input.clientId !== undefined && !/^[\w.-]{3,64}$/.test(input.clientId)) throw new AppError('INVALID_INPUT', { field: 'client_id', reason: input.clientId.slice(0, 40) })
      // Hex: an ID never starts with "-", which a command line would take for an option.
      const clientId = input.clientId ?? randomBytes(16).toString('hex')
      const client = await repo.insertClient({
        clientId, realm: input.realm, name, kind: input.kind, firstParty: input.firstParty,
        secretHash: secret ? sha256Hex(secret) : null, redirectUris, postLogoutRedirectUris, backchannelLogoutUri, createdAt: now,
      }, { at: now, actor: actorRef(actor), action: 'sso.client_added', data: { clientId, realm: input.realm, kind: input.kind, backchannelLogout: backchannelLogoutUri !== null }, requestId: ctx.requestId, ip: ctx.ip })
      return { client, secret }
    },

    /** The demo seed: registers the workshop app once. */
    async ensureClient(actor: Actor, input: ClientInput & { clientId: string }): Promise<ClientRow> {
      assertCan(actor, 'manage_sso')
      return (await repo.findClient(input.clientId)) ?? (await this.addClient(actor, input)).client
    },

    /** One connected app (the provisioning token's checks). */
    async client(actor: Actor, clientId: string): Promise<ClientRow | undefined> {
      assertCan(actor, 'manage_sso')
      return repo.findClient(clientId)
    },

    async listClients(actor: Actor, realm?: string): Promise<ClientRow[]> {
      assertCan(actor, 'manage_sso')
      return repo.listClients(realm)
    },

    /** Removes an app; its tokens, codes and grants go with it. */
    async removeClient(actor: Actor, clientId: string, ctx: { requestId?: string | undefined; ip?: string | undefined } = {}): Promise<void> {
      assertCan(actor, 'manage_sso')
      const now = clock.now()
      const removed = clientId.length <= 100 && await repo.deleteClient(clientId, { at: now, actor: actorRef(actor), action: 'sso.client_removed', data: { clientId }, requestId: ctx.requestId, ip: ctx.ip })
      if (!removed) throw new AppError('SSO_CLIENT_NOT_FOUND')
    },

    /** A new signing key signs from now on; the previous one stays published, older ones are retired. */
    async rotateKeys(actor: Actor, ctx: { requestId?: string | undefined; ip?: string | undefined } = {}): Promise<{ kid: string; published: string[] }> {
      assertCan(actor, 'manage_sso')
      return rotate(actor, ctx)
    },

    /** The published keys, decrypted, newest (the signing one) first; the first start creates one. */
    async signingKeys(): Promise<JsonWebKey[]> {
      let rows = await repo.publishedKeys()
      if (rows.length === 0) {
        await rotate(undefined, {})
        rows = await repo.publishedKeys()
      }
      return rows.map((row) => decryptJwk(deps.keySecret(), row.kid, row.encryptedJwk))
    },

    /** The account a portal session belongs to, as connected apps know it. */
    async signInAccount(userId: number): Promise<{ sub: string; mayGetTokens: boolean }> {
      const sub = await repo.subjectOf(userId)
      const account = await repo.accountBySub(sub)
      return { sub, mayGetTokens: account !== undefined && may(account.status, 'tokens') }
    },

    /**
     * Delivers due back-channel logouts: each is signed with the current signing key as a logout
     * token (iss, aud, iat, exp, jti, sub, sid when known, the logout event; `typ` logout+jwt) and
     * posted to the app, until it answers 2xx (retried with backoff for a week). Returns how many
     * were delivered. The server runs it on a schedule; tests call it.
     */
    async deliverBackchannelLogouts(publicUrl: string, options: { limit?: number } = {}): Promise<{ delivered: number; failed: number }> {
      const due = await repo.claimDueLogouts(options.limit ?? 50, LOGOUT_LEASE_SECONDS)
      if (due.length === 0) return { delivered: 0, failed: 0 }
      const [[jwk], { importJWK, SignJWT }] = await Promise.all([this.signingKeys(), import('jose')])
      if (!jwk) throw new Error('no signing key')
      const key = await importJWK(jwk as Parameters<typeof importJWK>[0], 'RS256')
      const kid = (jwk as { kid?: string }).kid
      let delivered = 0
      let failed = 0
      await Promise.all(due.map(async (logout) => {
        const problem = await (async (): Promise<string | undefined> => {
          if (!logout.uri || !isSsoRealm(logout.realm)) return 'the app no longer takes back-channel logouts'
          const token = await new SignJWT({ sub: logout.sub, ...(logout.sid ? { sid: logout.sid } : {}), events: { [LOGOUT_EVENT]: {} } })
            .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', ...(kid ? { kid } : {}) })
            .setIssuer(`${publicUrl}${ssoRealms[logout.realm].prefix}`).setAudience(logout.clientId)
            .setIssuedAt().setExpirationTime('2m').setJti(randomUUID()).sign(key)
          try {
            const res = await fetch(logout.uri, {
              method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(LOGOUT_TIMEOUT_MS),
              headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }),
            })
            await res.body?.cancel()
            return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${String(res.status)}`
          } catch (error) {
            return error instanceof Error ? error.message : String(error)
          }
        })()
        if (problem === undefined) {
          await repo.markLogoutDelivered(logout.id)
          delivered++
          return
        }
        failed++
        const givingUp = !logout.uri || Date.now() - new Date(logout.createdAt).getTime() > LOGOUT_GIVE_UP_MS
        await repo.markLogoutFailed(logout.id, problem, givingUp ? null : logoutRetryDelaySeconds(logout.attempts))
      }))
      return { delivered, failed }
    },

    purgeDeliveredLogouts: () => repo.purgeDeliveredLogouts(),

    /** What oidc-provider's adapter and findAccount read and write. */
    store: repo as ProviderStore,
    keysRevision: () => repo.keysRevision(),
    subjectOf: (userId: number) => repo.subjectOf(userId),
    purgeExpired: () => repo.purgeExpired(),
  }
}

export type SsoService = ReturnType<typeof createSsoService>
