import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
// Must stay before oidc-provider: ESM evaluates imports in order (see the module).
import { endRuntimeNoticeFilter } from './node20-runtime.js'
import Provider, { interactionPolicy, type AccountClaims, type Adapter, type AdapterPayload, type Configuration, type KoaContextWithOIDC } from 'oidc-provider'
import type { JsonWebKey } from 'node:crypto'
import type { AccountRow, ClientRow } from './sso.repo.js'
import { ACR, may } from '../identity/index.js'
import { cookieKeys } from './keys.js'
import { ACR_VALUES, asksSecondFactor, SCOPE_CLAIMS, sha256Hex, SIGN_IN_CLAIMS, ssoRealms, type ProviderStore, type SsoRealm } from './realms.js'

endRuntimeNoticeFilter()

/** The account object oidc-provider keeps in ctx.oidc.entities.Account; `userId` is ours. */
export interface SsoAccount extends Record<string, unknown> {
  accountId: string
  userId: number
  claims: () => AccountClaims
}

export function claimsOf(account: AccountRow): AccountClaims {
  return {
    sub: account.sub,
    preferred_username: account.user_id,
    name: `${account.first_name} ${account.last_name}`.trim(),
    given_name: account.first_name,
    family_name: account.last_name,
    locale: account.locale,
    updated_at: Math.floor(new Date(account.updated_at).getTime() / 1000),
    email: account.email ?? undefined,
    email_verified: account.email !== null && account.email_verified_at !== null,
    company: account.company_number ? { number: account.company_number, name: account.company_name } : undefined,
    market: account.market ?? undefined,
    roles: account.roles ?? [],
  }
}

/** A connected app as oidc-provider's client metadata. The secret is its SHA-256 (see compareClientSecret below). */
export function clientMetadata(row: ClientRow): AdapterPayload {
  // require_auth_time: every ID token says when the person signed in, as discovery's claims_supported promises.
  // An app registered for back-channel logout gets `sid` in its ID tokens, so it can match a logout token to its session.
  const common = {
    client_id: row.clientId, client_name: row.name, first_party: row.firstParty, id_token_signed_response_alg: 'RS256' as const, require_auth_time: true,
    ...(row.backchannelLogoutUri && row.kind !== 'machine' ? { backchannel_logout_uri: row.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
  }
  switch (row.kind) {
    case 'machine':
      return { ...common, client_secret: row.secretHash ?? '', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' }
    case 'public':
      return { ...common, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: row.redirectUris, post_logout_redirect_uris: row.postLogoutRedirectUris, token_endpoint_auth_method: 'none' }
    case 'web':
      return {
        ...common, client_secret: row.secretHash ?? '', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
        redirect_uris: row.redirectUris, post_logout_redirect_uris: row.postLogoutRedirectUris, token_endpoint_auth_method: 'client_secret_basic',
      }
  }
}

/** oidc-provider's storage interface over the repo: one adapter instance per model and realm. */
function adapterFor(repo: ProviderStore, realm: SsoRealm): (model: string) => Adapter {
  return (model) => ({
    async upsert(id, payload, expiresIn) {
      await repo.upsertPayload(realm, model, id, payload, expiresIn)
    },
    async find(id) {
      if (model === 'Client') {
        const row = await repo.findClient(id)
        return row && row.realm === realm ? clientMetadata(row) : undefined
      }
      const found = await repo.findPayload(realm, model, 'id', id)
      return found ? { ...found.payload, ...(found.consumed ? { consumed: true } : {}) } : undefined
    },
    async findByUserCode(userCode) {
      const found = await repo.findPayload(realm, model, 'userCode', userCode)
      return found ? { ...found.payload, ...(found.consumed ? { consumed: true } : {}) } : undefined
    },
    async findByUid(uid) {
      const found = await repo.findPayload(realm, model, 'uid', uid)
      return found ? { ...found.payload, ...(found.consumed ? { consumed: true } : {}) } : undefined
    },
    async consume(id) {
      await repo.consumePayload(realm, model, id)
    },
    async destroy(id) {
      await repo.destroyPayload(realm, model, id)
    },
    async revokeByGrantId(grantId) {
      await repo.revokeByGrantId(realm, grantId)
    },
  })
}

/** The portal session of a request as the provider compares it with its own session. */
export interface PortalSignIn {
  sub: string
  /** When the portal session was signed in, in seconds (the provider's `auth_time`). */
  loginTs: number
  acr: string
}

export interface ProviderHooks {
  /** The portal session on this request, if its account belongs to the realm. */
  portalSignIn(req: IncomingMessage, realm: SsoRealm): Promise<PortalSignIn | undefined>
  /** Ends the portal session of this request (RP-initiated logout signs out of the portal too). */
  endPortalSession(ctx: KoaContextWithOIDC): Promise<void>
  /** A token was issued for this account: activity in its realm. */
  recordActivity(userId: number): Promise<void>
  /** Pages the provider renders itself, in the portal's look and the user's language. */
  renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string | undefined }): string
  renderLogout(ctx: KoaContextWithOIDC, action: string, xsrf: string): string
  renderLoggedOut(ctx: KoaContextWithOIDC): string
}

export function buildProvider(options: {
  realm: SsoRealm; publicUrl: string; keySecret: string; https: boolean; repo: ProviderStore; keys: JsonWebKey[]; hooks: ProviderHooks
}): Provider {
  const { realm, repo, hooks } = options
  const prefix = ssoRealms[realm].prefix
  /** The account behind a subject, if it is of this realm and its status may receive tokens. */
  const findAccount = async (sub: string): Promise<SsoAccount | undefined> => {
    const account = await repo.accountBySub(sub)
    if (!account || account.realm !== realm || !may(account.status, 'tokens')) return undefined
    const claims = claimsOf(account)
    return { accountId: sub, userId: account.id, claims: () => claims }
  }
  const policy = interactionPolicy.base()
  // The portal session is the single sign-on session: after signing out of the portal (or when the
  // account's session ended for any reason), a connected app's next sign-in asks again. A newer
  // portal sign-in of the same account, or a step-up, passes through the interaction (no page) so
  // that apps are told when and how the person signed in now (auth_time, acr, amr).
  policy.get('login')?.checks.add(new interactionPolicy.Check('portal_session', 'the portal session ended, belongs to another account or changed', async (ctx) => {
    const session = ctx.oidc.session
    if (!session?.accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT
    const portal = await hooks.portalSignIn(ctx.req, realm)
    const same = portal !== undefined && portal.sub === session.accountId && portal.loginTs === session.authTime() && portal.acr === session.acr
    return same ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT
  }))
  // acr_values that only a second factor meets: a session signed in with a password only signs in
  // again through the interaction, which asks for the second factor or answers with an error.
  policy.get('login')?.checks.add(new interactionPolicy.Check('second_factor', 'the app asks for a second factor', (ctx) => {
    return asksSecondFactor(ctx.oidc.params?.acr_values) && ctx.oidc.session?.acr !== ACR.secondFactor
      ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT
  }))

  const configuration: Configuration = {
    adapter: adapterFor(repo, realm),
    jwks: { keys: options.keys },
    cookies: {
      keys: cookieKeys(options.keySecret),
      names: { session: `sp_oidc_${realm}`, interaction: `sp_oidc_${realm}_interaction`, resume: `sp_oidc_${realm}_resume` },
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure: options.https },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: options.https },
    },
    // acr and amr ride with `openid`: every ID token says how the person signed in (userinfo has neither).
    claims: Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([scope, claims]) => [scope, scope === 'openid' ? [...claims, ...SIGN_IN_CLAIMS] : [...claims]])),
    acrValues: [...ACR_VALUES],
    scopes: ['openid', 'offline_access', ...Object.keys(SCOPE_CLAIMS).filter((s) => s !== 'openid')],
    extraClientMetadata: { properties: ['first_party'] },
    // ID tokens carry the granted claims, so an app needs no userinfo round trip.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    // PKCE for every client, confidential ones included (OAuth 2.1; the issue requires it for public ones).
    pkce: { required: () => true },
    routes: {
      authorization: '/oidc/auth', token: '/oidc/token', jwks: '/oidc/jwks', userinfo: '/oidc/me',
      end_session: '/oidc/session/end', revocation: '/oidc/token/revocation', introspection: '/oidc/token/introspection',
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Only the client a token was issued to may revoke it (RFC 7009: others get 200 and nothing happens).
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      // Only the token's own client learns anything, and a token of an account that may no longer
      // receive tokens (the state machine's `tokens`: blocked, deactivated, pending…) is not active.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId !== client.clientId) return false
          const accountId = 'accountId' in token ? token.accountId : undefined
          return typeof accountId !== 'string' || (await findAccount(accountId)) !== undefined
        },
      },
      // Logout tokens are queued and delivered with retries (deliverBackchannelLogouts), never posted inline.
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          // The provider's own form names its action and its CSRF token ("xsrf"); the page is ours.
          const action = /action="([^"]+)"/.exec(form)?.[1] ?? ''
          const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1] ?? ''
          ctx.type = 'html'
          ctx.body = hooks.renderLogout(ctx, action, xsrf)
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.type = 'html'
          ctx.body = hooks.renderLoggedOut(ctx)
        },
      },
    },
    clientBasedCORS: (_ctx, origin, client) => (client.redirectUris ?? []).some((uri) => URL.canParse(uri) && new URL(uri).origin === origin),
    interactions: {
      policy,
      url: (_ctx, interaction) => `${prefix}/oidc/interaction/${interaction.uid}`,
    },
    findAccount: (_ctx, sub) => findAccount(sub),
    // Refresh tokens for every app allowed the grant; without offline_access they end with the session.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client?.clientId ?? '')
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined
    },
    renderError: (ctx, out) => {
      ctx.type = 'html'
      ctx.body = hooks.renderError(ctx, out)
    },
    ttl: {
      AccessToken: 10 * 60,
      ClientCredentials: 10 * 60,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      RefreshToken: 30 * 24 * 60 * 60,
      Interaction: 60 * 60,
      // As long as the portal session can live.
      Session: 12 * 60 * 60,
      Grant: 30 * 24 * 60 * 60,
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'], userinfoSigningAlgValues: ['RS256'] },
  }

  const provider = new Provider(`${options.publicUrl}${prefix}`, configuration)
  // The route handler sets Host and X-Forwarded-Proto from PUBLIC_URL, so the provider may trust them.
  provider.proxy = true

  // Secrets are stored as SHA-256 of 32 random bytes: compare the hash of what the client sent.
  // (client_secret_basic and client_secret_post only compare; no HMAC-based method is enabled.)
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string): boolean {
    const expected = Buffer.from(this.clientSecret ?? '', 'utf8')
    const given = Buffer.from(sha256Hex(actual), 'utf8')
    return expected.length === given.length && timingSafeEqual(expected, given)
  }

  // RP-initiated logout ends the provider's session (and its grants) before identity ends the portal
  // session, so the provider's own back-channel call queues its logouts in the same outbox.
  provider.Client.prototype.backchannelLogout = async function backchannelLogout(this: { clientId: string }, sub: string, sid: string | undefined): Promise<void> {
    await repo.queueLogout(realm, this.clientId, sub, sid ?? null)
  }

  provider.use(async (ctx, next) => {
    await next()
    // Unknown paths never get an OIDC context, whatever the type says.
    const { oidc } = ctx as Partial<KoaContextWithOIDC>
    // Activity is recorded before the response leaves: a token the app holds always counted.
    if (oidc?.route === 'token' && ctx.status === 200) {
      const account = oidc.entities.Account as SsoAccount | undefined
      if (account) await hooks.recordActivity(account.userId)
    }
    if (oidc?.route === 'end_session_confirm' && ctx.status < 400) await hooks.endPortalSession(ctx as KoaContextWithOIDC)
  })
  return provider
}
