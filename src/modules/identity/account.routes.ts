import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import { AppError } from '../../shared/errors.js'
import { isLocale, locales, t } from '../../shared/i18n/index.js'
import { pageContext, samePathAlternates, sendPage } from '../../shared/http/render.js'
import { issueCsrfToken } from '../../shared/http/security.js'
import type { AccountService } from './account.service.js'
import { AccountPage, EmailPage } from './account.pages.js'
import { assertLocale, Csrf, LocaleParams, requestContext } from './identity.http.js'
import { realmPrefix, type Realm } from './identity.pages.js'
import type { OrganizationsService } from '../organizations/index.js'

const Password = Type.String({ minLength: 1, maxLength: 128 })
const notices = ['password', 'session', 'sessions', 'email', 'profile']

/** The self-service "Identity and access management" pages under /{l}/account. */
export async function accountRoutes(root: FastifyInstance, opts: { account: AccountService; organizations: OrganizationsService; authRateLimit: { rateLimit: { max: number; timeWindow: number } } }): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { account } = opts
  const hide = { hide: true }
  const signIn = (req: FastifyRequest, reply: FastifyReply, path: string) => reply.redirect(`/${req.locale}/login?next=/${req.locale}/${path}`, 303)

  /** A connected app's sign-in that waits for the verification (only such paths are kept). */
  const nextOf = (req: FastifyRequest): string | undefined => {
    const value = (req.body as { next?: unknown } | undefined)?.next ?? (req.query as { next?: unknown } | undefined)?.next
    return typeof value === 'string' && /^\/(?:realms\/[\w-]+\/)?oidc\/interaction\/[\w-]+$/.test(value) ? value : undefined
  }
  const renderEmail = async (req: FastifyRequest, reply: FastifyReply, status = 200, error?: string) =>
    sendPage(reply, EmailPage({ ctx: pageContext(req, samePathAlternates(req, locales)), status: await account.emailStatus(req.actor), csrfToken: issueCsrfToken(req, reply), error, next: nextOf(req) }), status)

  // The partner account's page at /{l}/account, and the Parts Shop's own at /{l}/shop/account: the
  // shop keeps its own user ID, password, sessions and inactivity rule, so a shop session manages
  // only the shop account, and a partner session only the partner account.
  const realms: Realm[] = ['partner', 'shop']
  for (const realm of realms) {
    const base = realm === 'shop' ? '/:locale/shop' : '/:locale'
    const home = (locale: string) => `${realmPrefix(locale, realm)}/account`
    /** Not signed in to this realm: its own sign-in page, back here afterwards. */
    const signInHere = (req: FastifyRequest, reply: FastifyReply) =>
      reply.redirect(`${realmPrefix(req.locale, realm)}/login?next=${home(req.locale)}`, 303)
    const signedInHere = (req: FastifyRequest) => req.actor.kind === 'user' && req.actor.realm === realm

    const renderAccount = async (req: FastifyRequest, reply: FastifyReply, status = 200, notice?: string, error?: string) =>
      sendPage(reply, AccountPage({
        ctx: pageContext(req, samePathAlternates(req, locales)), data: await account.overview(req.actor),
        // Choosing the aftersales partner is a partner-realm duty; the shop account is asked nothing of it.
        reminders: realm === 'partner' ? await opts.organizations.partnerReminders(req.actor) : [],
        csrfToken: issueCsrfToken(req, reply), notice, error,
      }), status)

    /** Every form here: CSRF, the auth rate limit, the realm's own session, and errors shown on the page the form came from. */
    const form = {
      preValidation: (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
        if (!signedInHere(req)) {
          done(new AppError('NOT_SIGNED_IN'))
          return
        }
        app.csrfProtection(req, reply, done)
      },
      config: {
        ...opts.authRateLimit,
        formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => {
          if (error.code === 'NOT_SIGNED_IN') return signInHere(req, reply)
          return renderAccount(req, reply, error.status, undefined, t(req.locale, `errors.${error.code}`, error.params))
        },
      },
    }
    const done = (req: FastifyRequest, reply: FastifyReply, what: string) => reply.redirect(`${home(req.locale)}?done=${what}`, 303)

    app.get(`${base}/account`, { schema: { ...hide, params: LocaleParams, querystring: Type.Object({ done: Type.Optional(Type.String({ maxLength: 40 })) }) } }, async (req, reply) => {
      assertLocale(req.params.locale)
      if (req.actor.kind !== 'user') return signInHere(req, reply)
      // A Parts Shop session on the partner page (links in emails and help articles name
      // /{l}/account): its own account page. A partner session on the shop's page: the shop's sign-in.
      if (req.actor.realm !== realm) return req.actor.realm === 'shop' ? reply.redirect(`/${req.params.locale}/shop/account`, 303) : signInHere(req, reply)
      void reply.header('cache-control', 'no-store')
      const notice = req.query.done && notices.includes(req.query.done) ? t(req.locale, `account.done.${req.query.done}`) : undefined
      return renderAccount(req, reply, 200, notice)
    })

    app.post(`${base}/account/profile`, {
      schema: {
        ...hide, params: LocaleParams,
        body: Type.Object({ firstName: Type.String({ minLength: 1, maxLength: 100 }), lastName: Type.String({ minLength: 1, maxLength: 100 }), locale: Type.String({ minLength: 2, maxLength: 20 }), _csrf: Csrf }),
      },
      ...form,
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      if (!isLocale(req.body.locale)) throw new AppError('INVALID_INPUT', { field: t(req.locale, 'account.language'), reason: req.body.locale })
      await account.updateProfile(req.actor, { firstName: req.body.firstName.trim(), lastName: req.body.lastName.trim(), locale: req.body.locale }, requestContext(req))
      return reply.redirect(`${home(req.body.locale)}?done=profile`, 303)
    })

    app.post(`${base}/account/password`, { schema: { ...hide, params: LocaleParams, body: Type.Object({ current: Password, password: Password, confirm: Password, _csrf: Csrf }) }, ...form }, async (req, reply) => {
      await account.changePassword(req.actor, { current: req.body.current, password: req.body.password, confirm: req.body.confirm }, requestContext(req))
      return done(req, reply, 'password')
    })

    app.post(`${base}/account/sessions/revoke`, { schema: { ...hide, params: LocaleParams, body: Type.Object({ session: Type.String({ pattern: '^[0-9a-f]{16}$' }), _csrf: Csrf }) }, ...form }, async (req, reply) => {
      await account.revokeSession(req.actor, req.body.session, requestContext(req))
      return done(req, reply, 'session')
    })

    app.post(`${base}/account/sessions/revoke-others`, { schema: { ...hide, params: LocaleParams, body: Type.Object({ _csrf: Csrf }) }, ...form }, async (req, reply) => {
      await account.revokeOtherSessions(req.actor, requestContext(req))
      return done(req, reply, 'sessions')
    })
  }

  /** The email step's forms: CSRF, the auth rate limit, errors on the email page. */
  const emailForm = {
    preValidation: (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => { app.csrfProtection(req, reply, done) },
    config: {
      ...opts.authRateLimit,
      formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => {
        if (error.code === 'NOT_SIGNED_IN') return signIn(req, reply, 'account/email')
        return renderEmail(req, reply, error.status, t(req.locale, `errors.${error.code}`, error.params))
      },
    },
  }
  const done = (req: FastifyRequest, reply: FastifyReply, what: string) => {
    const shop = req.actor.kind === 'user' && req.actor.realm === 'shop'
    return reply.redirect(`${realmPrefix(req.locale, shop ? 'shop' : 'partner')}/account?done=${what}`, 303)
  }

  // ---- Email address: first verification and later changes ----

  app.get('/:locale/account/email', { schema: { ...hide, params: LocaleParams, querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 300 })) }) } }, async (req, reply) => {
    assertLocale(req.params.locale)
    if (req.actor.kind !== 'user') return signIn(req, reply, 'account/email')
    void reply.header('cache-control', 'no-store')
    return renderEmail(req, reply)
  })

  app.post('/:locale/account/email', {
    schema: { ...hide, params: LocaleParams, body: Type.Object({ email: Type.String({ format: 'email', maxLength: 256 }), password: Type.Optional(Type.String({ maxLength: 128 })), next: Type.Optional(Type.String({ maxLength: 300 })), _csrf: Csrf }) },
    ...emailForm,
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    await account.requestEmailChange(req.actor, { email: req.body.email.trim(), password: req.body.password }, requestContext(req))
    const next = nextOf(req)
    return reply.redirect(`/${req.params.locale}/account/email${next ? `?next=${encodeURIComponent(next)}` : ''}`, 303)
  })

  app.post('/:locale/account/email/code', {
    schema: { ...hide, params: LocaleParams, body: Type.Object({ code: Type.String({ pattern: '^\\s*\\d{6}\\s*$' }), next: Type.Optional(Type.String({ maxLength: 300 })), _csrf: Csrf }) },
    ...emailForm,
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    await account.verifyOwnCode(req.actor, req.body.code.trim(), requestContext(req))
    const next = nextOf(req)
    return next ? reply.redirect(next, 303) : done(req, reply, 'email')
  })
}
