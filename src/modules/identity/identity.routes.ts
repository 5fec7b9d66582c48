import rateLimit from '@fastify/rate-limit'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import { AppError } from '../../shared/errors.js'
import { isLocale, locales, t } from '../../shared/i18n/index.js'
import { pageContext, samePathAlternates, sendPage } from '../../shared/http/render.js'
import { issueCsrfToken } from '../../shared/http/security.js'
import { actorOf, hashToken, SESSION_ABSOLUTE_MS, type AuthService, type RequestContext } from './auth.service.js'
import { marketOfLocale, type OrganizationsService } from '../organizations/index.js'
import type { AccountService } from './account.service.js'
import type { RegistrationService } from './registration.service.js'
import { CheckEmailPage, RegisterPage, VerifiedPage, type RegisterValues } from './registration.pages.js'
import { AccountPage } from './account.pages.js'
import { BlockedPage, ForgotPage, LoginPage, MessagePage, ResetPage, SignOutPage, realmPrefix, type Realm } from './identity.pages.js'

const Locale = Type.String({ minLength: 1, maxLength: 20 })
const Csrf = Type.Optional(Type.String({ maxLength: 200 }))
const LoginBody = Type.Object({
  identifier: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: 128 }),
  next: Type.Optional(Type.String({ maxLength: 500 })),
  _csrf: Csrf,
})
const ForgotBody = Type.Object({ identifier: Type.String({ minLength: 1, maxLength: 256 }), _csrf: Csrf })
const ResetBody = Type.Object({
  password: Type.String({ minLength: 1, maxLength: 128 }),
  confirm: Type.String({ minLength: 1, maxLength: 128 }),
  _csrf: Csrf,
})
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max })
const Optional = (max: number) => Type.Optional(Type.String({ maxLength: max }))
const RegisterBody = Type.Object({
  userId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$' }),
  firstName: Text(100),
  lastName: Text(100),
  email: Type.String({ format: 'email', maxLength: 256 }),
  password: Text(128),
  confirm: Text(128),
  companyKind: Type.Union([Type.Literal('existing'), Type.Literal('new')]),
  companyNumber: Optional(40),
  companyName: Optional(200),
  street: Optional(200),
  postalCode: Optional(20),
  city: Optional(100),
  market: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })),
  _csrf: Csrf,
})
const TokenParams = Type.Object({ locale: Locale, token: Type.String({ minLength: 1, maxLength: 200 }) })


export function sessionCookieName(https: boolean): string {
  return https ? '__Host-sp_session' : 'sp_session'
}

function requestContext(req: FastifyRequest): RequestContext {
  return { ip: req.ip, userAgent: req.headers['user-agent'], requestId: req.id, publicUrl: req.server.site.publicUrl }
}

function assertLocale(locale: string): void {
  if (!isLocale(locale)) throw new AppError('LOCALE_NOT_FOUND')
}

/** Only paths of this site: "/x", never "//host" or "https://…". */
function safeNext(next: string | undefined, locale: string): string {
  return next && /^\/(?!\/)[\w\-./?=&%]*$/.test(next) ? next : `/${locale}/help`
}

/** Reads the session cookie on every request and makes its user the request's actor. */
export function registerSessions(app: FastifyInstance, auth: AuthService): void {
  // Callback style: most requests carry no session, and those should not pay for a promise.
  app.addHook('onRequest', (req, _reply, done) => {
    const token = req.cookies[sessionCookieName(req.server.site.https)]
    if (!token) {
      done()
      return
    }
    auth.resolveSession(token).then((user) => {
      if (user) req.actor = actorOf(user, hashToken(token))
      done()
    }, (error: unknown) => { done(error instanceof Error ? error : new Error(String(error))) })
  })
}

export async function identityRoutes(root: FastifyInstance, opts: {
  auth: AuthService; account: AccountService; registration: RegistrationService; organizations: OrganizationsService; rateLimitPerMinute: number
}): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { auth, account, registration, organizations } = opts
  /** Per client address on every sign-in, reset and sign-out form: enough for people, not for scripts. */
  const authRateLimit = { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: 60_000 } }
  await app.register(rateLimit, { global: false, errorResponseBuilder: () => new AppError('RATE_LIMITED') })
  const hide = { hide: true }

  const realms: Realm[] = ['partner', 'shop']
  for (const realm of realms) {
    const base = realm === 'shop' ? '/:locale/shop' : '/:locale'

    const renderLogin = (req: FastifyRequest, reply: FastifyReply, status: number, error?: string, identifier?: string, next?: string) =>
      sendPage(reply, LoginPage({ ctx: pageContext(req, samePathAlternates(req, locales)), realm, csrfToken: issueCsrfToken(req, reply), error, identifier, next }), status)

    app.get(`${base}/login`, { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 500 })) }) } }, async (req, reply) => {
      assertLocale(req.params.locale)
      if (req.actor.kind === 'user' && req.actor.realm === realm) return reply.redirect(safeNext(req.query.next, req.params.locale), 303)
      return renderLogin(req, reply, 200, undefined, undefined, req.query.next)
    })

    app.post(`${base}/login`, {
      schema: { ...hide, params: Type.Object({ locale: Locale }), body: LoginBody },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
      config: {
        ...authRateLimit,
        formError: (req, reply, error) => {
          if (error.code === 'ACCOUNT_BLOCKED') return sendPage(reply, BlockedPage({ ctx: pageContext(req) }), error.status)
          const body = req.body as { identifier?: unknown; next?: unknown } | undefined
          const identifier = typeof body?.identifier === 'string' ? body.identifier.slice(0, 256) : ''
          const next = typeof body?.next === 'string' ? body.next.slice(0, 500) : undefined
          return renderLogin(req, reply, error.status, t(req.locale, `errors.${error.code}`, error.params), identifier, next)
        },
      },
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      const { token } = await auth.signIn(req.actor, { realm, identifier: req.body.identifier, password: req.body.password, locale: req.params.locale }, requestContext(req))
      void reply.setCookie(sessionCookieName(req.server.site.https), token, {
        path: '/', httpOnly: true, sameSite: 'lax', secure: req.server.site.https, maxAge: SESSION_ABSOLUTE_MS / 1000,
      })
      return reply.redirect(safeNext(req.body.next, req.params.locale), 303)
    })

    // ---- Self-registration and email verification ----

    const renderRegister = async (req: FastifyRequest, reply: FastifyReply, status: number, values: RegisterValues, error?: string) => {
      const markets = (await organizations.listMarkets(req.actor)).map((m) => ({ code: m.code, name: m.names[req.locale] ?? m.code }))
      return sendPage(reply, RegisterPage({ ctx: pageContext(req, samePathAlternates(req, locales)), realm, csrfToken: issueCsrfToken(req, reply), markets, values, error }), status)
    }
    const renderCheckEmail = (req: FastifyRequest, reply: FastifyReply, status: number, userId?: string, error?: string) =>
      sendPage(reply, CheckEmailPage({ ctx: pageContext(req), realm, csrfToken: issueCsrfToken(req, reply), ...(userId ? { userId } : {}), error }), status)

    app.get(`${base}/register`, { schema: { ...hide, params: Type.Object({ locale: Locale }) } }, async (req, reply) => {
      assertLocale(req.params.locale)
      return renderRegister(req, reply, 200, { market: marketOfLocale[req.params.locale] ?? 'IT' })
    })

    app.post(`${base}/register`, {
      schema: { ...hide, params: Type.Object({ locale: Locale }), body: RegisterBody },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
      config: {
        ...authRateLimit,
        formError: (req, reply, error) => {
          const body = (req.body ?? {}) as Record<string, unknown>
          const values = Object.fromEntries(Object.entries(body).filter(([k, v]) => typeof v === 'string' && !['password', 'confirm', '_csrf'].includes(k)).map(([k, v]) => [k, String(v).slice(0, 256)]))
          return renderRegister(req, reply, error.status, values, t(req.locale, `errors.${error.code}`, error.params))
        },
      },
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      const b = req.body
      const company = b.companyKind === 'new'
        ? { kind: 'new' as const, name: b.companyName ?? '', street: b.street ?? '', postalCode: b.postalCode ?? '', city: b.city ?? '', marketCode: b.market ?? '' }
        : { kind: 'existing' as const, companyNumber: b.companyNumber ?? '' }
      if (company.kind === 'new' && (!company.name.trim() || !company.city.trim() || !company.marketCode)) throw new AppError('INVALID_INPUT', { field: t(req.locale, 'register.companyName'), reason: t(req.locale, 'validation.required') })
      if (company.kind === 'existing' && !company.companyNumber.trim()) throw new AppError('INVALID_INPUT', { field: t(req.locale, 'register.companyNumber'), reason: t(req.locale, 'validation.required') })
      await registration.register(req.actor, {
        realm, userId: b.userId, firstName: b.firstName, lastName: b.lastName, email: b.email, password: b.password, confirm: b.confirm, locale: req.params.locale, company,
      }, requestContext(req))
      return renderCheckEmail(req, reply, 200, b.userId)
    })

    app.post(`${base}/verify`, {
      schema: { ...hide, params: Type.Object({ locale: Locale }), body: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 256 }), code: Type.String({ pattern: '^\\s*\\d{6}\\s*$' }), _csrf: Csrf }) },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
      config: { ...authRateLimit, formError: (req, reply, error) => renderCheckEmail(req, reply, error.status, undefined, t(req.locale, `errors.${error.code}`, error.params)) },
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      const { approver } = await registration.verifyCode(req.actor, { realm, userId: req.body.userId, code: req.body.code.trim() }, requestContext(req))
      return sendPage(reply, VerifiedPage({ ctx: pageContext(req), approver, realm }))
    })

    app.post(`${base}/verify/resend`, {
      schema: { ...hide, params: Type.Object({ locale: Locale }), body: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 256 }), _csrf: Csrf }) },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
      config: { ...authRateLimit, formError: (req, reply, error) => renderCheckEmail(req, reply, error.status, undefined, t(req.locale, `errors.${error.code}`, error.params)) },
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      await registration.resendVerification(req.actor, { realm, userId: req.body.userId }, requestContext(req))
      return renderCheckEmail(req, reply, 200, req.body.userId)
    })

    const renderForgot = (req: FastifyRequest, reply: FastifyReply, sent: boolean, status = 200, error?: string) =>
      sendPage(reply, ForgotPage({ ctx: pageContext(req, samePathAlternates(req, locales)), realm, csrfToken: issueCsrfToken(req, reply), sent, error }), status)

    app.get(`${base}/password/forgot`, { schema: { ...hide, params: Type.Object({ locale: Locale }) } }, async (req, reply) => {
      assertLocale(req.params.locale)
      return renderForgot(req, reply, false)
    })

    app.post(`${base}/password/forgot`, {
      schema: { ...hide, params: Type.Object({ locale: Locale }), body: ForgotBody },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
      config: { ...authRateLimit, formError: (req, reply, error) => renderForgot(req, reply, false, error.status, t(req.locale, `errors.${error.code}`, error.params)) },
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      const { settled } = auth.requestPasswordReset(req.actor, { realm, identifier: req.body.identifier, locale: req.params.locale }, requestContext(req))
      // Not awaited: the answer must take the same time whether or not an account matched.
      settled.catch((error: unknown) => { req.log.error({ err: error }, 'password reset request failed') })
      return renderForgot(req, reply, true)
    })
  }

  const renderReset = (req: FastifyRequest<{ Params: { locale: string; token: string } }>, reply: FastifyReply, status = 200, error?: string) =>
    sendPage(reply, ResetPage({ ctx: pageContext(req), token: req.params.token, csrfToken: issueCsrfToken(req, reply), error }), status)

  app.get('/:locale/password/reset/:token', { schema: { ...hide, params: TokenParams } }, async (req, reply) => {
    assertLocale(req.params.locale)
    await auth.checkResetToken(req.params.token)
    void reply.header('referrer-policy', 'no-referrer')
    return renderReset(req, reply)
  })

  app.post('/:locale/password/reset/:token', {
    schema: { ...hide, params: TokenParams, body: ResetBody },
    preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
    config: {
      ...authRateLimit,
      formError: (req, reply, error) => error.code === 'TOKEN_INVALID'
        ? sendPage(reply, MessagePage({ ctx: pageContext(req), title: t(req.locale, 'auth.reset.title'), message: t(req.locale, 'errors.TOKEN_INVALID'), link: { href: `/${req.locale}/password/forgot`, label: t(req.locale, 'auth.reset.again') } }), error.status)
        : renderReset(req as FastifyRequest<{ Params: { locale: string; token: string } }>, reply, error.status, t(req.locale, `errors.${error.code}`, error.params)),
    },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    const user = await auth.resetPassword(req.actor, { token: req.params.token, password: req.body.password, confirm: req.body.confirm }, requestContext(req))
    const prefix = realmPrefix(req.params.locale, user.realm === 'shop' ? 'shop' : 'partner')
    return sendPage(reply, MessagePage({
      ctx: pageContext(req), title: t(req.locale, 'auth.reset.doneTitle'), message: t(req.locale, 'auth.reset.done'),
      link: { href: `${prefix}/login`, label: t(req.locale, 'auth.login.submit') },
    }))
  })

  app.get('/:locale/verify/:token', { schema: { ...hide, params: TokenParams } }, async (req, reply) => {
    assertLocale(req.params.locale)
    const { user, approver } = await registration.verifyLink(req.actor, req.params.token, requestContext(req))
    void reply.header('referrer-policy', 'no-referrer')
    return sendPage(reply, VerifiedPage({ ctx: pageContext(req), approver, realm: user.realm === 'shop' ? 'shop' : 'partner' }))
  })

  app.get('/:locale/logout', { schema: { ...hide, params: Type.Object({ locale: Locale }) } }, async (req, reply) => {
    assertLocale(req.params.locale)
    if (req.actor.kind !== 'user') return reply.redirect(`/${req.params.locale}/help`, 303)
    return sendPage(reply, SignOutPage({ ctx: pageContext(req, samePathAlternates(req, locales)), csrfToken: issueCsrfToken(req, reply) }))
  })

  app.post('/:locale/logout', {
    schema: { ...hide, params: Type.Object({ locale: Locale }), body: Type.Object({ _csrf: Csrf }) },
    preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
    config: authRateLimit,
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    const name = sessionCookieName(req.server.site.https)
    const token = req.cookies[name]
    if (token) await auth.signOut(req.actor, token, requestContext(req))
    void reply.clearCookie(name, { path: '/' })
    return reply.redirect(`/${req.params.locale}/help`, 303)
  })

  // ---- Identity and access management (self-service) ----

  const renderAccount = async (req: FastifyRequest, reply: FastifyReply, status = 200, notice?: string, error?: string) =>
    sendPage(reply, AccountPage({ ctx: pageContext(req, samePathAlternates(req, locales)), data: await account.overview(req.actor), csrfToken: issueCsrfToken(req, reply), notice, error }), status)
  const accountForm = {
    preValidation: (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => { app.csrfProtection(req, reply, done) },
    config: {
      ...authRateLimit,
      formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => error.code === 'NOT_SIGNED_IN'
        ? reply.redirect(`/${req.locale}/login?next=/${req.locale}/account`, 303)
        : renderAccount(req, reply, error.status, undefined, t(req.locale, `errors.${error.code}`, error.params)),
    },
  }
  const done = (req: FastifyRequest, reply: FastifyReply, what: string) => reply.redirect(`/${req.locale}/account?done=${what}`, 303)

  app.get('/:locale/account', { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Type.Object({ done: Type.Optional(Type.String({ maxLength: 40 })) }) } }, async (req, reply) => {
    assertLocale(req.params.locale)
    if (req.actor.kind !== 'user') return reply.redirect(`/${req.params.locale}/login?next=/${req.params.locale}/account`, 303)
    void reply.header('cache-control', 'no-store')
    const notice = req.query.done && ['password', 'session', 'sessions'].includes(req.query.done) ? t(req.locale, `account.done.${req.query.done}`) : undefined
    return renderAccount(req, reply, 200, notice)
  })

  app.post('/:locale/account/password', { schema: { ...hide, params: Type.Object({ locale: Locale }), body: Type.Object({ current: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 128 }), confirm: Type.String({ minLength: 1, maxLength: 128 }), _csrf: Csrf }) }, ...accountForm }, async (req, reply) => {
    await account.changePassword(req.actor, { current: req.body.current, password: req.body.password, confirm: req.body.confirm }, requestContext(req))
    return done(req, reply, 'password')
  })

  app.post('/:locale/account/sessions/revoke', { schema: { ...hide, params: Type.Object({ locale: Locale }), body: Type.Object({ session: Type.String({ pattern: '^[0-9a-f]{16}$' }), _csrf: Csrf }) }, ...accountForm }, async (req, reply) => {
    await account.revokeSession(req.actor, req.body.session, requestContext(req))
    return done(req, reply, 'session')
  })

  app.post('/:locale/account/sessions/revoke-others', { schema: { ...hide, params: Type.Object({ locale: Locale }), body: Type.Object({ _csrf: Csrf }) }, ...accountForm }, async (req, reply) => {
    await account.revokeOtherSessions(req.actor, requestContext(req))
    return done(req, reply, 'sessions')
  })
}
