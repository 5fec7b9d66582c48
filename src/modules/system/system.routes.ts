import type { FastifyInstance } from 'fastify'
import type { Database } from '../../db/client.js'
import { AppError } from '../../shared/errors.js'
import { negotiateLocale } from '../../shared/i18n/index.js'
import type { Metrics } from '../../shared/http/metrics.js'

/** Probes, metrics, the OpenAPI document and the root redirect. */
export async function systemRoutes(app: FastifyInstance, opts: { database: Database; metrics: Metrics }): Promise<void> {
  const hide = { hide: true }

  app.get('/healthz', { schema: hide, logLevel: 'warn' }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: hide, logLevel: 'warn' }, async () => {
    try {
      await opts.database.ping()
    } catch (error) {
      app.log.warn({ err: error }, 'database unreachable')
      throw new AppError('NOT_READY', { cause: error })
    }
    const pending = await opts.database.pendingMigrations()
    if (pending > 0) throw new AppError('NOT_READY', { cause: `${pending} migration(s) pending` })
    return { status: 'ready' }
  })

  app.get('/metrics', { schema: hide, logLevel: 'warn' }, async (_req, reply) => {
    void reply.type(opts.metrics.registry.contentType)
    return opts.metrics.registry.metrics()
  })

  app.get('/api/v1/openapi.json', { schema: hide }, async () => app.swagger())

  app.get('/', { schema: hide }, async (req, reply) => {
    void reply.header('vary', 'Accept-Language')
    return reply.redirect(`/${negotiateLocale(req.headers['accept-language'])}/help`, 302)
  })
}
