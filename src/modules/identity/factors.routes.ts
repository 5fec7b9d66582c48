import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import type { AppError } from '../../shared/errors.js'
import { locales, t } from '../../shared/i18n/index.js'
import { pageContext, samePathAlternates, sendPage } from '../../shared/http/render.js'
import { issueCsrfToken } from '../../shared/http/security.js'
import type { FactorsService } from './factors.service.js'
import { EnrolTotpPage, FactorsPage, RecoveryCodesPage } from './factors.pages.js'
import { assertLocale, Csrf, Locale, LocaleParams, requestContext, safeNext } from './identity.http.js'
import { passkeyAssets } from './passkeys.js'
import { EnrolPasskeyPage } from './passkeys.pages.js'

const FactorParams = Type.Object({ locale: Locale, factorId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })
const notices = ['added', 'passkeyAdded', 'renamed', 'removed']
/** A browser's WebAuthn answer (JSON): a few hundred bytes, a few kilobytes with attestation. */
export const PasskeyAnswer = Type.String({ minLength: 2, maxLength: 16_000 })

/** The account's second factors: /{l}/account/second-factor. */
export async function factorsRoutes(root: FastifyInstance, opts: { factors: FactorsService; authRateLimit: { rateLimit: { max: number; timeWindow: number } } }): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { factors } = opts
  const hide = { hide: true }
  const base = (req: FastifyRequest) => `/${req.locale}/account/second-factor`
  const signIn = (req: FastifyRequest, reply: FastifyReply) => reply.redirect(`/${req.locale}/login?next=${base(req)}`, 303)
  const nextOf = (req: FastifyRequest): string | undefined => {
    const value = (req.query as { next?: unknown } | undefined)?.next
    return typeof value === 'string' ? safeNext(value, req.locale) : undefined
  }

  const renderFactors = async (req: FastifyRequest, reply: FastifyReply, status = 200, notice?: string, error?: string) => {
    void reply.header('cache-control', 'no-store')
    return sendPage(reply, FactorsPage({ ctx: pageContext(req, samePathAlternates(req, locales)), data: await factors.overview(req.actor), csrfToken: issueCsrfToken(req, reply), notice, error, next: nextOf(req) }), status)
  }
  const form = (onError?: (req: FastifyRequest, reply: FastifyReply, error: AppError, message: string) => Promise<FastifyReply>) => ({
    preValidation: (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => { app.csrfProtection(req, reply, done) },
    config: {
      ...opts.authRateLimit,
      formError: (req: FastifyRequest, reply: FastifyReply, error: AppError): Promise<FastifyReply> | FastifyReply => {
        if (error.code === 'NOT_SIGNED_IN') return signIn(req, reply)
        const message = t(req.locale, `errors.${error.code}`, error.params)
        return onError ? onError(req, reply, error, message) : renderFactors(req, reply, error.status, undefined, message)
      },
    },
  })
  const done = (req: FastifyRequest, reply: FastifyReply, what: string) => reply.redirect(`${base(req)}?done=${what}`, 303)

  app.get('/:locale/account/second-factor', {
    schema: { ...hide, params: LocaleParams, querystring: Type.Object({ done: Type.Optional(Type.String({ maxLength: 40 })), next: Type.Optional(Type.String({ maxLength: 500 })) }) },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    if (req.actor.kind !== 'user') return signIn(req, reply)
    const notice = req.query.done && notices.includes(req.query.done) ? t(req.locale, `factors.done.${req.query.done}`) : undefined
    return renderFactors(req, reply, 200, notice)
  })

  app.post('/:locale/account/second-factor/totp', { schema: { ...hide, params: LocaleParams, body: Type.Object({ _csrf: Csrf }) }, ...form() }, async (req, reply) => {
    assertLocale(req.params.locale)
    const enrolment = await factors.startTotp(req.actor)
    void reply.header('cache-control', 'no-store')
    return sendPage(reply, EnrolTotpPage({ ctx: pageContext(req), enrolment, csrfToken: issueCsrfToken(req, reply) }))
  })

  app.post('/:locale/account/second-factor/totp/:factorId', {
    schema: { ...hide, params: FactorParams, body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 60 }), code: Type.String({ minLength: 1, maxLength: 12 }), _csrf: Csrf }) },
    ...form(async (req, reply, error, message) => {
      const factorId = Number((req.params as { factorId?: unknown }).factorId)
      if (error.code === 'NOT_FOUND' || !Number.isInteger(factorId)) return renderFactors(req, reply, error.status, undefined, message)
      const enrolment = await factors.pendingTotp(req.actor, factorId).catch(() => null)
      if (!enrolment) return renderFactors(req, reply, error.status, undefined, message)
      void reply.header('cache-control', 'no-store')
      return sendPage(reply, EnrolTotpPage({ ctx: pageContext(req), enrolment, csrfToken: issueCsrfToken(req, reply), error: message }), error.status)
    }),
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    const { recoveryCodes } = await factors.confirmTotp(req.actor, { factorId: req.params.factorId, name: req.body.name, code: req.body.code }, requestContext(req))
    if (!recoveryCodes) return done(req, reply, 'added')
    void reply.header('cache-control', 'no-store')
    return sendPage(reply, RecoveryCodesPage({ ctx: pageContext(req), codes: recoveryCodes }))
  })

  // @simplewebauthn/browser's bundle, from node_modules, cached like the other assets (the URL carries its hash).
  app.get(passkeyAssets.bundle.path, { schema: hide }, async (_req, reply) => {
    void reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=31536000, immutable')
    return reply.send(passkeyAssets.bundle.content)
  })

  app.post('/:locale/account/second-factor/passkey', { schema: { ...hide, params: LocaleParams, body: Type.Object({ _csrf: Csrf }) }, ...form() }, async (req, reply) => {
    assertLocale(req.params.locale)
    const options = await factors.startPasskey(req.actor, requestContext(req))
    void reply.header('cache-control', 'no-store')
    return sendPage(reply, EnrolPasskeyPage({ ctx: pageContext(req), options, csrfToken: issueCsrfToken(req, reply) }))
  })

  app.post('/:locale/account/second-factor/passkey/finish', {
    schema: { ...hide, params: LocaleParams, body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 60 }), response: PasskeyAnswer, _csrf: Csrf }) }, ...form(),
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    const { recoveryCodes } = await factors.finishPasskey(req.actor, { name: req.body.name, response: req.body.response }, requestContext(req))
    if (!recoveryCodes) return done(req, reply, 'passkeyAdded')
    void reply.header('cache-control', 'no-store')
    return sendPage(reply, RecoveryCodesPage({ ctx: pageContext(req), codes: recoveryCodes }))
  })

  app.post('/:locale/account/second-factor/:factorId/name', {
    schema: { ...hide, params: FactorParams, body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 60 }), _csrf: Csrf }) }, ...form(),
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    await factors.renameFactor(req.actor, { factorId: req.params.factorId, name: req.body.name }, requestContext(req))
    return done(req, reply, 'renamed')
  })

  app.post('/:locale/account/second-factor/:factorId/remove', {
    schema: { ...hide, params: FactorParams, body: Type.Object({ password: Type.String({ minLength: 1, maxLength: 128 }), _csrf: Csrf }) }, ...form(),
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    await factors.removeFactor(req.actor, { factorId: req.params.factorId, password: req.body.password }, requestContext(req))
    return done(req, reply, 'removed')
  })

  app.post('/:locale/account/second-factor/recovery', {
    schema: { ...hide, params: LocaleParams, body: Type.Object({ password: Type.String({ minLength: 1, maxLength: 128 }), _csrf: Csrf }) }, ...form(),
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    const codes = await factors.renewRecoveryCodes(req.actor, { password: req.body.password }, requestContext(req))
    void reply.header('cache-control', 'no-store')
    return sendPage(reply, RecoveryCodesPage({ ctx: pageContext(req), codes }))
  })
}
