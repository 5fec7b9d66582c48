import { randomBytes, randomUUID } from 'node:crypto'
import fastifyStatic from '@fastify/static'
import swagger from '@fastify/swagger'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { createServices, type Services } from './composition.js'
import { lazyValidators } from './shared/http/lazy-validators.js'
import type { Config } from './config.js'
import type { Database } from './db/client.js'
import { guest, type Actor } from './shared/actor.js'
import { isLocale, negotiateLocale } from './shared/i18n/index.js'
import './shared/http/context.js'
import { registerErrorHandling, sendError, toAppError } from './shared/http/errors.js'
import { createMetrics, registerOutboxGauge, registerRequestMetrics, type Metrics } from './shared/http/metrics.js'
import { registerSecurity } from './shared/http/security.js'
import { registerRequestGuard } from './shared/http/guard.js'
import { loggerOptions } from './shared/logger.js'
import { HELP_REVISION_CHANNEL, helpCenterRoutes } from './modules/helpcenter/index.js'
import { identityRoutes, registerSessions } from './modules/identity/index.js'
import { adminRoutes } from './modules/admin/index.js'
import { MARKET_CHANNEL, organizationsRoutes } from './modules/organizations/index.js'
import { mailerFromConfig, type Mailer } from './shared/mail/mailer.js'
import { agentRoutes, registerTicketGauges, supportRoutes } from './modules/support/index.js'
import { systemRoutes } from './modules/system/index.js'
import { ssoAdminRoutes, ssoRoutes } from './modules/sso/index.js'
import { scimRoutes, SCIM_PREFIX } from './modules/scim/index.js'
import { publicDir, versionedAssetUrl } from './shared/http/assets.js'


declare module 'fastify' {
  interface FastifyInstance {
    services: Services
    database: Database
    /** The outbox worker; server.ts starts it, tests drain it. */
    mailer: Mailer
    metrics: Metrics
    /** Every route's method and URL (and the fields its schema names), for tests that walk them all. */
    routeList: RouteEntry[]
  }
}

/** A route as the hostile-input walk sees it: its method, URL and the body and query fields its schema declares. */
export interface RouteEntry { method: string; url: string; bodyFields: string[]; queryFields: string[] }

/** The property names of a TypeBox object schema (none for anything else). */
function fieldsOf(schema: unknown): string[] {
  const properties = (schema as { properties?: unknown } | undefined)?.properties
  return properties && typeof properties === 'object' ? Object.keys(properties) : []
}

export interface BuildOptions {
  /** false silences logs (tests); default follows config.logLevel. */
  logger?: boolean
}

function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[\w.-]{8,64}$/.test(header) ? header : randomUUID()
}

function localeOf(url: string, acceptLanguage: string | undefined): string {
  const first = url.split('/', 2)[1]?.split('?')[0]
  if (isLocale(first)) return first
  if (url.startsWith('/api/')) {
    const match = /[?&]locale=([a-z]{2})(?:&|$)/.exec(url)
    if (match && isLocale(match[1])) return match[1]
  }
  return negotiateLocale(acceptLanguage)
}

export async function buildApp(config: Config, database: Database, options: BuildOptions = {}): Promise<FastifyInstance> {
  const serverOptions: FastifyServerOptions = {
    logger: options.logger === false ? false : loggerOptions(config.logLevel),
    genReqId: (req) => requestId(req.headers['x-request-id']),
    bodyLimit: 256 * 1024,
    trustProxy: config.trustProxy,
    routerOptions: { maxParamLength: 500 },
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: lazyValidators() } },
  }
  const app = Fastify({
    ...serverOptions,
    frameworkErrors: (error, req, reply) => {
      req.locale = localeOf(req.url, req.headers['accept-language'])
      req.actor = guest
      void sendError(req, reply, toAppError(error, req.locale))
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  const metrics = createMetrics()
  // Without a configured or stored secret (tests), keys are encrypted with one that lives as long as the process.
  const oidcKeySecret = config.oidcKeySecret ?? randomBytes(32).toString('base64url')
  const factorKeySecret = config.factorKeySecret ?? randomBytes(32).toString('base64url')
  const services = createServices(database, metrics, { oidcKeySecret, factorKeySecret }, { brandName: config.brandName })
  // A changed BRAND_NAME reaches the imported articles too, not only the texts and emails. (On a
  // database still waiting for its migrations there are no articles yet: the import renders them.)
  if (await database.pendingMigrations() === 0) await services.help.applyBrand()
  const https = config.publicUrl.startsWith('https://')
  app.decorate('site', {
    brandName: config.brandName,
    https,
    publicUrl: config.publicUrl,
    stylesheet: versionedAssetUrl('app.css'),
  })
  app.decorate('services', services)
  app.decorate('database', database)
  app.decorate('mailer', mailerFromConfig(config, database, app.log))
  registerOutboxGauge(metrics, () => app.mailer.repo.pendingCount())
  registerTicketGauges(metrics.registry, services.desk)
  app.addHook('onClose', () => app.mailer.stop())
  // Caches of settings are shared through the database: a change committed by any process (an
  // import, a platform administrator's edit of a market) is notified to every process, which drops
  // its copy at once (docs/deployment.md, "Several nodes").
  const stopListening = [
    await database.listen(HELP_REVISION_CHANNEL, () => {
      services.help.forgetRevision()
      services.support.forgetTopics()
    }),
    await database.listen(MARKET_CHANNEL, (payload) => { services.support.forgetMarket(Number(payload)) }),
  ]
  app.addHook('onClose', async () => { for (const stop of stopListening) await stop() })
  app.decorate('metrics', metrics)
  const routeList: RouteEntry[] = []
  app.decorate('routeList', routeList)
  app.addHook('onRoute', (route) => {
    const bodyFields = fieldsOf(route.schema?.body)
    const queryFields = fieldsOf(route.schema?.querystring)
    for (const method of [route.method].flat()) if (method !== 'HEAD') routeList.push({ method, url: route.url, bodyFields, queryFields })
  })
  app.decorateRequest('locale', 'en')
  // Fastify forbids object defaults on requests; the actor is kept beside the request instead.
  const actors = new WeakMap<FastifyRequest, Actor>()
  app.decorateRequest('actor', {
    getter(this: FastifyRequest): Actor { return actors.get(this) ?? guest },
    setter(this: FastifyRequest, actor: Actor) { actors.set(this, actor) },
  })

  // Callback-style hooks: they run on every request, and skip a promise each.
  app.addHook('onRequest', (req, reply, done) => {
    req.locale = localeOf(req.url, req.headers['accept-language'])
    req.actor = guest
    void reply.header('x-request-id', req.id)
    done()
  })

  registerErrorHandling(app)
  registerRequestMetrics(app, metrics)
  await registerSecurity(app, {
    cookieSecret: config.sessionSecret ?? randomBytes(32).toString('hex'),
    https,
  })
  registerRequestGuard(app)
  registerSessions(app, services.auth)
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Sportello API', version: '1.0.0', description: 'Help center, identity and support of the Sportello partner portal.' },
      servers: [{ url: config.publicUrl }],
    },
  })
  await app.register(fastifyStatic, { root: publicDir, prefix: '/assets/', immutable: true, maxAge: '365d', index: false })

  await app.register(systemRoutes, { database, metrics, metricsToken: config.metricsToken })
  await app.register(helpCenterRoutes, { help: services.help, organizations: services.organizations, metrics })
  await app.register(supportRoutes, {
    support: services.support, organizations: services.organizations, help: services.help,
    requesterProfile: (req) => services.account.requesterProfile(req.actor), rateLimitPerMinute: config.authRateLimit,
  })
  await app.register(agentRoutes, { desk: services.desk, help: services.help })
  await app.register(organizationsRoutes, { organizations: services.organizations })
  await app.register(adminRoutes, { services, admin: services.admin })
  await app.register(ssoRoutes, { sso: services.sso, auth: services.auth, publicUrl: config.publicUrl, keySecret: oidcKeySecret, https })
  await app.register(ssoAdminRoutes, { sso: services.sso })
  await app.register(scimRoutes, { prefix: SCIM_PREFIX, scim: services.scim, publicUrl: config.publicUrl })
  await app.register(identityRoutes, { auth: services.auth, account: services.account, factors: services.factors, registration: services.registration, organizations: services.organizations, rateLimitPerMinute: config.authRateLimit })
  return app
}
