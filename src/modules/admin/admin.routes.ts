import multipart from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import { assertCan, can, isAdministrator, scopeOf } from '../../shared/access.js'
import { AppError } from '../../shared/errors.js'
import { isLocale, locales, t } from '../../shared/i18n/index.js'
import { pageContext, samePathAlternates, sendPage } from '../../shared/http/render.js'
import { issueCsrfToken } from '../../shared/http/security.js'
import type { AccountStatus } from '../../db/schema/index.js'
import { listedStatuses, type AdministrationService, type ImportService } from '../identity/index.js'
import { forecastHorizons, FORECAST_PEOPLE_MAX, type ForecastHorizon, type ForecastTarget, type LifecycleService } from '../lifecycle/index.js'
import type { OrganizationsService } from '../organizations/index.js'
import type { HelpCenterService } from '../helpcenter/index.js'
import { articleTitles, deskCharts, type DeskService } from '../support/index.js'
import { sweepSteps, type SweepStep } from '../identity/index.js'
import { chartCsv, type ChartData } from '../../shared/charts/charts.js'
import { registerRateLimits } from '../../shared/http/rate-limit.js'
import { canAnywhere } from '../../shared/access.js'
import { AdminHomePage, AuditPage, CompaniesPage, CompanyPage, ForecastPage, ImportPage, PlatformPage, PlatformReportPage, ReportPage, UserRecordPage, UsersPage, type CheckResult, type ForecastPlace } from './admin.pages.js'
import { forecastByMarketChart, forecastChart, signInChart, stepLabel } from './report-charts.js'
import { WorkspacePage } from './workspace.pages.js'
import type { AdminService } from './admin.service.js'
import { MAX_IMPORT_BYTES, parseUsersCsv, toCsv } from './csv.js'

const Locale = Type.String({ minLength: 1, maxLength: 20 })
const Csrf = Type.Optional(Type.String({ maxLength: 200 }))
const Id = Type.String({ pattern: '^[1-9][0-9]{0,8}$' })
const Page = Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,4}$' }))
const Day = Type.Optional(Type.Union([Type.Literal(''), Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })]))
/** A status filter: the state machine's listed statuses, or '' for all. */
const Status = Type.Optional(Type.Unsafe<AccountStatus | ''>({ type: 'string', enum: ['', ...listedStatuses] }))
const CompanyStatus = Type.Optional(Type.Union([Type.Literal(''), Type.Literal('active'), Type.Literal('pending_approval'), Type.Literal('refused')]))
const AuditQuery = Type.Object({ action: Type.Optional(Type.String({ maxLength: 60, pattern: '^[a-z_.]*$' })), from: Day, to: Day, page: Page })
/** A report's period: 7, 30 or 90 days (30 when not given). */
const Period = Type.Object({ days: Type.Optional(Type.Union(forecastHorizons.map((d) => Type.Literal(String(d))))) })
const periodOf = (query: { days?: string | undefined }): ForecastHorizon => Number(query.days ?? 30) as ForecastHorizon
const Step = Type.Optional(Type.Union(sweepSteps.map((s) => Type.Literal(s))))
const ForecastQuery = Type.Object({ days: Period.properties.days, step: Step, company: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,8}$' })), done: Type.Optional(Type.String({ maxLength: 40 })), queued: Type.Optional(Type.String({ pattern: '^[0-9]{1,7}$' })), already: Type.Optional(Type.String({ pattern: '^[0-9]{1,7}$' })) })
const doneCodes = ['created', 'market', 'approved', 'refused', 'restored', 'reset', 'deactivated', 'role', 'saved', 'partner', 'invited', 'policy', 'market_admin', 'service_levels', 'second_factor', 'factors_reset']

export interface AdminRoutesOptions {
  services: { administration: AdministrationService; organizations: OrganizationsService; lifecycle: LifecycleService; imports: ImportService; desk: DeskService; help: HelpCenterService }
  admin: AdminService
}

function dayStart(value: string | undefined, plusDays = 0): Date | undefined {
  if (!value) return undefined
  const date = new Date(`${value}T00:00:00Z`)
  if (Number.isNaN(date.getTime())) throw new AppError('INVALID_INPUT', { field: 'date', reason: value })
  return new Date(date.getTime() + plusDays * 86_400_000)
}

/** The administration consoles under /{l}/admin: what an administrator may do depends on their scope, checked by each service. */
export async function adminRoutes(root: FastifyInstance, opts: AdminRoutesOptions): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { administration, organizations, lifecycle, imports, desk, help } = opts.services
  const { admin } = opts
  await registerRateLimits(app)
  await app.register(multipart, { attachFieldsToBody: 'keyValues', limits: { fileSize: MAX_IMPORT_BYTES, files: 1, fields: 5, fieldSize: 1000, parts: 6 } })
  const hide = { hide: true }
  const ctxOf = (req: FastifyRequest) => ({ ip: req.ip, userAgent: req.headers['user-agent'], requestId: req.id, publicUrl: req.server.site.publicUrl })
  const csrf = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => { app.csrfProtection(req, reply, done) }
  const notice = (req: FastifyRequest) => {
    const done = (req.query as { done?: unknown } | undefined)?.done
    return typeof done === 'string' && doneCodes.includes(done) ? t(req.locale, `admin.done.${done}`) : undefined
  }
  const message = (req: FastifyRequest, error: AppError) => t(req.locale, `errors.${error.code}`, error.params)

  // Guests go to the sign-in page and come back; signed-in people without a scope get a 403 from the services.
  app.addHook('preHandler', async (req, reply) => {
    if (req.actor.kind !== 'user') {
      const path = req.url.split('?')[0] ?? ''
      return reply.redirect(`/${req.locale}/login?next=${encodeURIComponent(req.method === 'GET' ? path : `/${req.locale}/admin`)}`, 303)
    }
    const locale = (req.params as { locale?: unknown }).locale
    if (typeof locale !== 'string' || !isLocale(locale)) throw new AppError('LOCALE_NOT_FOUND')
    void reply.header('cache-control', 'no-store')
    return undefined
  })

  // Where administrators and support agents land after signing in: what waits for them, and their consoles.
  app.get('/:locale/workspace', { schema: { ...hide, params: Type.Object({ locale: Locale }) } }, async (req, reply) => {
    const actor = req.actor
    const administers = isAdministrator(actor)
    const [reminders, pendingAccounts, pendingCompanies, queue] = await Promise.all([
      organizations.partnerReminders(actor),
      administers ? administration.findUsers(actor, { status: 'pending_approval' }) : Promise.resolve(null),
      canAnywhere(actor, 'manage_companies') ? organizations.companiesForAdmin(actor, { status: 'pending_approval' }) : Promise.resolve(null),
      canAnywhere(actor, 'view_tickets') ? desk.queue(actor, {}) : Promise.resolve(null),
    ])
    return sendPage(reply, WorkspacePage({
      ctx: pageContext(req, samePathAlternates(req, locales)), reminders,
      admin: pendingAccounts ? { pendingAccounts: pendingAccounts.length, pendingCompanies: pendingCompanies?.length ?? null } : null,
      queue: queue ? { waiting: queue.total } : null,
    }))
  })

  app.get('/:locale/admin', { schema: { ...hide, params: Type.Object({ locale: Locale }) } }, async (req, reply) => {
    const scope = scopeOf(req.actor)
    const [companies, allMarkets, reminders] = await Promise.all([organizations.companiesForAdmin(req.actor, {}), organizations.listMarkets(req.actor), organizations.partnerReminders(req.actor)])
    const markets = allMarkets.filter((m) => scope.all || scope.marketAdminOf.has(m.id))
    return sendPage(reply, AdminHomePage({
      ctx: pageContext(req, samePathAlternates(req, locales)), markets, platform: scope.all, reminders,
      companies: scope.all || scope.marketAdminOf.size > 0 ? companies.filter((c) => scope.orgAdminOf.has(c.id)) : companies,
    }))
  })

  // ---- Users ----

  app.get('/:locale/admin/users', {
    schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Type.Object({ q: Type.Optional(Type.String({ maxLength: 200 })), status: Status, market: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })), page: Page, done: Type.Optional(Type.String({ maxLength: 40 })) }) },
  }, async (req, reply) => {
    const page = Number(req.query.page ?? 1)
    const users = await administration.findUsers(req.actor, { q: req.query.q, status: req.query.status || undefined, page })
    return sendPage(reply, UsersPage({ ctx: pageContext(req), users, query: { q: req.query.q, status: req.query.status, page }, notice: notice(req) }))
  })

  const UserParams = Type.Object({ locale: Locale, id: Id })
  const renderUser = async (req: FastifyRequest, reply: FastifyReply, status = 200, extra: { check?: CheckResult; error?: string } = {}) => {
    const id = Number((req.params as { id: string }).id)
    const record = await administration.userRecord(req.actor, id)
    const timeline = await admin.accountTimeline(req.actor, id)
    return sendPage(reply, UserRecordPage({ ctx: pageContext(req), record, timeline, csrfToken: issueCsrfToken(req, reply), check: extra.check, notice: notice(req), error: extra.error }), status)
  }
  /** Forms on a user's page show their error there (a 403 or 404 gets the error page instead). */
  const userForm = {
    preValidation: csrf,
    config: {
      formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => error.status === 403 || error.status === 404
        ? null
        : renderUser(req, reply, error.status, { error: message(req, error) }),
    },
  }
  const backToUser = (req: FastifyRequest<{ Params: { locale: string; id: string } }>, reply: FastifyReply, done: string) =>
    reply.redirect(`/${req.params.locale}/admin/users/${req.params.id}?done=${done}`, 303)

  app.get('/:locale/admin/users/:id', { schema: { ...hide, params: UserParams, querystring: Type.Object({ done: Type.Optional(Type.String({ maxLength: 40 })) }) } }, async (req, reply) => renderUser(req, reply))

  const Claims = Type.Object({
    userId: Type.String({ maxLength: 256 }), firstName: Type.String({ maxLength: 100 }), lastName: Type.String({ maxLength: 100 }),
    email: Type.String({ maxLength: 256 }), companyName: Type.String({ maxLength: 200 }), companyAddress: Type.String({ maxLength: 400 }), _csrf: Csrf,
  })
  app.post('/:locale/admin/users/:id/check', { schema: { ...hide, params: UserParams, body: Claims }, ...userForm }, async (req, reply) => {
    const b = req.body
    const claims = { userId: b.userId, firstName: b.firstName, lastName: b.lastName, email: b.email, companyName: b.companyName, companyAddress: b.companyAddress }
    const result = await administration.checkIdentity(req.actor, Number(req.params.id), claims, ctxOf(req))
    return renderUser(req, reply, 200, { check: { ...result, claims } })
  })

  const Empty = Type.Object({ _csrf: Csrf })
  app.post('/:locale/admin/users/:id/restore', { schema: { ...hide, params: UserParams, body: Empty }, ...userForm }, async (req, reply) => {
    await administration.restoreAccess(req.actor, Number(req.params.id), ctxOf(req))
    return backToUser(req, reply, 'restored')
  })
  app.post('/:locale/admin/users/:id/reset', {
    schema: { ...hide, params: UserParams, body: Type.Object({ newEmail: Type.Optional(Type.Union([Type.Literal(''), Type.String({ format: 'email', maxLength: 256 })])), _csrf: Csrf }) },
    ...userForm,
  }, async (req, reply) => {
    await administration.issueAdminReset(req.actor, Number(req.params.id), { newEmail: req.body.newEmail || undefined }, ctxOf(req))
    return backToUser(req, reply, 'reset')
  })
  app.post('/:locale/admin/users/:id/factors/reset', { schema: { ...hide, params: UserParams, body: Empty }, ...userForm }, async (req, reply) => {
    await administration.resetFactors(req.actor, Number(req.params.id), ctxOf(req))
    return backToUser(req, reply, 'factors_reset')
  })
  /** Approve and refuse also come from a pending company's page, and go back there. */
  const Decision = Type.Object({ company: Type.Optional(Id), _csrf: Csrf })
  app.post('/:locale/admin/users/:id/approve', { schema: { ...hide, params: UserParams, body: Decision }, ...userForm }, async (req, reply) => {
    await administration.approve(req.actor, Number(req.params.id), ctxOf(req))
    if (req.body.company) return reply.redirect(`/${req.params.locale}/admin/companies/${req.body.company}?done=approved`, 303)
    return backToUser(req, reply, 'approved')
  })
  app.post('/:locale/admin/users/:id/refuse', { schema: { ...hide, params: UserParams, body: Decision }, ...userForm }, async (req, reply) => {
    await administration.refuse(req.actor, Number(req.params.id), ctxOf(req))
    if (req.body.company) return reply.redirect(`/${req.params.locale}/admin/companies/${req.body.company}?done=refused`, 303)
    return reply.redirect(`/${req.params.locale}/admin/users?done=refused`, 303)
  })
  app.post('/:locale/admin/users/:id/deactivate', { schema: { ...hide, params: UserParams, body: Empty }, ...userForm }, async (req, reply) => {
    await administration.deactivate(req.actor, Number(req.params.id), ctxOf(req))
    return backToUser(req, reply, 'deactivated')
  })
  app.post('/:locale/admin/users/:id/org-admin', { schema: { ...hide, params: UserParams, body: Type.Object({ grant: Type.Union([Type.Literal('true'), Type.Literal('false')]), _csrf: Csrf }) }, ...userForm }, async (req, reply) => {
    await administration.setOrgAdmin(req.actor, Number(req.params.id), req.body.grant === 'true', ctxOf(req))
    return backToUser(req, reply, 'role')
  })

  // ---- Companies ----

  const renderCompanies = async (req: FastifyRequest, reply: FastifyReply, status = 200, error?: string) => {
    const query = (req.query ?? {}) as { q?: string; status?: '' | 'active' | 'pending_approval' | 'refused' }
    const scope = scopeOf(req.actor)
    const [companies, allMarkets] = await Promise.all([
      organizations.companiesForAdmin(req.actor, { q: query.q, status: query.status || undefined }), organizations.listMarkets(req.actor),
    ])
    const markets = allMarkets.filter((m) => scope.all || scope.marketAdminOf.has(m.id))
    return sendPage(reply, CompaniesPage({ ctx: pageContext(req), companies, query, markets, csrfToken: issueCsrfToken(req, reply), notice: notice(req), error }), status)
  }

  app.get('/:locale/admin/companies', {
    schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Type.Object({ q: Type.Optional(Type.String({ maxLength: 200 })), status: CompanyStatus, done: Type.Optional(Type.String({ maxLength: 40 })) }) },
  }, async (req, reply) => renderCompanies(req, reply))

  app.post('/:locale/admin/companies', {
    schema: {
      ...hide, params: Type.Object({ locale: Locale }),
      body: Type.Object({
        market: Type.String({ pattern: '^[A-Z]{2}$' }), companyNumber: Type.String({ maxLength: 40 }), name: Type.String({ maxLength: 200 }), street: Type.String({ maxLength: 200 }),
        postalCode: Type.String({ maxLength: 20 }), city: Type.String({ maxLength: 100 }), isPartner: Type.Optional(Type.Literal('true')), _csrf: Csrf,
      }),
    },
    preValidation: csrf,
    config: { formError: (req, reply, error) => (error.status === 403 ? null : renderCompanies(req, reply, error.status, message(req, error))) },
  }, async (req, reply) => {
    const b = req.body
    const created = await organizations.createCompany(req.actor, {
      marketCode: b.market, companyNumber: b.companyNumber, name: b.name, street: b.street, postalCode: b.postalCode, city: b.city,
      isPartner: b.isPartner === 'true', contactPhone: '', contactEmail: '',
    }, ctxOf(req))
    return reply.redirect(`/${req.params.locale}/admin/companies/${String(created.id)}?done=created`, 303)
  })

  const CompanyParams = Type.Object({ locale: Locale, id: Id })
  const renderCompany = async (req: FastifyRequest, reply: FastifyReply, status = 200, error?: string) => {
    const id = Number((req.params as { id: string }).id)
    const partnerQuery = (req.query as { partnerQ?: string } | undefined)?.partnerQ
    const { company, partner, mayEdit } = await organizations.companyForAdmin(req.actor, id)
    const [users, choices, reminders] = await Promise.all([
      administration.findUsers(req.actor, { companyId: id }),
      mayEdit && partnerQuery !== undefined ? organizations.partnerChoices(req.actor, id, partnerQuery) : Promise.resolve(null),
      organizations.partnerReminders(req.actor),
    ])
    return sendPage(reply, CompanyPage({
      ctx: pageContext(req), company, partner, mayEdit, users, choices, partnerQuery, csrfToken: issueCsrfToken(req, reply), notice: notice(req), error,
      partnerDue: reminders.some((r) => r.id === company.id), mayDecide: company.status === 'pending_approval' && can(req.actor, 'manage_companies', { companyId: company.id, marketId: company.marketId }),
    }), status)
  }
  const companyForm = {
    preValidation: csrf,
    config: {
      formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => error.status === 403 || error.status === 404
        ? null
        : renderCompany(req, reply, error.status, message(req, error)),
    },
  }
  const backToCompany = (req: FastifyRequest<{ Params: { locale: string; id: string } }>, reply: FastifyReply, done: string) =>
    reply.redirect(`/${req.params.locale}/admin/companies/${req.params.id}?done=${done}`, 303)

  app.get('/:locale/admin/companies/:id', {
    schema: { ...hide, params: CompanyParams, querystring: Type.Object({ partnerQ: Type.Optional(Type.String({ maxLength: 100 })), done: Type.Optional(Type.String({ maxLength: 40 })) }) },
  }, async (req, reply) => renderCompany(req, reply))

  app.post('/:locale/admin/companies/:id', {
    schema: {
      ...hide, params: CompanyParams,
      body: Type.Object({
        name: Type.String({ maxLength: 200 }), street: Type.String({ maxLength: 200 }), postalCode: Type.String({ maxLength: 20 }), city: Type.String({ maxLength: 100 }),
        contactPhone: Type.Optional(Type.String({ maxLength: 40 })), contactEmail: Type.Optional(Type.String({ maxLength: 256 })), _csrf: Csrf,
      }),
    },
    ...companyForm,
  }, async (req, reply) => {
    const b = req.body
    await organizations.updateCompanyDetails(req.actor, Number(req.params.id), { name: b.name, street: b.street, postalCode: b.postalCode, city: b.city, contactPhone: b.contactPhone ?? '', contactEmail: b.contactEmail ?? '' }, ctxOf(req))
    return backToCompany(req, reply, 'saved')
  })

  app.post('/:locale/admin/companies/:id/partner', { schema: { ...hide, params: CompanyParams, body: Type.Object({ partnerId: Id, _csrf: Csrf }) }, ...companyForm }, async (req, reply) => {
    await organizations.chooseAftersalesPartnerFor(req.actor, Number(req.params.id), Number(req.body.partnerId), ctxOf(req))
    return backToCompany(req, reply, 'partner')
  })

  app.post('/:locale/admin/companies/:id/invite', {
    schema: {
      ...hide, params: CompanyParams,
      body: Type.Object({
        userId: Type.String({ maxLength: 64 }), firstName: Type.String({ maxLength: 100 }), lastName: Type.String({ maxLength: 100 }),
        email: Type.String({ format: 'email', maxLength: 256 }), locale: Type.String({ maxLength: 20 }), role: Type.Union([Type.Literal('user'), Type.Literal('org_admin')]), _csrf: Csrf,
      }),
    },
    ...companyForm,
  }, async (req, reply) => {
    const { company } = await organizations.companyForAdmin(req.actor, Number(req.params.id))
    const b = req.body
    await administration.invite(req.actor, {
      realm: 'partner', userId: b.userId.trim(), firstName: b.firstName, lastName: b.lastName, email: b.email.trim(), companyNumber: company.companyNumber, locale: b.locale, role: b.role,
    }, ctxOf(req))
    return backToCompany(req, reply, 'invited')
  })

  // ---- Audit ----

  app.get('/:locale/admin/audit', { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: AuditQuery } }, async (req, reply) => {
    const page = Number(req.query.page ?? 1)
    const events = await admin.auditTrail(req.actor, { action: req.query.action || undefined, from: dayStart(req.query.from), to: dayStart(req.query.to, 1), page })
    return sendPage(reply, AuditPage({ ctx: pageContext(req), events, query: { action: req.query.action, from: req.query.from, to: req.query.to, page } }))
  })

  app.get('/:locale/admin/audit.csv', { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: AuditQuery } }, async (req, reply) => {
    const csv = await admin.auditCsv(req.actor, { action: req.query.action || undefined, from: dayStart(req.query.from), to: dayStart(req.query.to, 1) }, req.locale)
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="audit.csv"').send(csv)
  })

  // ---- Market reports and import ----

  const MarketParams = Type.Object({ locale: Locale, code: Type.String({ pattern: '^[A-Z]{2}$' }) })
  const marketOf = async (req: FastifyRequest<{ Params: { code: string } }>) => {
    const market = await organizations.market(req.actor, req.params.code)
    if (!market) throw new AppError('NOT_FOUND')
    return market
  }

  const translate = (req: FastifyRequest) => (key: string, params?: Record<string, string | number>) => t(req.locale, key, params)

  /** A market's charts (or, with null, the platform's), each a table and a CSV as well. */
  const reportCharts = async (req: FastifyRequest, market: { id: number; timeZone: string } | null, days: ForecastHorizon): Promise<ChartData[]> => {
    const tr = translate(req)
    const data = await desk.chartData(req.actor, { days, ...(market ? { marketId: market.id } : {}) })
    const [topics, titles, signIns] = await Promise.all([
      help.listCategories(req.actor, req.locale), articleTitles(help, req.actor, req.locale, data.deflections),
      admin.signInsPerDay(req.actor, market?.id ?? null, days, market?.timeZone ?? 'UTC'),
    ])
    const charts = [...deskCharts(tr, req.locale, data, new Map(topics.map((c) => [c.key, c.title])), titles), signInChart(tr, req.locale, signIns)]
    if (market) charts.push(forecastChart(tr, req.locale, await lifecycle.forecast(req.actor, { marketId: market.id, companyId: null }), days))
    else {
      const markets = await organizations.listMarkets(req.actor)
      const forecasts = await Promise.all(markets.map(async (m) => ({ name: m.names[req.locale] ?? m.code, forecast: await lifecycle.forecast(req.actor, { marketId: m.id, companyId: null }) })))
      charts.push(forecastByMarketChart(tr, req.locale, forecasts, days))
    }
    return charts
  }
  const sendChartCsv = (reply: FastifyReply, charts: ChartData[], file: string) => {
    const chart = charts.find((c) => `${c.id}.csv` === file)
    if (!chart) throw new AppError('NOT_FOUND')
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${chart.id}.csv"`).send(chartCsv(chart))
  }
  const ChartFile = Type.String({ pattern: '^[a-z-]{1,40}\\.csv$' })

  app.get('/:locale/admin/markets/:code/report', { schema: { ...hide, params: MarketParams, querystring: Period } }, async (req, reply) => {
    const market = await marketOf(req)
    const days = periodOf(req.query)
    const report = await admin.marketReport(req.actor, market.id)
    return sendPage(reply, ReportPage({ ctx: pageContext(req, samePathAlternates(req, locales)), market, report, charts: await reportCharts(req, market, days), days }))
  })

  app.get('/:locale/admin/markets/:code/report/charts/:chart', { schema: { ...hide, params: Type.Object({ locale: Locale, code: MarketParams.properties.code, chart: ChartFile }), querystring: Period } }, async (req, reply) => {
    const market = await marketOf(req)
    await admin.marketReport(req.actor, market.id) // the report's scope, before anything else is read
    return sendChartCsv(reply, await reportCharts(req, market, periodOf(req.query)), req.params.chart)
  })

  app.get('/:locale/admin/platform/report', { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Period } }, async (req, reply) => {
    assertCan(req.actor, 'manage_platform')
    const days = periodOf(req.query)
    return sendPage(reply, PlatformReportPage({ ctx: pageContext(req, samePathAlternates(req, locales)), charts: await reportCharts(req, null, days), days }))
  })

  app.get('/:locale/admin/platform/report/charts/:chart', { schema: { ...hide, params: Type.Object({ locale: Locale, chart: ChartFile }), querystring: Period } }, async (req, reply) => {
    assertCan(req.actor, 'manage_platform')
    return sendChartCsv(reply, await reportCharts(req, null, periodOf(req.query)), req.params.chart)
  })

  // ---- Inactivity forecast: a market's (its administrators) or a company's (its organization administrators too) ----

  type ForecastRequest = FastifyRequest<{ Params: { locale: string; code?: string; id?: string } }>
  /** The forecast's scope from the URL, resolved through organizations (403 outside the actor's scope). */
  const forecastPlace = async (req: ForecastRequest): Promise<{ target: ForecastTarget; place: ForecastPlace }> => {
    if (req.params.code !== undefined) {
      const market = await marketOf(req as FastifyRequest<{ Params: { code: string } }>)
      return { target: { marketId: market.id, companyId: null }, place: { name: market.names[req.locale] ?? market.code, path: `/${req.params.locale}/admin/markets/${market.code}/forecast`, timeZone: market.timeZone } }
    }
    const { company } = await organizations.companyForAdmin(req.actor, Number(req.params.id))
    const market = await organizations.marketById(req.actor, company.marketId)
    return {
      target: { marketId: company.marketId, companyId: company.id },
      place: { name: company.name, path: `/${req.params.locale}/admin/companies/${String(company.id)}/forecast`, timeZone: market?.timeZone ?? 'UTC' },
    }
  }

  const renderForecast = async (req: ForecastRequest, reply: FastifyReply, status = 200, error?: string) => {
    const query = (req.query ?? {}) as { days?: string; step?: SweepStep; company?: string; done?: string; queued?: string; already?: string }
    const days = periodOf(query)
    const { target, place } = await forecastPlace(req)
    const forecast = await lifecycle.forecast(req.actor, target)
    const companyId = query.company === undefined ? undefined : Number(query.company)
    const selection = query.step
      ? { step: query.step, companyId, people: await lifecycle.forecastPeople(req.actor, target, { days, stage: query.step, companyId }) }
      : undefined
    const notice = query.done === 'reminded' ? t(req.locale, 'reports.forecast.reminded', { queued: Number(query.queued ?? 0), already: Number(query.already ?? 0) }) : undefined
    return sendPage(reply, ForecastPage({
      ctx: pageContext(req, samePathAlternates(req, locales)), place, forecast, chart: forecastChart(translate(req), req.locale, forecast, days), days, selection,
      csrfToken: issueCsrfToken(req, reply), notice, error,
    }), status)
  }

  const peopleCsv = async (req: ForecastRequest, reply: FastifyReply) => {
    const query = req.query as { days?: string; step?: SweepStep; company?: string }
    const { target, place } = await forecastPlace(req)
    const step = query.step ?? 'blocked'
    // Days of the market, as on the page, written the one way spreadsheets read in every language.
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: place.timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    const people = await lifecycle.forecastPeople(req.actor, target, { days: periodOf(query), stage: step, companyId: query.company === undefined ? undefined : Number(query.company) })
    const tr = translate(req)
    const csv = toCsv(
      [tr('reports.forecast.person'), tr('reports.forecast.userId'), tr('reports.forecast.company'), tr('reports.forecast.status'), tr('reports.forecast.lastActivity'), tr('reports.forecast.dueAt')],
      people.slice(0, FORECAST_PEOPLE_MAX).map((p) => [`${p.first_name} ${p.last_name}`, p.user_id, p.company_name, tr(`account.statuses.${p.status}`), day.format(new Date(p.last_activity)), day.format(new Date(p.due_at))]),
    )
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${stepLabel(tr, step).replace(/[^\p{L}\p{N}]+/gu, '-').toLowerCase()}.csv"`).send(csv)
  }

  const forecastChartCsv = async (req: ForecastRequest & { params: { chart: string } }, reply: FastifyReply) => {
    const { target } = await forecastPlace(req)
    return sendChartCsv(reply, [forecastChart(translate(req), req.locale, await lifecycle.forecast(req.actor, target), periodOf(req.query as { days?: string }))], req.params.chart)
  }

  const remind = async (req: ForecastRequest & { body: { days: string } }, reply: FastifyReply) => {
    const { target, place } = await forecastPlace(req)
    const days = periodOf(req.body)
    const result = await lifecycle.remind(req.actor, target, days, ctxOf(req))
    return reply.redirect(`${place.path}?days=${String(days)}&done=reminded&queued=${String(result.queued)}&already=${String(result.already)}`, 303)
  }
  const RemindBody = Type.Object({ days: Type.Union(forecastHorizons.map((d) => Type.Literal(String(d)))), _csrf: Csrf })
  const forecastForm = {
    preValidation: csrf,
    config: {
      // A second press within a minute is refused before any work: the emails already went out once.
      rateLimit: { max: 3, timeWindow: 60_000, keyGenerator: (req: FastifyRequest) => (req.actor.kind === 'user' ? `remind:${String(req.actor.userId)}` : req.ip) },
      formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => error.status === 403 || error.status === 404
        ? null
        : renderForecast(req as ForecastRequest, reply, error.status, message(req, error)),
    },
  }
  const CompanyForecastParams = Type.Object({ locale: Locale, id: Id })

  app.get('/:locale/admin/markets/:code/forecast', { schema: { ...hide, params: MarketParams, querystring: ForecastQuery } }, async (req, reply) => renderForecast(req, reply))
  app.get('/:locale/admin/companies/:id/forecast', { schema: { ...hide, params: CompanyForecastParams, querystring: ForecastQuery } }, async (req, reply) => renderForecast(req, reply))
  app.get('/:locale/admin/markets/:code/forecast/people.csv', { schema: { ...hide, params: MarketParams, querystring: ForecastQuery } }, async (req, reply) => peopleCsv(req, reply))
  app.get('/:locale/admin/companies/:id/forecast/people.csv', { schema: { ...hide, params: CompanyForecastParams, querystring: ForecastQuery } }, async (req, reply) => peopleCsv(req, reply))
  app.get('/:locale/admin/markets/:code/forecast/charts/:chart', { schema: { ...hide, params: Type.Object({ locale: Locale, code: MarketParams.properties.code, chart: ChartFile }), querystring: Period } }, async (req, reply) => forecastChartCsv(req, reply))
  app.get('/:locale/admin/companies/:id/forecast/charts/:chart', { schema: { ...hide, params: Type.Object({ locale: Locale, id: Id, chart: ChartFile }), querystring: Period } }, async (req, reply) => forecastChartCsv(req, reply))
  app.post('/:locale/admin/markets/:code/forecast/remind', { schema: { ...hide, params: MarketParams, body: RemindBody }, ...forecastForm }, async (req, reply) => remind(req, reply))
  app.post('/:locale/admin/companies/:id/forecast/remind', { schema: { ...hide, params: CompanyForecastParams, body: RemindBody }, ...forecastForm }, async (req, reply) => remind(req, reply))

  app.get('/:locale/admin/markets/:code/report.csv', { schema: { ...hide, params: MarketParams } }, async (req, reply) => {
    const market = await marketOf(req)
    const report = await admin.marketReport(req.actor, market.id)
    // The page's own labels in the viewer's language, never status codes: the file is read by people.
    const tr = translate(req)
    const week = (label: string) => `${tr('admin.report.week')}: ${tr(label)}`
    const csv = toCsv([tr('admin.report.measure'), tr('admin.report.count')], [
      ...report.byStatus.map((s) => [`${tr('admin.report.byStatus')}: ${tr(`account.statuses.${s.status}`)}`, s.n]),
      [week('admin.report.warned'), report.thisWeek.warned], [week('admin.report.blocked'), report.thisWeek.blocked], [week('admin.report.deleted'), report.thisWeek.deleted],
    ])
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="report-${market.code}.csv"`).send(csv)
  })

  const renderImport = async (req: FastifyRequest<{ Params: { code: string } }>, reply: FastifyReply, status = 200, result?: Parameters<typeof ImportPage>[0]['result'], error?: string) => {
    const market = await marketOf(req)
    await admin.marketReport(req.actor, market.id) // the same market scope as imports; a 403 before the form shows
    return sendPage(reply, ImportPage({ ctx: pageContext(req), market, csrfToken: issueCsrfToken(req, reply), result, error }), status)
  }

  app.get('/:locale/admin/markets/:code/import', { schema: { ...hide, params: MarketParams } }, async (req, reply) => renderImport(req, reply))

  app.post('/:locale/admin/markets/:code/import', {
    schema: { ...hide, params: MarketParams },
    preValidation: csrf,
    config: {
      formError: (req, reply, error) => error.status === 403 || error.status === 404
        ? null
        : renderImport(req as FastifyRequest<{ Params: { code: string } }>, reply, error.status, undefined, message(req, error)),
    },
  }, async (req, reply) => {
    const body = req.body as { file?: unknown; invite?: unknown } | undefined
    if (!req.isMultipart() || !Buffer.isBuffer(body?.file)) throw new AppError('INVALID_INPUT', { field: t(req.locale, 'admin.import.file'), reason: t(req.locale, 'validation.required') })
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body.file)
    const parsed = parseUsersCsv(text)
    const result = parsed.problems.length > 0
      ? { ok: false as const, problems: parsed.problems }
      : await imports.importUsers(req.actor, parsed.records, { invite: body.invite === 'true' }, ctxOf(req))
    return renderImport(req, reply, result.ok ? 200 : 422, result.ok ? { imported: result.imported, invited: result.invited } : { problems: result.problems })
  })

  // ---- Platform ----

  const renderPlatform = async (req: FastifyRequest, reply: FastifyReply, status = 200, error?: string) => {
    assertCan(req.actor, 'manage_platform')
    const [realms, markets] = await Promise.all([lifecycle.policies(req.actor), organizations.listMarkets(req.actor)])
    return sendPage(reply, PlatformPage({ ctx: pageContext(req, samePathAlternates(req, locales)), realms, markets, csrfToken: issueCsrfToken(req, reply), notice: notice(req), error }), status)
  }
  const platformForm = {
    preValidation: csrf,
    config: { formError: (req: FastifyRequest, reply: FastifyReply, error: AppError) => error.status === 403 ? null : renderPlatform(req, reply, error.status, message(req, error)) },
  }

  app.get('/:locale/admin/platform', { schema: { ...hide, params: Type.Object({ locale: Locale }), querystring: Type.Object({ done: Type.Optional(Type.String({ maxLength: 40 })) }) } }, async (req, reply) => renderPlatform(req, reply))

  const DayCount = Type.String({ pattern: '^[0-9]{1,4}$' })
  app.post('/:locale/admin/platform/realms/:realm', {
    schema: { ...hide, params: Type.Object({ locale: Locale, realm: Type.String({ pattern: '^[a-z]{1,20}$' }) }), body: Type.Object({ warnBlockDays: DayCount, blockDays: DayCount, warnDeleteDays: DayCount, deleteDays: DayCount, _csrf: Csrf }) },
    ...platformForm,
  }, async (req, reply) => {
    const b = req.body
    await lifecycle.updatePolicy(req.actor, req.params.realm, { warnBlockDays: Number(b.warnBlockDays), blockDays: Number(b.blockDays), warnDeleteDays: Number(b.warnDeleteDays), deleteDays: Number(b.deleteDays) }, ctxOf(req))
    return reply.redirect(`/${req.params.locale}/admin/platform?done=policy`, 303)
  })

  app.post('/:locale/admin/platform/markets/:code', {
    schema: { ...hide, params: MarketParams, body: Type.Object({ supportEmail: Type.String({ format: 'email', maxLength: 256 }), supportPhone: Type.String({ minLength: 3, maxLength: 40 }), _csrf: Csrf }) },
    ...platformForm,
  }, async (req, reply) => {
    await organizations.updateMarketContacts(req.actor, req.params.code, { supportEmail: req.body.supportEmail.trim(), supportPhone: req.body.supportPhone.trim() }, ctxOf(req))
    return reply.redirect(`/${req.params.locale}/admin/platform?done=market`, 303)
  })

  const HourCount = Type.String({ pattern: '^[0-9]{1,4}$' })
  const TimeOfDay = Type.Optional(Type.Union([Type.Literal(''), Type.String({ pattern: '^(?:[01][0-9]|2[0-3]):[0-5][0-9]$' })]))
  const weekdays = ['1', '2', '3', '4', '5', '6', '7'] as const
  const ServiceLevelsBody = Type.Object({
    normalFirstResponse: HourCount, normalResolution: HourCount, urgentFirstResponse: HourCount, urgentResolution: HourCount,
    timeZone: Type.String({ minLength: 1, maxLength: 64 }), _csrf: Csrf,
    ...Object.fromEntries(weekdays.flatMap((d) => [[`open${d}`, TimeOfDay], [`close${d}`, TimeOfDay], [`closed${d}`, Type.Optional(Type.Literal('on'))]])),
  })
  app.post('/:locale/admin/platform/markets/:code/service-levels', {
    schema: { ...hide, params: MarketParams, body: ServiceLevelsBody },
    ...platformForm,
  }, async (req, reply) => {
    const b = req.body as Record<string, string | undefined>
    // A day is closed when ticked; an open day needs both times (the service checks that it closes after it opens).
    const businessHours = Object.fromEntries(weekdays.flatMap((d) => {
      if (b[`closed${d}`] === 'on') return []
      const open = b[`open${d}`]
      const close = b[`close${d}`]
      if (!open || !close) throw new AppError('INVALID_INPUT', { field: t(req.locale, `admin.platform.weekday${d}`), reason: t(req.locale, 'admin.platform.timesRequired') })
      return [[d, [open, close] as [string, string]]]
    }))
    await organizations.updateServiceLevels(req.actor, req.params.code, {
      sla: {
        normal: { firstResponse: Number(b.normalFirstResponse), resolution: Number(b.normalResolution) },
        urgent: { firstResponse: Number(b.urgentFirstResponse), resolution: Number(b.urgentResolution) },
      },
      businessHours, timeZone: (b.timeZone ?? '').trim(),
    }, ctxOf(req))
    return reply.redirect(`/${req.params.locale}/admin/platform?done=service_levels`, 303)
  })

  app.post('/:locale/admin/platform/markets/:code/second-factor', {
    schema: { ...hide, params: MarketParams, body: Type.Object({ required: Type.Union([Type.Literal('true'), Type.Literal('false')]), _csrf: Csrf }) },
    ...platformForm,
  }, async (req, reply) => {
    await organizations.setSecondFactorRequired(req.actor, req.params.code, req.body.required === 'true', ctxOf(req))
    return reply.redirect(`/${req.params.locale}/admin/platform?done=second_factor#second-factor`, 303)
  })

  app.post('/:locale/admin/platform/market-admins', {
    schema: { ...hide, params: Type.Object({ locale: Locale }), body: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 256 }), market: Type.String({ pattern: '^[A-Z]{2}$' }), grant: Type.Union([Type.Literal('true'), Type.Literal('false')]), _csrf: Csrf }) },
    ...platformForm,
  }, async (req, reply) => {
    const market = await organizations.market(req.actor, req.body.market)
    if (!market) throw new AppError('NOT_FOUND')
    await administration.setMarketAdmin(req.actor, { realm: 'partner', userId: req.body.userId.trim(), marketId: market.id, grant: req.body.grant === 'true' }, ctxOf(req))
    return reply.redirect(`/${req.params.locale}/admin/platform?done=market_admin`, 303)
  })
}
