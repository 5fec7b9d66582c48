import multipart, { type MultipartFields, type MultipartFile, type MultipartValue } from '@fastify/multipart'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { AppError } from '../../shared/errors.js'
import { isLocale, locales, t } from '../../shared/i18n/index.js'
import { pageContext, sendPage } from '../../shared/http/render.js'
import { issueCsrfToken } from '../../shared/http/security.js'
import { bodyProblem } from '../../shared/http/guard.js'
import { marketOfLocale, type OrganizationsService } from '../organizations/index.js'
import type { HelpCenterService } from '../helpcenter/index.js'
import { IDENTITY_TOPICS, TicketInput as TicketSchema, type SupportService, type TicketInput } from './support.service.js'
import { MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, type UploadedFile } from './attachments.js'
import { MyRequestsPage, TicketFormPage, TicketPage, TicketReceivedPage, type TicketFormValues } from './support.pages.js'
import { sourceDir } from '../../paths.js'
import { registerRateLimits } from '../../shared/http/rate-limit.js'

const Key = Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 80 })
const Locale = Type.String({ maxLength: 20 })
const Field = (max: number) => Type.Optional(Type.String({ maxLength: max }))
const Reference = Type.String({ pattern: '^SR-\\d{4}-\\d{6,12}$' })
const TicketBody = Type.Object({
  topic: Field(80), subject: Field(200), description: Field(10_000), urgency: Field(10),
  name: Field(200), firstName: Field(100), lastName: Field(100), email: Field(256), companyName: Field(200), companyAddress: Field(400), marketCode: Field(2),
  'identity.userId': Field(256), 'identity.firstName': Field(100), 'identity.lastName': Field(100), 'identity.email': Field(256),
  'identity.companyName': Field(200), 'identity.companyAddress': Field(400),
  article: Type.Optional(Key), branch: Type.Optional(Key), website: Field(200), _csrf: Field(200), deflection: Field(40),
})
type TicketBody = Type.Static<typeof TicketBody>

function formValues(body: Partial<TicketBody>): TicketFormValues {
  return {
    topic: body.topic, subject: body.subject, description: body.description, urgency: body.urgency, name: body.name, firstName: body.firstName, lastName: body.lastName, email: body.email,
    companyName: body.companyName, companyAddress: body.companyAddress, marketCode: body.marketCode, article: body.article, branch: body.branch,
    identity: {
      userId: body['identity.userId'], firstName: body['identity.firstName'], lastName: body['identity.lastName'], email: body['identity.email'],
      companyName: body['identity.companyName'], companyAddress: body['identity.companyAddress'],
    },
  }
}

/** The deflection script, served from /assets with its content hash so it can be cached for a year. */
const deflectScript = readFileSync(path.join(sourceDir, 'public/support-deflect.js'))
export const deflectScriptUrl = `/assets/support-deflect.js?v=${createHash('sha256').update(deflectScript).digest('hex').slice(0, 12)}`

/** Files of a multipart ticket form, kept beside the request once the fields are turned into a plain body. */
const uploads = new WeakMap<FastifyRequest, UploadedFile[]>()

/**
 * The ticket form is multipart (attachments, no script needed): its fields become the same plain
 * body a urlencoded post has, so one schema and the CSRF check read both. Empty file inputs (nothing
 * chosen) are dropped; limits are enforced while reading, before anything is stored.
 */
export async function flattenMultipart(req: FastifyRequest): Promise<void> {
  if (!req.isMultipart()) return
  const fields = (req.body ?? {}) as MultipartFields
  // The multipart reader attaches its fields after the request guard's first look: field and file names too.
  const problem = bodyProblem(fields, req.locale)
  if (problem) throw problem
  const body: Record<string, string> = {}
  const files: UploadedFile[] = []
  for (const [name, value] of Object.entries(fields)) {
    for (const part of [value ?? []].flat() as (MultipartFile | MultipartValue)[]) {
      if (part.type === 'file') {
        const content = await part.toBuffer()
        if (part.filename || content.length > 0) files.push({ fileName: part.filename, content })
      } else if (name in body) {
        throw new AppError('INVALID_INPUT', { field: name, reason: t(req.locale, 'validation.repeated') })
      } else {
        body[name] = String(part.value)
      }
    }
  }
  uploads.set(req, files)
  req.body = body
}

/** The files a multipart form carried (none for a urlencoded one). */
export function uploadsOf(req: FastifyRequest): UploadedFile[] {
  return uploads.get(req) ?? []
}

/**
 * The multipart reader for forms with attachments. One more file than allowed is read, so that six
 * files get the clear "at most 5" answer rather than a cut-off stream.
 */
export const attachmentMultipart = { attachFieldsToBody: true, limits: { fileSize: MAX_ATTACHMENT_BYTES, files: MAX_ATTACHMENTS + 1, fields: 40, fieldSize: 64 * 1024, parts: 50 } } as const

/**
 * The form's fields as a person knows them: their label in the catalogue and the input to mark when
 * a value is refused (a guest types name, email and company once, so identity.* point at those).
 */
const formFields: Record<string, { label: string; input: string; guestInput?: string }> = {
  topic: { label: 'support.new.topic', input: 'topic' },
  subject: { label: 'support.new.subject', input: 'subject' },
  description: { label: 'support.new.description', input: 'description' },
  urgency: { label: 'support.new.urgency', input: 'urgency-normal' },
  name: { label: 'support.new.name', input: 'firstName' },
  firstName: { label: 'register.firstName', input: 'firstName' },
  lastName: { label: 'register.lastName', input: 'lastName' },
  email: { label: 'register.email', input: 'email' },
  companyName: { label: 'admin.check.fields.companyName', input: 'companyName' },
  companyAddress: { label: 'admin.check.fields.companyAddress', input: 'companyAddress' },
  marketCode: { label: 'partners.market', input: 'marketCode' },
  'identity.userId': { label: 'admin.check.fields.userId', input: 'identity-userId' },
  'identity.firstName': { label: 'admin.check.fields.firstName', input: 'identity-firstName', guestInput: 'firstName' },
  'identity.lastName': { label: 'admin.check.fields.lastName', input: 'identity-lastName', guestInput: 'lastName' },
  'identity.email': { label: 'admin.check.fields.email', input: 'identity-email', guestInput: 'email' },
  'identity.companyName': { label: 'admin.check.fields.companyName', input: 'identity-companyName', guestInput: 'companyName' },
  'identity.companyAddress': { label: 'admin.check.fields.companyAddress', input: 'identity-companyAddress', guestInput: 'companyAddress' },
}

/** A refused field in the user's language, and the input it is about: never an internal name or a bare "required". */
function fieldError(req: FastifyRequest, error: AppError): { message: string; invalid?: string } {
  const params = error.params as { field?: unknown; reason?: unknown }
  const field = error.code === 'INVALID_INPUT' && typeof params.field === 'string' ? formFields[params.field] : undefined
  if (!field || typeof params.field !== 'string') return { message: t(req.locale, `errors.${error.code}`, error.params) }
  const reason = typeof params.reason === 'string' ? params.reason : ''
  const schema = (TicketSchema.properties as Record<string, { minLength?: number; maxLength?: number } | undefined>)[params.field]
  const limit = reason === 'minLength' ? schema?.minLength : reason === 'maxLength' ? schema?.maxLength : undefined
  // The service names a broken rule by its keyword; schema validation has already translated its reason.
  const said = /^[a-zA-Z]+$/.test(reason) ? t(req.locale, `validation.${reason}`, { limit: limit ?? '' }) : reason
  const message = t(req.locale, 'errors.INVALID_INPUT', { field: t(req.locale, field.label), reason: said.startsWith('validation.') ? t(req.locale, 'validation.invalid') : said })
  return { message, invalid: req.actor.kind === 'user' ? field.input : field.guestInput ?? field.input }
}

function ticketCookie(reference: string): string {
  return `sp_ticket_${reference.replace(/-/g, '_')}`
}

export interface SupportRoutesOptions {
  support: SupportService
  organizations: OrganizationsService
  help: HelpCenterService
  requesterProfile: (req: FastifyRequest) => Promise<{ userId: string; firstName: string; lastName: string; email: string | null; companyName: string; companyAddress: string; marketId: number | null } | null>
  /** Ticket posts per minute per client address. */
  rateLimitPerMinute: number
}

/** "Ask for help" (guests and signed-in users) and the requester's ticket page. */
export async function supportRoutes(root: FastifyInstance, opts: SupportRoutesOptions): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { support, organizations, help } = opts
  await registerRateLimits(app)
  await app.register(multipart, attachmentMultipart)
  const hide = { hide: true }
  const assertLocale = (locale: string) => { if (!isLocale(locale)) throw new AppError('LOCALE_NOT_FOUND') }

  const renderForm = async (req: FastifyRequest, reply: FastifyReply, status: number, values: TicketFormValues, error?: string, invalid?: string) => {
    const [categories, markets, partner, profile] = await Promise.all([
      help.listCategories(req.actor, req.locale), organizations.listMarkets(req.actor), organizations.myPartner(req.actor), opts.requesterProfile(req),
    ])
    const now = new Date()
    // The user's own market first (their company's; a guest's, the one of the page's language), then the others.
    const own = profile?.marketId ?? markets.find((m) => m.code === (values.marketCode ?? marketOfLocale[req.locale]))?.id
    const ownFirst = [...markets].sort((a, b) => Number(b.id === own) - Number(a.id === own))
    const estimates = Object.fromEntries(await Promise.all(markets.map(async (m) => [m.code, await support.estimateFor(m, now)] as const)))
    const identity = values.identity && Object.values(values.identity).some(Boolean) ? values.identity : profile
      ? { userId: profile.userId, firstName: profile.firstName, lastName: profile.lastName, email: profile.email ?? '', companyName: profile.companyName, companyAddress: profile.companyAddress }
      : values.identity
    const query = new URLSearchParams(Object.entries({ topic: values.topic, article: values.article, branch: values.branch }).flatMap(([k, v]) => (v ? [[k, v]] : []))).toString()
    const alternates = Object.fromEntries(locales.map((l) => [l, `/${l}/support/new${query ? `?${query}` : ''}`]))
    return sendPage(reply, TicketFormPage({
      ctx: pageContext(req, alternates), csrfToken: issueCsrfToken(req, reply), topics: categories.map((c) => ({ key: c.key, title: c.title })), markets: ownFirst,
      values: { marketCode: marketOfLocale[req.locale], ...values, identity }, signedIn: req.actor.kind === 'user', needsMarket: profile !== null && profile.marketId === null,
      partner, estimates, error, invalid, script: deflectScriptUrl,
      account: profile?.email && profile.companyName && profile.companyAddress
        ? { userId: profile.userId, firstName: profile.firstName, lastName: profile.lastName, email: profile.email, companyName: profile.companyName, companyAddress: profile.companyAddress }
        : null,
    }), status)
  }

  app.get('/:locale/support/new', {
    schema: {
      ...hide, params: Type.Object({ locale: Locale }),
      querystring: Type.Object({ topic: Type.Optional(Key), article: Type.Optional(Key), branch: Type.Optional(Key), login: Type.Optional(Type.String({ maxLength: 256 })) }),
    },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    // What a refused sign-in typed (a user ID or an email address) is not asked again.
    const login = req.query.login?.trim()
    const carried = login && req.actor.kind !== 'user' ? (login.includes('@') ? { email: login } : { identity: { userId: login } }) : {}
    return renderForm(req, reply, 200, { topic: req.query.topic, article: req.query.article, branch: req.query.branch, ...carried })
  })

  app.post('/:locale/support/new', {
    schema: { ...hide, params: Type.Object({ locale: Locale }), body: TicketBody },
    preValidation: [flattenMultipart, (req, reply, done) => { app.csrfProtection(req, reply, done) }],
    config: {
      rateLimit: { max: opts.rateLimitPerMinute, timeWindow: 60_000 },
      formError: (req, reply, error) => {
        const { message, invalid } = fieldError(req, error)
        return renderForm(req, reply, error.status, formValues(req.body ?? {}), message, invalid)
      },
    },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    const b = req.body
    // A filled trap field is a robot: it gets the same kind of page as a person, and nothing is created.
    if (b.website) return sendPage(reply, TicketReceivedPage({ ctx: pageContext(req), reference: null, estimate: null, partner: null, market: null, email: b.email ?? '', urgent: false, followUrl: null }))
    const guest = req.actor.kind !== 'user'
    // A guest types name, email and company once: they are the requester's details and, for sign-in
    // and account topics (or with a user ID), the identity the market administrator checks.
    const given = (key: 'firstName' | 'lastName' | 'email' | 'companyName' | 'companyAddress') => b[`identity.${key}`] || (guest ? b[key] ?? '' : '')
    const identityGiven = Boolean(b['identity.userId']?.trim()) || (guest && IDENTITY_TOPICS.has(b.topic ?? '')) ||
      [b['identity.firstName'], b['identity.lastName'], b['identity.email'], b['identity.companyName'], b['identity.companyAddress']].some((v) => v?.trim())
    const guestName = b.name ?? `${b.firstName ?? ''} ${b.lastName ?? ''}`.trim()
    const input: TicketInput = {
      topic: b.topic ?? '', subject: b.subject ?? '', description: b.description ?? '', urgency: b.urgency === 'urgent' ? 'urgent' : 'normal', locale: req.params.locale,
      // A signed-in account's market is its company's; staff without a company pick one like guests.
      ...(guest ? { name: guestName, email: b.email ?? '', companyName: b.companyName ?? '', companyAddress: b.companyAddress ?? '', marketCode: b.marketCode ?? '' } : (b.marketCode ? { marketCode: b.marketCode } : {})),
      ...(identityGiven ? {
        identity: {
          userId: b['identity.userId'] ?? '', firstName: given('firstName'), lastName: given('lastName'), email: given('email'),
          companyName: given('companyName'), companyAddress: given('companyAddress'),
        },
      } : {}),
      ...(b.article ? { article: b.article } : {}), ...(b.branch ? { branch: b.branch } : {}), ...(b.deflection ? { deflection: b.deflection } : {}),
    }
    const created = await support.createTicket(req.actor, input, { publicUrl: req.server.site.publicUrl, requestId: req.id, ip: req.ip }, uploads.get(req) ?? [])
    const follow = `/${req.params.locale}/support/tickets/${created.ticket.reference}/access/${created.accessSecret}`
    void reply.header('cache-control', 'no-store')
    return sendPage(reply, TicketReceivedPage({
      ctx: pageContext(req), reference: created.ticket.reference, estimate: created.estimate, partner: created.partner, market: created.market,
      email: created.ticket.requesterEmail, urgent: created.ticket.urgency === 'urgent', followUrl: follow,
    }), 201)
  })

  app.get('/:locale/support/tickets', { schema: { ...hide, params: Type.Object({ locale: Locale }) } }, async (req, reply) => {
    assertLocale(req.params.locale)
    if (req.actor.kind !== 'user') return reply.redirect(`/${req.params.locale}/login?next=/${req.params.locale}/support/tickets`, 303)
    void reply.header('cache-control', 'no-store')
    const alternates = Object.fromEntries(locales.map((l) => [l, `/${l}/support/tickets`]))
    return sendPage(reply, MyRequestsPage({ ctx: pageContext(req, alternates), tickets: await support.myTickets(req.actor) }))
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
    const { ticket, messages, attachments } = await support.ticketForRequester(req.actor, req.params.reference, req.cookies[ticketCookie(req.params.reference)])
    void reply.header('cache-control', 'no-store')
    // A refused answer keeps its text (only the files must be chosen again).
    const draft = error ? (req.body as { message?: unknown } | undefined)?.message : undefined
    return sendPage(reply, TicketPage({ ctx: pageContext(req), ticket, messages, attachments, csrfToken: issueCsrfToken(req, reply), error, notice, draft: typeof draft === 'string' ? draft : undefined }), status)
  }

  app.get('/:locale/support/tickets/:reference', {
    schema: { ...hide, params: Type.Object({ locale: Locale, reference: Reference }), querystring: Type.Object({ sent: Type.Optional(Type.Literal('1')) }) },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    return renderTicket(req, reply, 200, undefined, req.query.sent ? t(req.locale, 'support.ticket.sent') : undefined)
  })

  app.post('/:locale/support/tickets/:reference/reply', {
    schema: { ...hide, params: Type.Object({ locale: Locale, reference: Reference }), body: Type.Object({ message: Type.String({ minLength: 1, maxLength: 10_000 }), _csrf: Field(200) }) },
    preValidation: [flattenMultipart, (req, reply, done) => { app.csrfProtection(req, reply, done) }],
    config: {
      rateLimit: { max: opts.rateLimitPerMinute, timeWindow: 60_000 },
      formError: (req, reply, error) => error.status === 404 ? null : renderTicket(req as FastifyRequest<{ Params: { locale: string; reference: string } }>, reply, error.status, t(req.locale, `errors.${error.code}`, error.params)),
    },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    await support.reply(req.actor, req.params.reference, req.cookies[ticketCookie(req.params.reference)], req.body.message, { requestId: req.id, ip: req.ip }, uploadsOf(req))
    return reply.redirect(`/${req.params.locale}/support/tickets/${req.params.reference}?sent=1`, 303)
  })

  app.get('/:locale/support/tickets/:reference/attachments/:id', {
    schema: { ...hide, params: Type.Object({ locale: Locale, reference: Reference, id: Type.String({ pattern: '^[1-9][0-9]{0,9}$' }) }) },
  }, async (req, reply) => {
    assertLocale(req.params.locale)
    const file = await support.attachmentForRequester(req.actor, req.params.reference, req.cookies[ticketCookie(req.params.reference)], Number(req.params.id))
    return sendAttachment(reply, file)
  })

  // The deflection script reports a suggested article opened from the form. JSON only: a cross-site
  // form cannot send it without the browser asking first, so it needs no form token.
  app.post('/api/v1/support/deflections', {
    schema: {
      tags: ['support'], summary: 'Record that a help article suggested on the ticket form was opened',
      body: Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{16,40}$' }), locale: Type.String({ maxLength: 20 }), article: Key }, { additionalProperties: false }),
    },
    config: { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: 60_000 } },
  }, async (req, reply) => {
    if (!req.headers['content-type']?.startsWith('application/json')) throw new AppError('UNSUPPORTED_MEDIA_TYPE')
    assertLocale(req.body.locale)
    await support.recordDeflection(req.actor, { id: req.body.id, locale: req.body.locale, article: req.body.article })
    return reply.status(204).send()
  })
}

/** Sends a stored attachment as a download of the type found in its content, never rendered in the portal's origin. */
export function sendAttachment(reply: FastifyReply, file: { fileName: string; contentType: string; content: Buffer }): FastifyReply {
  void reply.header('content-type', file.contentType)
  void reply.header('content-disposition', `attachment; filename="${file.fileName.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.fileName)}`)
  void reply.header('x-content-type-options', 'nosniff')
  void reply.header('cache-control', 'private, no-store')
  void reply.header('content-security-policy', "default-src 'none'; sandbox")
  return reply.send(file.content)
}
