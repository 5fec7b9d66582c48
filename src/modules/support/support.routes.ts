import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { AppError } from '../../shared/errors.js'
import { isLocale, locales, t } from '../../shared/i18n/index.js'
import { pageContext, sendPage } from '../../shared/http/render.js'
import { issueCsrfToken } from '../../shared/http/security.js'
import { marketOfLocale, type OrganizationsService } from '../organizations/index.js'
import type { HelpCenterService } from '../helpcenter/index.js'
import type { SupportService, TicketInput } from './support.service.js'
import { TicketFormPage, TicketPage, TicketReceivedPage, type TicketFormValues } from './support.pages.js'

const Key = Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 80 })
const Locale = Type.String({ maxLength: 20 })
const Field = (max: number) => Type.Optional(Type.String({ maxLength: max }))
const Reference = Type.String({ pattern: '^SR-\\d{4}-\\d{6,12}$' })
const TicketBody = Type.Object({
  topic: Field(80), subject: Field(200), description: Field(10_000), urgency: Field(10),
  name: Field(200), email: Field(256), companyName: Field(200), companyAddress: Field(400), marketCode: Field(2),
  'identity.userId': Field(256), 'identity.firstName': Field(100), 'identity.lastName': Field(100), 'identity.email': Field(256),
  'identity.companyName': Field(200), 'identity.companyAddress': Field(400),
  article: Type.Optional(Key), branch: Type.Optional(Key), website: Field(200), _csrf: Field(200),
})
type TicketBody = Type.Static<typeof TicketBody>

function formValues(body: Partial<TicketBody>): TicketFormValues {
  return {
    topic: body.topic, subject: body.subject, description: body.description, urgency: body.urgency, name: body.name, email: body.email,
    companyName: body.companyName, companyAddress: body.companyAddress, marketCode: body.marketCode, article: body.article, branch: body.branch,
    identity: {
      userId: body['identity.userId'], firstName: body['identity.firstName'], lastName: body['identity.lastName'], email: body['identity.email'],
      companyName: body['identity.companyName'], companyAddress: body['identity.companyAddress'],
    },
  }
}

function ticketCookie(reference: string): string {
  return `sp_ticket_${reference.replace(/-/g, '_')}`
}

export interface SupportRoutesOptions {
  support: SupportService
  organizations: OrganizationsService
  help: HelpCenterService
  requesterProfile: (req: FastifyRequest) => Promise<{ userId: string; firstName: string; lastName: string; email: string | null; companyName: string; companyAddress: string } | null>
  /** Ticket posts per minute per client address. */
  rateLimitPerMinute: number
}

/** "Ask for help" (guests and signed-in users) and the requester's ticket page. */
export async function supportRoutes(root: FastifyInstance, opts: SupportRoutesOptions): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { support, organizations, help } = opts
  await app.register(rateLimit, { global: false, errorResponseBuilder: () => new AppError('RATE_LIMITED') })
  const hide = { hide: true }
  const assertLocale = (locale: string) => { if (!isLocale(locale)) throw new AppError('LOCALE_NOT_FOUND', { locale }) }

  const renderForm = async (req: FastifyRequest, reply: FastifyReply, status: number, values: TicketFormValues, error?: string) => {
    const [categories, markets, partner, profile] = await Promise.all([
      help.listCategories(req.actor, req.locale), organizations.listMarkets(req.actor), organizations.myPartner(req.actor), opts.requesterProfile(req),
    ])
    const now = new Date()
    const estimates = Object.fromEntries(await Promise.all(markets.map(async (m) => [m.code, await support.estimateFor(m, now)] as const)))
    const identity = values.identity && Object.values(values.identity).some(Boolean) ? values.identity : profile
      ? { userId: profile.userId, firstName: profile.firstName, lastName: profile.lastName, email: profile.email ?? '', companyName: profile.companyName, companyAddress: profile.companyAddress }
      : values.identity
    const query = new URLSearchParams(Object.entries({ topic: values.topic, article: values.article, branch: values.branch }).flatMap(([k, v]) => (v ? [[k, v]] : []))).toString()
    const alternates = Object.fromEntries(locales.map((l) => [l, `/${l}/support/new${query ? `?${query}` : ''}`]))
    return sendPage(reply, TicketFormPage({
      ctx: pageContext(req, alternates), csrfToken: issueCsrfToken(req, reply), topics: categories.map((c) => ({ key: c.key, title: c.title })), markets,
      values: { marketCode: marketOfLocale[req.locale], ...values, identity }, signedIn: req.actor.kind === 'user', partner, estimates, error,
    }), status)
  }

  app.get('/:locale/support/new', {
    schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Type.Object({ topic: Type.Optional(Key), article: Type.Optional(Key), branch: Type.Optional(Key) }) },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    return renderForm(req, reply, 200, { topic: req.query.topic, article: req.query.article, branch: req.query.branch })
  })

  app.post('/:locale/support/new', {
    schema: { ...hide, params: Type.Object({ locale: Locale }), body: TicketBody },
    preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
    config: {
      rateLimit: { max: opts.rateLimitPerMinute, timeWindow: 60_000 },
      formError: (req, reply, error) => renderForm(req, reply, error.status, formValues((req.body ?? {}) as Partial<TicketBody>), t(req.locale, `errors.${error.code}`, error.params)),
    },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    const b = req.body
    // A filled trap field is a robot: it gets the same kind of page as a person, and nothing is created.
    if (b.website) return sendPage(reply, TicketReceivedPage({ ctx: pageContext(req), reference: null, estimate: null, partner: null, market: null, email: b.email ?? '', urgent: false, followUrl: null }))
    const identityGiven = [b['identity.userId'], b['identity.firstName'], b['identity.lastName'], b['identity.email'], b['identity.companyName'], b['identity.companyAddress']].some((v) => v?.trim())
    const input: TicketInput = {
      topic: b.topic ?? '', subject: b.subject ?? '', description: b.description ?? '', urgency: b.urgency === 'urgent' ? 'urgent' : 'normal', locale: req.params.locale,
      ...(req.actor.kind === 'user' ? {} : { name: b.name ?? '', email: b.email ?? '', companyName: b.companyName ?? '', companyAddress: b.companyAddress ?? '', marketCode: b.marketCode ?? '' }),
      ...(identityGiven ? {
        identity: {
          userId: b['identity.userId'] ?? '', firstName: b['identity.firstName'] ?? '', lastName: b['identity.lastName'] ?? '', email: b['identity.email'] ?? '',
          companyName: b['identity.companyName'] ?? '', companyAddress: b['identity.companyAddress'] ?? '',
        },
      } : {}),
      ...(b.article ? { article: b.article } : {}), ...(b.branch ? { branch: b.branch } : {}),
    }
    const created = await support.createTicket(req.actor, input, { publicUrl: req.server.site.publicUrl, requestId: req.id, ip: req.ip })
    const follow = `/${req.params.locale}/support/tickets/${created.ticket.reference}/access/${created.accessSecret}`
    void reply.header('cache-control', 'no-store')
    return sendPage(reply, TicketReceivedPage({
      ctx: pageContext(req), reference: created.ticket.reference, estimate: created.estimate, partner: created.partner, market: created.market,
      email: created.ticket.requesterEmail, urgent: created.ticket.urgency === 'urgent', followUrl: follow,
    }), 201)
  })

  // The private link: its secret goes into a cookie for this ticket's pages, and out of the address bar.
  app.get('/:locale/support/tickets/:reference/access/:secret', {
    schema: { ...hide, params: Type.Object({ locale: Locale, reference: Reference, secret: Type.String({ maxLength: 100 }) }) },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    await support.ticketForRequester(req.actor, req.params.reference, req.params.secret)
    void reply.setCookie(ticketCookie(req.params.reference), req.params.secret, {
      path: `/${req.params.locale}/support/tickets/${req.params.reference}`, httpOnly: true, sameSite: 'lax', secure: req.server.site.https, maxAge: 90 * 24 * 3600,
    })
    void reply.header('referrer-policy', 'no-referrer')
    return reply.redirect(`/${req.params.locale}/support/tickets/${req.params.reference}`, 303)
  })

  const renderTicket = async (req: FastifyRequest<{ Params: { locale: string; reference: string } }>, reply: FastifyReply, status = 200, error?: string, notice?: string) => {
    const { ticket, messages } = await support.ticketForRequester(req.actor, req.params.reference, req.cookies[ticketCookie(req.params.reference)])
    void reply.header('cache-control', 'no-store')
    return sendPage(reply, TicketPage({ ctx: pageContext(req), ticket, messages, csrfToken: issueCsrfToken(req, reply), error, notice }), status)
  }

  app.get('/:locale/support/tickets/:reference', {
    schema: { ...hide, params: Type.Object({ locale: Locale, reference: Reference }), querystring: Type.Object({ sent: Type.Optional(Type.Literal('1')) }) },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    return renderTicket(req, reply, 200, undefined, req.query.sent ? t(req.locale, 'support.ticket.sent') : undefined)
  })

  app.post('/:locale/support/tickets/:reference/reply', {
    schema: { ...hide, params: Type.Object({ locale: Locale, reference: Reference }), body: Type.Object({ message: Type.String({ minLength: 1, maxLength: 10_000 }), _csrf: Field(200) }) },
    preValidation: (req, reply, done) => { app.csrfProtection(req, reply, done) },
    config: {
      rateLimit: { max: opts.rateLimitPerMinute, timeWindow: 60_000 },
      formError: (req, reply, error) => error.status === 404 ? null : renderTicket(req as FastifyRequest<{ Params: { locale: string; reference: string } }>, reply, error.status, t(req.locale, `errors.${error.code}`, error.params)),
    },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    await support.reply(req.actor, req.params.reference, req.cookies[ticketCookie(req.params.reference)], req.body.message)
    return reply.redirect(`/${req.params.locale}/support/tickets/${req.params.reference}?sent=1`, 303)
  })
}
