import type { IncomingMessage } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type Provider from 'oidc-provider'
import type { InteractionResults, KoaContextWithOIDC } from 'oidc-provider'
import Type from 'typebox'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { isLocale, locales, negotiateLocale, t, translator } from '../../shared/i18n/index.js'
import { pageContext, renderDocument, samePathAlternates, sendPage } from '../../shared/http/render.js'
import { issueCsrfToken } from '../../shared/http/security.js'
import type { PageContext } from '../../shared/layout/Page.js'
import { ACR, authenticationContext, sessionCookieName, type AuthService } from '../identity/index.js'
import type { ProviderHooks } from './provider.js'
import { asksSecondFactor, isSsoRealm, ssoRealms, type SsoRealm } from './realms.js'
import { ClientsPage, ConsentPage, ContinuePage, LoggedOutPage, LogoutPage, SecondFactorUnavailablePage, SsoErrorPage } from './sso.pages.js'
import type { SsoService } from './sso.service.js'

/** How often a process looks for keys rotated by another process (`sportello keys rotate`). */
const KEY_CHECK_MS = 10_000
const PURGE_MS = 60 * 60 * 1000

/** Set when prompt=login or max_age ended the portal session: names that session, signed. */
const REAUTH_COOKIE = 'sp_oidc_reauth'

const UidParams = Type.Object({ uid: Type.String({ pattern: '^[\\w-]{1,100}$' }) })

export async function ssoRoutes(root: FastifyInstance, opts: { sso: SsoService; auth: AuthService; publicUrl: string; keySecret: string; https: boolean }): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { sso, auth } = opts
  const publicUrl = new URL(opts.publicUrl)
  /** The Fastify request behind each raw request the provider handles: its locale, actor and cookies. */
  const requests = new WeakMap<IncomingMessage, FastifyRequest>()

  const contextOf = (ctx: KoaContextWithOIDC): PageContext => {
    const req = requests.get(ctx.req)
    if (req) return pageContext(req)
    const locale = negotiateLocale(ctx.get('accept-language'))
    return { locale, t: translator(locale), brandName: root.site.brandName, stylesheet: root.site.stylesheet, alternates: {}, signedIn: false }
  }

  const hooks: ProviderHooks = {
    async portalSignIn(raw, realm) {
      const actor = requests.get(raw)?.actor
      if (actor?.kind !== 'user' || actor.realm !== realm || !actor.sessionIdHash) return undefined
      const [sub, facts] = await Promise.all([sso.subjectOf(actor.userId), auth.sessionFacts(actor.sessionIdHash)])
      return facts ? { sub, loginTs: Math.floor(facts.startedAt.getTime() / 1000), acr: authenticationContext(facts.amr).acr } : undefined
    },
    async endPortalSession(ctx) {
      const req = requests.get(ctx.req)
      const name = sessionCookieName(opts.https)
      const token = req?.cookies[name]
      if (!req || !token) return
      await auth.signOut(req.actor, token, { ip: req.ip, userAgent: req.headers['user-agent'], requestId: req.id, publicUrl: opts.publicUrl })
      ctx.cookies.set(name, null, { path: '/', signed: false, secure: opts.https, httpOnly: true, sameSite: 'lax' })
    },
    recordActivity: (userId) => auth.recordAppActivity(userId),
    renderError: (ctx, out) => renderDocument(SsoErrorPage({ ctx: contextOf(ctx), error: out.error })),
    renderLogout: (ctx, action, xsrf) => {
      // The confirmation form may lead back to the app's registered post-logout address.
      const target = ctx.oidc.params?.post_logout_redirect_uri
      if (typeof target === 'string' && URL.canParse(target)) ctx.set('content-security-policy', `default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self' ${new URL(target).origin}; frame-ancestors 'none'; base-uri 'self'; object-src 'none'`)
      return renderDocument(LogoutPage({ ctx: contextOf(ctx), action, xsrf, appName: ctx.oidc.client?.clientName }))
    },
    renderLoggedOut: (ctx) => renderDocument(LoggedOutPage({ ctx: contextOf(ctx) })),
  }

  // One provider per realm, built at the first OIDC request (the database may still be migrating
  // when the app is built) and rebuilt when the published signing keys change.
  // oidc-provider (a third of the app's import time) is loaded here too, so a portal that no app signs in
  // through, a CLI command and a test of another module never pay for it.
  const build = async () => {
    const [{ buildProvider }, keys, keysRevision] = await Promise.all([import('./provider.js'), sso.signingKeys(), sso.keysRevision()])
    const built = new Map((Object.keys(ssoRealms) as SsoRealm[]).map((realm) => [realm, buildProvider({
      realm, publicUrl: opts.publicUrl, keySecret: opts.keySecret, https: opts.https, repo: sso.store, keys, hooks,
    })]))
    return { built, keysRevision }
  }
  let current: Promise<{ built: Map<SsoRealm, Provider>; keysRevision: string }> | undefined
  let checkedAt = clock.now().getTime()
  let checking = false
  const providers = {
    async get(realm: SsoRealm): Promise<Provider> {
      const building = current ?? (current = build())
      const { built, keysRevision } = await building.catch((error: unknown) => {
        if (current === building) current = undefined
        throw error
      })
      if (Math.abs(clock.now().getTime() - checkedAt) > KEY_CHECK_MS && !checking) {
        checking = true
        checkedAt = clock.now().getTime()
        void (async () => {
          if ((await sso.keysRevision()) !== keysRevision) {
            const rebuilt = await build()
            current = Promise.resolve(rebuilt)
          }
        })().catch((error: unknown) => { root.log.error({ err: error }, 'reloading OIDC signing keys failed') }).finally(() => { checking = false })
      }
      const provider = built.get(realm)
      if (!provider) throw new Error(`no provider for realm ${realm}`)
      return provider
    },
  }
  /** Koa composes its middleware in callback(): once per provider, not per request. */
  const handlers = new WeakMap<Provider, ReturnType<Provider['callback']>>()
  const handlerOf = (provider: Provider) => {
    let handler = handlers.get(provider)
    if (!handler) {
      handler = provider.callback()
      handlers.set(provider, handler)
    }
    return handler
  }
  const purge = setInterval(() => { sso.purgeExpired().catch((error: unknown) => { root.log.error({ err: error }, 'purging expired OIDC artifacts failed') }) }, PURGE_MS)
  purge.unref()
  root.addHook('onClose', () => { clearInterval(purge) })

  /** What the provider sees of a request: the public origin (PUBLIC_URL), and paths below the realm's prefix. */
  const prepare = (req: FastifyRequest) => {
    const raw = req.raw
    requests.set(raw, req)
    raw.headers.host = publicUrl.host
    raw.headers['x-forwarded-proto'] = publicUrl.protocol.replace(':', '')
    raw.headers['x-forwarded-for'] = req.ip
    delete raw.headers['x-forwarded-host']
    return raw
  }

  // ---- The provider's own endpoints: the request body is left unread for it ----
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_req, _payload, done) => { done(null) })
    for (const realm of Object.keys(ssoRealms) as SsoRealm[]) {
      const prefix = ssoRealms[realm].prefix
      const handler = async (req: FastifyRequest, reply: FastifyReply) => {
        const raw = prepare(req)
        reply.hijack()
        if (prefix) {
          (raw as IncomingMessage & { originalUrl?: string }).originalUrl = raw.url
          raw.url = (raw.url ?? '/').slice(prefix.length) || '/'
        }
        try {
          await handlerOf(await providers.get(realm))(raw, reply.raw)
        } catch (error) {
          req.log.error({ err: error }, 'OIDC provider failed')
          if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json' })
          reply.raw.end(JSON.stringify({ error: 'server_error' }))
        }
      }
      scope.route({ method: ['GET', 'POST', 'OPTIONS'], url: `${prefix}/.well-known/openid-configuration`, schema: { hide: true }, handler })
      scope.route({ method: ['GET', 'POST', 'OPTIONS'], url: `${prefix}/oidc/*`, schema: { hide: true }, handler })
    }
  })

  // ---- Interactions: sign-in through the portal's own pages, consent for third-party apps ----
  for (const realm of Object.keys(ssoRealms) as SsoRealm[]) {
    const prefix = ssoRealms[realm].prefix
    const base = `${prefix}/oidc/interaction/:uid`

    const detailsOf = async (req: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply) => {
      const provider = await providers.get(realm)
      const raw = prepare(req)
      const details = await provider.interactionDetails(raw, reply.raw).catch(() => { throw new AppError('SSO_INTERACTION_EXPIRED') })
      if (details.uid !== req.params.uid) throw new AppError('SSO_INTERACTION_EXPIRED')
      const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : ''
      const client = await provider.Client.find(clientId)
      if (!client) throw new AppError('SSO_INTERACTION_EXPIRED')
      return { provider, raw, details, client }
    }
    const finish = async (req: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply, provider: Provider, result: InteractionResults, appName: string) => {
      const href = await provider.interactionResult(prepare(req), reply.raw, result, { mergeWithLastSubmission: false })
      void reply.header('cache-control', 'no-store')
      return sendPage(reply, ContinuePage({ ctx: pageContext(req), href, appName }))
    }
    const loginPath = (locale: string) => (realm === 'shop' ? `/${locale}/shop/login` : `/${locale}/login`)
    /** The app gets an OIDC error; the person is told why, with the way to add a factor and the link back. */
    const secondFactorUnavailable = async (req: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply, provider: Provider, appName: string) => {
      const href = await provider.interactionResult(prepare(req), reply.raw, {
        error: 'unmet_authentication_requirements', error_description: 'the app asks for a second factor and the account has none',
      }, { mergeWithLastSubmission: false })
      void reply.header('cache-control', 'no-store')
      return sendPage(reply, SecondFactorUnavailablePage({ ctx: pageContext(req), href, appName }))
    }
    const localeFor = (req: FastifyRequest, uiLocales: unknown) => {
      const wanted = typeof uiLocales === 'string' ? uiLocales.split(' ').map((l) => l.slice(0, 2).toLowerCase()).find(isLocale) : undefined
      return wanted ?? req.locale
    }

    app.get(base, { schema: { hide: true, params: UidParams } }, async (req, reply) => {
      const { provider, details, client } = await detailsOf(req, reply)
      const appName = client.clientName ?? client.clientId
      req.locale = localeFor(req, details.params.ui_locales)
      const actor = req.actor
      if (details.prompt.name === 'login') {
        if (actor.kind !== 'user' || actor.realm !== realm) {
          return reply.redirect(`${loginPath(req.locale)}?next=${encodeURIComponent(`${prefix}/oidc/interaction/${details.uid}`)}`, 303)
        }
        // prompt=login and max_age ask for a sign-in newer than the request or than max_age: an older
        // portal session ends here and the user signs in again.
        // The session this interaction already ended (signed cookie): any session now is a new sign-in.
        const interactionPath = `${prefix}/oidc/interaction/${details.uid}`
        const endedRaw = req.cookies[REAUTH_COOKIE]
        const ended = endedRaw ? req.unsignCookie(endedRaw) : undefined
        const signedInAgain = ended?.valid === true && ended.value !== actor.sessionIdHash
        const facts = actor.sessionIdHash ? await auth.sessionFacts(actor.sessionIdHash) : undefined
        const startedAt = facts?.startedAt
        const maxAge = Number(details.params.max_age)
        const reasons = details.prompt.reasons
        const stale = !startedAt || (!signedInAgain && (reasons.includes('login_prompt')
          || (reasons.includes('max_age') && Number.isFinite(maxAge) && startedAt.getTime() < clock.now().getTime() - maxAge * 1000)))
        if (stale) {
          const name = sessionCookieName(opts.https)
          const token = req.cookies[name]
          if (token) await auth.signOut(actor, token, { ip: req.ip, userAgent: req.headers['user-agent'], requestId: req.id, publicUrl: opts.publicUrl })
          void reply.clearCookie(name, { path: '/' })
          void reply.setCookie(REAUTH_COOKIE, actor.sessionIdHash ?? '', { path: interactionPath, httpOnly: true, sameSite: 'lax', secure: opts.https, signed: true, maxAge: 3600 })
          return reply.redirect(`${loginPath(req.locale)}?next=${encodeURIComponent(interactionPath)}`, 303)
        }
        const account = await sso.signInAccount(actor.userId)
        if (!account.mayGetTokens) return finish(req, reply, provider, { error: 'access_denied', error_description: 'the account is not active yet' }, appName)
        // How the person signed in (amr, acr). An app that asks for a second factor gets one: the
        // second step now (step-up; it comes back here), or an error when the account has none.
        const context = authenticationContext(facts.amr)
        if (asksSecondFactor(details.params.acr_values) && context.acr !== ACR.secondFactor) {
          if (!(await auth.hasSecondFactor(actor.userId))) return secondFactorUnavailable(req, reply, provider, appName)
          return reply.redirect(`${loginPath(req.locale)}/step-up?next=${encodeURIComponent(interactionPath)}`, 303)
        }
        return finish(req, reply, provider, { login: { accountId: account.sub, ts: Math.floor(startedAt.getTime() / 1000), amr: context.amr, acr: context.acr } }, appName)
      }
      if (details.prompt.name === 'consent') {
        const accountId = details.session?.accountId
        if (!accountId) throw new AppError('SSO_INTERACTION_EXPIRED')
        const missing = (details.prompt.details.missingOIDCScope as string[] | undefined) ?? []
        if ((client.metadata() as { first_party?: boolean }).first_party === true) {
          return finish(req, reply, provider, { consent: { grantId: await grantFor(provider, details, accountId, clientIdOf(details)) } }, appName)
        }
        return sendPage(reply, ConsentPage({
          ctx: pageContext(req), action: `${prefix}/oidc/interaction/${details.uid}/consent`, csrfToken: issueCsrfToken(req, reply), appName,
          scopes: missing.filter((s) => s !== 'openid' && s !== 'offline_access'),
        }))
      }
      return finish(req, reply, provider, { error: 'interaction_required' }, appName)
    })

    app.post(`${base}/consent`, {
      schema: { hide: true, params: UidParams, body: Type.Object({ decision: Type.Union([Type.Literal('allow'), Type.Literal('deny')]), _csrf: Type.Optional(Type.String({ maxLength: 200 })) }) },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
    }, async (req, reply) => {
      const { provider, details, client } = await detailsOf(req, reply)
      const appName = client.clientName ?? client.clientId
      const accountId = details.session?.accountId
      if (details.prompt.name !== 'consent' || !accountId) throw new AppError('SSO_INTERACTION_EXPIRED')
      if (req.body.decision === 'deny') return finish(req, reply, provider, { error: 'access_denied', error_description: 'the user refused' }, appName)
      return finish(req, reply, provider, { consent: { grantId: await grantFor(provider, details, accountId, clientIdOf(details)) } }, appName)
    })
  }
}

/** The platform console's page for connected apps. */
export async function ssoAdminRoutes(root: FastifyInstance, opts: { sso: SsoService }): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { sso } = opts
  const Locale = Type.String({ minLength: 1, maxLength: 20 })
  const render = async (req: FastifyRequest, reply: FastifyReply, status = 200, created?: { clientId: string; secret: string | null }, error?: string) => {
    const clients = await sso.listClients(req.actor)
    return sendPage(reply, ClientsPage({ ctx: pageContext(req, samePathAlternates(req, locales)), clients, csrfToken: issueCsrfToken(req, reply), created, error }), status)
  }
  const guard = (req: FastifyRequest<{ Params: { locale: string } }>, reply: FastifyReply) => {
    if (!isLocale(req.params.locale)) throw new AppError('LOCALE_NOT_FOUND')
    if (req.actor.kind !== 'user') return reply.redirect(`/${req.params.locale}/login?next=/${req.params.locale}/admin/platform/clients`, 303)
    return undefined
  }
  const form = {
    preValidation: (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => { app.csrfProtection(req, reply, done) },
    config: { formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => error.status === 403 || error.status === 401 ? null : render(req, reply, error.status, undefined, t(req.locale, `errors.${error.code}`, error.params)) },
  }
  const lines = (text: string | undefined) => (text ?? '').split(/\s+/).map((l) => l.trim()).filter(Boolean)

  app.get('/:locale/admin/platform/clients', { schema: { hide: true, params: Type.Object({ locale: Locale }) } }, async (req, reply) => {
    const redirected = guard(req, reply)
    if (redirected) return redirected
    void reply.header('cache-control', 'no-store')
    return render(req, reply)
  })

  app.post('/:locale/admin/platform/clients', {
    schema: {
      hide: true, params: Type.Object({ locale: Locale }),
      body: Type.Object({
        name: Type.String({ minLength: 1, maxLength: 100 }), realm: Type.String({ maxLength: 20 }),
        kind: Type.Union([Type.Literal('web'), Type.Literal('public'), Type.Literal('machine')]),
        redirectUris: Type.Optional(Type.String({ maxLength: 5000 })), postLogoutRedirectUris: Type.Optional(Type.String({ maxLength: 5000 })),
        thirdParty: Type.Optional(Type.Literal('true')), _csrf: Type.Optional(Type.String({ maxLength: 200 })),
      }),
    },
    ...form,
  }, async (req, reply) => {
    const redirected = guard(req, reply)
    if (redirected) return redirected
    const b = req.body
    const { client, secret } = await sso.addClient(req.actor, {
      realm: b.realm, name: b.name, kind: b.kind, firstParty: b.thirdParty !== 'true', redirectUris: lines(b.redirectUris), postLogoutRedirectUris: lines(b.postLogoutRedirectUris),
    }, { requestId: req.id, ip: req.ip })
    void reply.header('cache-control', 'no-store')
    return render(req, reply, 201, { clientId: client.clientId, secret })
  })

  app.post('/:locale/admin/platform/clients/:clientId/remove', {
    schema: { hide: true, params: Type.Object({ locale: Locale, clientId: Type.String({ minLength: 1, maxLength: 100 }) }), body: Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 200 })) }) },
    ...form,
  }, async (req, reply) => {
    const redirected = guard(req, reply)
    if (redirected) return redirected
    await sso.removeClient(req.actor, req.params.clientId, { requestId: req.id, ip: req.ip })
    return reply.redirect(`/${req.params.locale}/admin/platform/clients`, 303)
  })
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>

function clientIdOf(details: Details): string {
  return typeof details.params.client_id === 'string' ? details.params.client_id : ''
}

/** The grant for what the app asked: the existing one extended, or a new one. */
async function grantFor(provider: Provider, details: Details, accountId: string, clientId: string): Promise<string> {
  const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId })
  const promptDetails = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> }
  if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '))
  if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims)
  for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '))
  return grant.save()
}

export { isSsoRealm }
