import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { isLocale, locales, t } from '../../shared/i18n/index.js'
import { pageContext, samePathAlternates, sendPage } from '../../shared/http/render.js'
import { issueCsrfToken } from '../../shared/http/security.js'
import type { HelpCenterService } from '../helpcenter/index.js'
import type { DeskService } from './agent.service.js'
import { AgentTicketPage, DeskReportPage, QueuePage, type QueueParams } from './agent.pages.js'
import { chartCsv } from '../../shared/charts/charts.js'
import { articleTitles, deskCharts } from './report-charts.js'
import multipart from '@fastify/multipart'
import { attachmentMultipart, flattenMultipart, sendAttachment, uploadsOf } from './support.routes.js'

const Locale = Type.String({ maxLength: 20 })
const Csrf = Type.Optional(Type.String({ maxLength: 200 }))
const Reference = Type.String({ pattern: '^SR-\\d{4}-\\d{6,12}$' })
const Key = Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 80 })
const State = Type.Union([Type.Literal('new'), Type.Literal('open'), Type.Literal('waiting_on_requester'), Type.Literal('solved'), Type.Literal('closed')])
const TicketParams = Type.Object({ locale: Locale, reference: Reference })
const QueueQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal(''), Type.Literal('active'), Type.Literal('all'), State])),
  topic: Type.Optional(Type.Union([Type.Literal(''), Key])),
  urgency: Type.Optional(Type.Union([Type.Literal(''), Type.Literal('normal'), Type.Literal('urgent')])),
  age: Type.Optional(Type.Union([Type.Literal(''), Type.Literal('4'), Type.Literal('24'), Type.Literal('72'), Type.Literal('168')])),
  breach: Type.Optional(Type.Literal('1')),
  mine: Type.Optional(Type.Literal('1')),
  page: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$' })),
})
const doneCodes = ['assigned', 'replied', 'noted', 'state', 'restored', 'reset', 'factors_reset', 'check_failed', 'no_account']

export interface AgentRoutesOptions {
  desk: DeskService
  help: HelpCenterService
}

/** The support agents' console under /{l}/agent: queues of the agent's markets, tickets, replies, notes, states. */
export async function agentRoutes(root: FastifyInstance, opts: AgentRoutesOptions): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { desk, help } = opts
  const hide = { hide: true }
  // Replies and notes may carry files: the same reader and limits as the ticket form.
  await app.register(multipart, attachmentMultipart)
  const ctxOf = (req: FastifyRequest) => ({ ip: req.ip, requestId: req.id, publicUrl: req.server.site.publicUrl })
  const csrf = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => { app.csrfProtection(req, reply, done) }

  // Guests sign in first and come back; signed-in people outside the desk get a 403 from the service.
  app.addHook('preHandler', async (req, reply) => {
    const locale = (req.params as { locale?: unknown }).locale
    if (typeof locale !== 'string' || !isLocale(locale)) throw new AppError('LOCALE_NOT_FOUND')
    if (req.actor.kind !== 'user') {
      const path = req.url.split('?')[0] ?? ''
      return reply.redirect(`/${req.locale}/login?next=${encodeURIComponent(req.method === 'GET' ? path : `/${req.locale}/agent/tickets`)}`, 303)
    }
    void reply.header('cache-control', 'no-store')
    return undefined
  })

  const topicsOf = async (req: FastifyRequest) => (await help.listCategories(req.actor, req.locale)).map((c) => ({ key: c.key, title: c.title }))

  app.get('/:locale/agent', { schema: { ...hide, params: Type.Object({ locale: Locale }) } }, async (req, reply) => reply.redirect(`/${req.params.locale}/agent/tickets`, 303))

  app.get('/:locale/agent/tickets', { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: QueueQuery } }, async (req, reply) => {
    const q = req.query
    const state = !q.state || q.state === 'active' ? 'active' : q.state === 'all' ? undefined : q.state
    const [queue, topics] = await Promise.all([
      desk.queue(req.actor, {
        state, topic: q.topic || undefined, urgency: q.urgency || undefined, ageHours: q.age ? Number(q.age) : undefined,
        breached: q.breach === '1', mine: q.mine === '1', page: q.page ? Number(q.page) : 1,
      }),
      topicsOf(req),
    ])
    const params: QueueParams = { state: q.state, topic: q.topic, urgency: q.urgency, age: q.age, breach: q.breach, mine: q.mine }
    return sendPage(reply, QueuePage({ ctx: pageContext(req, samePathAlternates(req, locales)), queue, topics, params, now: clock.now() }))
  })

  const renderTicket = async (req: FastifyRequest, reply: FastifyReply, status = 200, error?: string) => {
    const { reference } = req.params as { reference: string }
    const [view, topics] = await Promise.all([desk.ticket(req.actor, reference), topicsOf(req)])
    const done = (req.query as { done?: unknown } | undefined)?.done
    const notice = typeof done === 'string' && doneCodes.includes(done) ? t(req.locale, `agent.done.${done}`) : undefined
    // A refused reply or note keeps its text in its own box (only the files must be chosen again).
    const text = error ? (req.body as { message?: unknown } | undefined)?.message : undefined
    const form = req.url.split('?')[0]?.endsWith('/note') ? 'note' : 'reply'
    return sendPage(reply, AgentTicketPage({
      ctx: pageContext(req, samePathAlternates(req, locales)), view, topicTitle: topics.find((c) => c.key === view.ticket.topic)?.title ?? view.ticket.topic,
      csrfToken: issueCsrfToken(req, reply), now: clock.now(), notice, error, draft: typeof text === 'string' ? { form, text } : undefined,
    }), status)
  }
  // A refused action shows the ticket again with the reason; out of scope and unknown tickets keep their own error page.
  const ticketForm = {
    preValidation: csrf,
    config: {
      formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => error.status === 403 || error.status === 404
        ? null : renderTicket(req, reply, error.status, t(req.locale, `errors.${error.code}`, error.params)),
    },
  }
  // Forms with files: their fields become the plain body first, so the schema and the CSRF check read them.
  const ticketFormWithFiles = { ...ticketForm, preValidation: [flattenMultipart, csrf] }
  const back = (req: FastifyRequest<{ Params: { locale: string; reference: string } }>, reply: FastifyReply, done: string) =>
    reply.redirect(`/${req.params.locale}/agent/tickets/${req.params.reference}?done=${done}`, 303)

  app.get('/:locale/agent/tickets/:reference', {
    schema: { ...hide, params: TicketParams, querystring: Type.Object({ done: Type.Optional(Type.String({ maxLength: 40 })) }) },
  }, async (req, reply) => renderTicket(req, reply))

  app.post('/:locale/agent/tickets/:reference/assign', { schema: { ...hide, params: TicketParams, body: Type.Object({ _csrf: Csrf }) }, ...ticketForm }, async (req, reply) => {
    await desk.assignToSelf(req.actor, req.params.reference, ctxOf(req))
    return back(req, reply, 'assigned')
  })

  app.post('/:locale/agent/tickets/:reference/reply', {
    schema: { ...hide, params: TicketParams, body: Type.Object({ message: Type.String({ minLength: 1, maxLength: 10_000 }), state: State, _csrf: Csrf }) }, ...ticketFormWithFiles,
  }, async (req, reply) => {
    await desk.reply(req.actor, req.params.reference, { body: req.body.message, state: req.body.state }, ctxOf(req), uploadsOf(req))
    return back(req, reply, 'replied')
  })

  app.post('/:locale/agent/tickets/:reference/note', {
    schema: { ...hide, params: TicketParams, body: Type.Object({ message: Type.String({ minLength: 1, maxLength: 10_000 }), _csrf: Csrf }) }, ...ticketFormWithFiles,
  }, async (req, reply) => {
    await desk.note(req.actor, req.params.reference, req.body.message, ctxOf(req), uploadsOf(req))
    return back(req, reply, 'noted')
  })

  app.post('/:locale/agent/tickets/:reference/state', { schema: { ...hide, params: TicketParams, body: Type.Object({ state: State, _csrf: Csrf }) }, ...ticketForm }, async (req, reply) => {
    await desk.setState(req.actor, req.params.reference, req.body.state, ctxOf(req))
    return back(req, reply, 'state')
  })

  app.post('/:locale/agent/tickets/:reference/identity', {
    schema: { ...hide, params: TicketParams, body: Type.Object({ action: Type.Union([Type.Literal('restore'), Type.Literal('reset'), Type.Literal('factors')]), _csrf: Csrf }) }, ...ticketForm,
  }, async (req, reply) => {
    const { outcome } = await desk.identityAction(req.actor, req.params.reference, req.body.action, ctxOf(req))
    return back(req, reply, outcome)
  })

  app.get('/:locale/agent/tickets/:reference/attachments/:id', {
    schema: { ...hide, params: Type.Object({ locale: Locale, reference: Reference, id: Type.String({ pattern: '^[1-9][0-9]{0,9}$' }) }) },
  }, async (req, reply) => sendAttachment(reply, await desk.attachment(req.actor, req.params.reference, Number(req.params.id))))

  const Period = Type.Object({ days: Type.Optional(Type.Union([Type.Literal('7'), Type.Literal('30'), Type.Literal('90')])) })
  /** The report's charts in the viewer's language: topics and articles by their titles, not their keys. */
  const chartsFor = async (req: FastifyRequest, days: number) => {
    const data = await desk.chartData(req.actor, { days })
    const [topics, titles] = await Promise.all([topicsOf(req), articleTitles(help, req.actor, req.locale, data.deflections)])
    return deskCharts((key, params) => t(req.locale, key, params), req.locale, data, new Map(topics.map((c) => [c.key, c.title])), titles)
  }

  app.get('/:locale/agent/report', { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Period } }, async (req, reply) => {
    const days = Number(req.query.days ?? 30)
    const report = await desk.report(req.actor, { days })
    const [charts, overview] = await Promise.all([chartsFor(req, days), help.overview(req.actor, req.locale)])
    const titleOf = new Map(overview.flatMap((c) => c.articles).map((a) => [a.key, a.title]))
    return sendPage(reply, DeskReportPage({
      ctx: pageContext(req, samePathAlternates(req, locales)), report, charts,
      articleTitle: (key) => titleOf.get(key) ?? key, branchTitle: (branch) => branch,
    }))
  })

  app.get('/:locale/agent/report/charts/:chart', {
    schema: { ...hide, params: Type.Object({ locale: Locale, chart: Type.String({ pattern: '^[a-z-]{1,40}\\.csv$' }) }), querystring: Period },
  }, async (req, reply) => {
    const chart = (await chartsFor(req, Number(req.query.days ?? 30))).find((c) => `${c.id}.csv` === req.params.chart)
    if (!chart) throw new AppError('NOT_FOUND')
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${chart.id}.csv"`).send(chartCsv(chart))
  })
}
