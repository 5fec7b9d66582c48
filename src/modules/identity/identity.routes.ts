import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import { AppError } from '../../shared/errors.js'
import { locales, t } from '../../shared/i18n/index.js'
import { pageContext, samePathAlternates, sendPage } from '../../shared/http/render.js'
import { issueCsrfToken } from '../../shared/http/security.js'
import { actorOf, type AuthService } from './auth.service.js'
import { accountRoutes } from './account.routes.js'
import { factorsRoutes, PasskeyAnswer } from './factors.routes.js'
import type { FactorsService } from './factors.service.js'
import { SecondStepPage } from './factors.pages.js'
import { assertLocale, clearSecondStepCookie, Csrf, enrolPath, Locale, localeOfPath, needsVerifiedEmail, requestContext, safeNext, secondStepCookieName, sessionCookieName, setSecondStepCookie, setSessionCookie, TokenParams, verifyEmailPath } from './identity.http.js'
import { marketOfLocale, type OrganizationsService } from '../organizations/index.js'
import type { AccountService } from './account.service.js'
import type { RegistrationService } from './registration.service.js'
import { UserIdPattern } from './identity.schemas.js'
import { CheckEmailPage, RegisterPage, VerifiedPage, type RegisterValues } from './registration.pages.js'
import { BlockedPage, ForgotPage, InvitationPage, LoginPage, MessagePage, ResetPage, SignOutPage, realmPrefix, type Realm } from './identity.pages.js'
import { registerRateLimits } from '../../shared/http/rate-limit.js'

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
  userId: Type.String({ pattern: UserIdPattern }),
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


/** Reads the session cookie on every request and makes its user the request's actor. */
export function registerSessions(app: FastifyInstance, auth: AuthService): void {
  // Callback style: most requests carry no session, and those should not pay for a promise.
  app.addHook('onRequest', (req, reply, done) => {
    const token = req.cookies[sessionCookieName(req.server.site.https)]
    if (!token) {
      done()
      return
    }
    auth.resolveSession(token).then((session) => {
      if (session) req.actor = actorOf(session.user, session.roles, session.idHash)
      if (session && !session.user.emailVerifiedAt && needsVerifiedEmail(req.url)) {
        void reply.redirect(verifyEmailPath(req.url, localeOfPath(req.url, session.user.locale)), 303)
        return
      }
      // Past the grace, a session without the required second factor reaches only its enrolment.
      const enrol = session?.mustEnrol ? enrolPath(req.url, localeOfPath(req.url, session.user.locale)) : null
      if (enrol) {
        void reply.redirect(enrol, 303)
        return
      }
      done()
    }, (error: unknown) => { done(error instanceof Error ? error : new Error(String(error))) })
  })
}

export async function identityRoutes(root: FastifyInstance, opts: {
  auth: AuthService; account: AccountService; factors: FactorsService; registration: RegistrationService; organizations: OrganizationsService; rateLimitPerMinute: number
}): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { auth, account, registration, organizations } = opts
  /** Per client address on every sign-in, reset and sign-out form: enough for people, not for scripts. */
  const authRateLimit = { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: 60_000 } }
  await registerRateLimits(app)
  const hide = { hide: true }

  /** Where a person lands once signed in: the email step, the page asked for, their workspace or the help center. */
  const landingPath = async (user: Parameters<AuthService['landingAfterSignIn']>[0], locale: string, asked: string | undefined, roles?: Parameters<AuthService['landingAfterSignIn']>[2]) => {
    const next = safeNext(asked, locale)
    const landing = await auth.landingAfterSignIn(user, next === asked, roles)
    return { verify_email: verifyEmailPath(next, locale), next, workspace: `/${locale}/workspace`, help: next }[landing]
  }
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
          const body = req.body as { identifier?: unknown; next?: unknown } | undefined
          const identifier = typeof body?.identifier === 'string' ? body.identifier.slice(0, 256) : ''
          if (error.code === 'ACCOUNT_BLOCKED') return sendPage(reply, BlockedPage({ ctx: pageContext(req), identifier }), error.status)
          const next = typeof body?.next === 'string' ? body.next.slice(0, 500) : undefined
          return renderLogin(req, reply, error.status, t(req.locale, `errors.${error.code}`, error.params), identifier, next)
        },
      },
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      const result = await auth.signIn(req.actor, { realm, identifier: req.body.identifier, password: req.body.password, locale: req.params.locale }, requestContext(req))
      const next = safeNext(req.body.next, req.params.locale)
      // The second step's page is the answer (one request fewer than a redirect to it, as Keycloak
      // does); the browser shows the step's own address, which a reload or going back opens.
      if (result.step === 'second_factor') {
        setSecondStepCookie(req, reply, result.challenge)
        return renderSecondStep(req, reply, 200, { prompt: { passkeyOptions: result.passkeyOptions }, answersForm: true })
      }
      setSessionCookie(req, reply, result.token)
      const landing = await landingPath(result.user, req.params.locale, req.body.next, result.roles)
      // A person who needs a second factor and has none is shown the sign-ins left, on the page to
      // add one, and goes on from there (an address to confirm comes first).
      if (result.graceLeft !== undefined && landing !== verifyEmailPath(next, req.params.locale)) {
        return reply.redirect(`/${req.params.locale}/account/second-factor?next=${encodeURIComponent(landing)}`, 303)
      }
      return reply.redirect(landing, 303)
    })

    /** The second step's page (GET /login/code) in `locale`, keeping where the person was going. */
    const secondStepPath = (locale: string, next: string | undefined) => `${realmPrefix(locale, realm)}/login/code${next ? `?next=${encodeURIComponent(next)}` : ''}`
    /**
     * The second step's form. `challenge`: the step just started, whose cookie the browser gets with
     * this page; `prompt`: the step's passkey prompt, when the caller has it already; `answersForm`:
     * the page answers a form post (the password's, a wrong code's), and the browser is to show
     * the step's own address instead, whose language versions the page links to.
     */
    const renderSecondStep = async (req: FastifyRequest, reply: FastifyReply, status: number, options: {
      error?: string | undefined; challenge?: string | undefined; answersForm?: boolean
      prompt?: { passkeyOptions: Awaited<ReturnType<AuthService['secondStepPasskeyOptions']>> } | undefined
    } = {}) => {
      const asked = (req.body as { next?: unknown } | undefined)?.next ?? (req.query as { next?: unknown } | undefined)?.next
      const next = typeof asked === 'string' ? asked.slice(0, 500) : undefined
      const { prompt, challenge, answersForm = false } = options
      const step = challenge ?? req.cookies[secondStepCookieName(req.server.site.https)]
      const passkeyOptions = prompt ? prompt.passkeyOptions : step ? await auth.secondStepPasskeyOptions(step, requestContext(req)) : null
      void reply.header('cache-control', 'no-store')
      // Signed in already: a connected app asked for a second factor (a step-up).
      const stepUp = req.actor.kind === 'user' && req.actor.realm === realm
      const alternates = answersForm ? Object.fromEntries(locales.map((l) => [l, secondStepPath(l, next)])) : samePathAlternates(req, locales)
      return sendPage(reply, SecondStepPage({
        ctx: pageContext(req, alternates), realm, csrfToken: issueCsrfToken(req, reply), error: options.error, next, passkeyOptions, stepUp,
        address: answersForm ? secondStepPath(req.locale, next) : undefined,
      }), status)
    }

    // A connected app asks for a second factor and the session used only a password: the second
    // step of a sign-in, whose success replaces the session (see auth.startStepUp). Nothing to ask
    // (already done, or no factor to ask for): back to where the person was going, which decides.
    app.get(`${base}/login/step-up`, { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 500 })) }) } }, async (req, reply) => {
      assertLocale(req.params.locale)
      const next = safeNext(req.query.next, req.params.locale)
      if (req.actor.kind !== 'user' || req.actor.realm !== realm) {
        return reply.redirect(`${realmPrefix(req.params.locale, realm)}/login?next=${encodeURIComponent(next)}`, 303)
      }
      const step = await auth.startStepUp(req.actor)
      if (step.step !== 'challenge') return reply.redirect(next, 303)
      setSecondStepCookie(req, reply, step.challenge)
      return renderSecondStep(req, reply, 200, { challenge: step.challenge })
    })

    /** A failed second step, by code or by passkey: an expired step starts over at the password, a blocked account is told so. */
    const secondStepError = (req: FastifyRequest, reply: FastifyReply, error: AppError) => {
      const message = t(req.locale, `errors.${error.code}`, error.params)
      if (error.code === 'SECOND_STEP_EXPIRED') {
        clearSecondStepCookie(req, reply)
        return renderLogin(req, reply, error.status, message)
      }
      if (error.code === 'ACCOUNT_BLOCKED') return sendPage(reply, BlockedPage({ ctx: pageContext(req), identifier: '' }), error.status)
      return renderSecondStep(req, reply, error.status, { error: message, answersForm: true })
    }
    /** The second step passed: the step's cookie gives way to the session's, and the person goes where they were going. */
    const finishSecondStep = async (req: FastifyRequest<{ Params: { locale: string } }>, reply: FastifyReply, signedIn: { token: string; user: Parameters<typeof landingPath>[0]; roles?: Parameters<typeof landingPath>[3] }, next: string | undefined) => {
      clearSecondStepCookie(req, reply)
      setSessionCookie(req, reply, signedIn.token)
      return reply.redirect(await landingPath(signedIn.user, req.params.locale, next, signedIn.roles), 303)
    }

    app.get(`${base}/login/code`, { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 500 })) }) } }, async (req, reply) => {
      assertLocale(req.params.locale)
      const challenge = req.cookies[secondStepCookieName(req.server.site.https)]
      // Whether the step is pending and its passkey prompt, read once.
      const prompt = challenge ? await auth.secondStepPrompt(challenge, requestContext(req)) : undefined
      if (!prompt) return reply.redirect(`${realmPrefix(req.params.locale, realm)}/login`, 303)
      return renderSecondStep(req, reply, 200, { prompt })
    })

    app.post(`${base}/login/code`, {
      schema: { ...hide, params: Type.Object({ locale: Locale }), body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 40 }), next: Type.Optional(Type.String({ maxLength: 500 })), _csrf: Csrf }) },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
      config: { ...authRateLimit, formError: secondStepError },
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      const challenge = req.cookies[secondStepCookieName(req.server.site.https)] ?? ''
      const signedIn = await auth.completeSecondStep(req.actor, { challenge, code: req.body.code, locale: req.params.locale }, requestContext(req))
      return finishSecondStep(req, reply, signedIn, req.body.next)
    })

    // ---- Passkeys: the second step, and signing in without a password ----

    const PasskeyBody = Type.Object({ response: PasskeyAnswer, next: Type.Optional(Type.String({ maxLength: 500 })), _csrf: Csrf })
    const bodyNext = (req: FastifyRequest) => {
      const next = (req.body as { next?: unknown } | undefined)?.next
      return typeof next === 'string' ? next.slice(0, 500) : undefined
    }

    app.post(`${base}/login/code/passkey`, {
      schema: { ...hide, params: Type.Object({ locale: Locale }), body: PasskeyBody },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
      config: { ...authRateLimit, formError: secondStepError },
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      const step = req.cookies[secondStepCookieName(req.server.site.https)] ?? ''
      const signedIn = await auth.signInWithPasskey(req.actor, { realm, response: req.body.response, locale: req.params.locale, step }, requestContext(req))
      return finishSecondStep(req, reply, signedIn, req.body.next)
    })

    app.post(`${base}/login/passkey/options`, {
      schema: { ...hide, params: Type.Object({ locale: Locale }), body: Type.Object({ _csrf: Csrf }) },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
      config: authRateLimit,
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      void reply.header('cache-control', 'no-store')
      return reply.send(await auth.passkeySignInOptions(realm, requestContext(req)))
    })

    app.post(`${base}/login/passkey`, {
      schema: { ...hide, params: Type.Object({ locale: Locale }), body: PasskeyBody },
      preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
      config: {
        ...authRateLimit,
        formError: (req, reply, error) => {
          if (error.code === 'ACCOUNT_BLOCKED') return sendPage(reply, BlockedPage({ ctx: pageContext(req), identifier: '' }), error.status)
          return renderLogin(req, reply, error.status, t(req.locale, `errors.${error.code}`, error.params), undefined, bodyNext(req))
        },
      },
    }, async (req, reply) => {
      assertLocale(req.params.locale)
      const { token, user } = await auth.signInWithPasskey(req.actor, { realm, response: req.body.response, locale: req.params.locale }, requestContext(req))
      setSessionCookie(req, reply, token)
      return reply.redirect(await landingPath(user, req.params.locale, req.body.next), 303)
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

  await accountRoutes(app, { account, organizations, authRateLimit })
  await factorsRoutes(app, { factors: opts.factors, authRateLimit })

  // ---- Invitations ----

  const renderInvitation = async (req: FastifyRequest<{ Params: { locale: string; token: string } }>, reply: FastifyReply, status = 200, error?: string) => {
    const user = await auth.checkInvitation(req.params.token)
    return sendPage(reply, InvitationPage({ ctx: pageContext(req), token: req.params.token, csrfToken: issueCsrfToken(req, reply), user, error }), status)
  }
  const invalidLink = (req: FastifyRequest, reply: FastifyReply, status: number, title: string) =>
    sendPage(reply, MessagePage({ ctx: pageContext(req), title: t(req.locale, title), message: t(req.locale, 'errors.TOKEN_INVALID'), link: { href: `/${req.locale}/help`, label: t(req.locale, 'errors.backToHelp') } }), status)

  app.get('/:locale/invite/:token', { schema: { ...hide, params: TokenParams }, config: { formError: (req, reply, error) => invalidLink(req, reply, error.status, 'invite.title') } }, async (req, reply) => {
    assertLocale(req.params.locale)
    void reply.header('referrer-policy', 'no-referrer')
    return renderInvitation(req, reply)
  })

  app.post('/:locale/invite/:token', {
    schema: { ...hide, params: TokenParams, body: ResetBody },
    preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
    config: {
      ...authRateLimit,
      formError: async (req, reply, error) => {
        const token = (req.params as { token?: unknown }).token
        const stillValid = typeof token === 'string' && error.code !== 'TOKEN_INVALID' && await auth.checkInvitation(token).then(() => true, (e: unknown) => {
          if (e instanceof AppError) return false
          throw e
        })
        return stillValid
          ? renderInvitation(req as FastifyRequest<{ Params: { locale: string; token: string } }>, reply, error.status, t(req.locale, `errors.${error.code}`, error.params))
          : invalidLink(req, reply, 400, 'invite.title')
      },
    },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    const { token } = await auth.acceptInvitation(req.actor, { token: req.params.token, password: req.body.password, confirm: req.body.confirm }, requestContext(req))
    setSessionCookie(req, reply, token)
    return reply.redirect(`/${req.params.locale}/account/email`, 303)
  })
}
