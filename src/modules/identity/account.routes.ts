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
import type { OrganizationsService } from '../organizations/index.js'

const Password = Type.String({ minLength: 1, maxLength: 128 })
const notices = ['password', 'session', 'sessions', 'email', 'profile']

/** The self-service "Identity and access management" pages under /{l}/account. */
export async function accountRoutes(root: FastifyInstance, opts: { account: AccountService; organizations: OrganizationsService; authRateLimit: { rateLimit: { max: number; timeWindow: number } } }): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { account } = opts
  const hide = { hide: true }
  const signIn = (req: FastifyRequest, reply: FastifyReply, path: string) => reply.redirect(`/${req.locale}/login?next=/${req.locale}/${path}`, 303)

  const renderAccount = async (req: FastifyRequest, reply: FastifyReply, status = 200, notice?: string, error?: string) =>
    sendPage(reply, AccountPage({
      ctx: pageContext(req, samePathAlternates(req, locales)), data: await account.overview(req.actor), reminders: await opts.organizations.partnerReminders(req.actor),
      csrfToken: issueCsrfToken(req, reply), notice, error,
    }), status)
  /** A connected app's sign-in that waits for the verification (only such paths are kept). */
  const nextOf = (req: FastifyRequest): string | undefined => {
    const value = (req.body as { next?: unknown } | undefined)?.next ?? (req.query as { next?: unknown } | undefined)?.next
    return typeof value === 'string' && /^\/(?:realms\/[\w-]+\/)?oidc\/interaction\/[\w-]+$/.test(value) ? value : undefined
  }
  const renderEmail = async (req: FastifyRequest, reply: FastifyReply, status = 200, error?: string) =>
    sendPage(reply, EmailPage({ ctx: pageContext(req, samePathAlternates(req, locales)), status: await account.emailStatus(req.actor), csrfToken: issueCsrfToken(req, reply), error, next: nextOf(req) }), status)

  /** Every form here: CSRF, the auth rate limit, and errors shown on the page the form came from. */
  const form = (page: 'account' | 'email') => ({
    preValidation: (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => { app.csrfProtection(req, reply, done) },
    config: {
      ...opts.authRateLimit,
      formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => {
        if (error.code === 'NOT_SIGNED_IN') return signIn(req, reply, page === 'email' ? 'account/email' : 'account')
        const message = t(req.locale, `errors.${error.code}`, error.params)
        return page === 'email' ? renderEmail(req, reply, error.status, message) : renderAccount(req, reply, error.status, undefined, message)
      },
    },
  })
  const done = (req: FastifyRequest, reply: FastifyReply, what: string) => reply.redirect(`/${req.locale}/account?done=${what}`, 303)

  app.get('/:locale/account', { schema: { ...hide, params: LocaleParams, querystring: Type.Object({ done: Type.Optional(Type.String({ maxLength: 40 })) }) } }, async (req, reply) => {
    assertLocale(req.params.locale)
    if (req.actor.kind !== 'user') return signIn(req, reply, 'account')
    void reply.header('cache-control', 'no-store')
    const notice = req.query.done && notices.includes(req.query.done) ? t(req.locale, `account.done.${req.query.done}`) : undefined
    return renderAccount(req, reply, 200, notice)
  })

  app.post('/:locale/account/profile', {
    schema: {
      ...hide, params: LocaleParams,
      body: Type.Object({ firstName: Type.String({ minLength: 1, maxLength: 100 }), lastName: Type.String({ minLength: 1, maxLength: 100 }), locale: Type.String({ minLength: 2, maxLength: 20 }), _csrf: Csrf }),
    },
    ...form('account'),
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    if (!isLocale(req.body.locale)) throw new AppError('INVALID_INPUT', { field: t(req.locale, 'account.language'), reason: req.body.locale })
    await account.updateProfile(req.actor, { firstName: req.body.firstName.trim(), lastName: req.body.lastName.trim(), locale: req.body.locale }, requestContext(req))
    return reply.redirect(`/${req.body.locale}/account?done=profile`, 303)
  })

  app.post('/:locale/account/password', { schema: { ...hide, params: LocaleParams, body: Type.Object({ current: Password, password: Password, confirm: Password, _csrf: Csrf }) }, ...form('account') }, async (req, reply) => {
    await account.changePassword(req.actor, { current: req.body.current, password: req.body.password, confirm: req.body.confirm }, requestContext(req))
    return done(req, reply, 'password')
  })

  app.post('/:locale/account/sessions/revoke', { schema: { ...hide, params: LocaleParams, body: Type.Object({ session: Type.String({ pattern: '^[0-9a-f]{16}$' }), _csrf: Csrf }) }, ...form('account') }, async (req, reply) => {
    await account.revokeSession(req.actor, req.body.session, requestContext(req))
    return done(req, reply, 'session')
  })

  app.post('/:locale/account/sessions/revoke-others', { schema: { ...hide, params: LocaleParams, body: Type.Object({ _csrf: Csrf }) }, ...form('account') }, async (req, reply) => {
    await account.revokeOtherSessions(req.actor, requestContext(req))
    return done(req, reply, 'sessions')
  })

  // ---- Email address: first verification and later changes ----

  app.get('/:locale/account/email', { schema: { ...hide, params: LocaleParams, querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 300 })) }) } }, async (req, reply) => {
    assertLocale(req.params.locale)
    if (req.actor.kind !== 'user') return signIn(req, reply, 'account/email')
    void reply.header('cache-control', 'no-store')
    return renderEmail(req, reply)
  })

  app.post('/:locale/account/email', {
    schema: { ...hide, params: LocaleParams, body: Type.Object({ email: Type.String({ format: 'email', maxLength: 256 }), password: Type.Optional(Type.String({ maxLength: 128 })), next: Type.Optional(Type.String({ maxLength: 300 })), _csrf: Csrf }) },
    ...form('email'),
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    await account.requestEmailChange(req.actor, { email: req.body.email.trim(), password: req.body.password }, requestContext(req))
    const next = nextOf(req)
    return reply.redirect(`/${req.params.locale}/account/email${next ? `?next=${encodeURIComponent(next)}` : ''}`, 303)
  })

  app.post('/:locale/account/email/code', {
    schema: { ...hide, params: LocaleParams, body: Type.Object({ code: Type.String({ pattern: '^\\s*\\d{6}\\s*$' }), next: Type.Optional(Type.String({ maxLength: 300 })), _csrf: Csrf }) },
    ...form('email'),
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    await account.verifyOwnCode(req.actor, req.body.code.trim(), requestContext(req))
    const next = nextOf(req)
    return next ? reply.redirect(next, 303) : done(req, reply, 'email')
  })
}
