import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Database } from '../../db/client.js'
import { AppError } from '../../shared/errors.js'
import { negotiateLocale } from '../../shared/i18n/index.js'
import type { Metrics } from '../../shared/http/metrics.js'

/** Probes, metrics, the OpenAPI document and the root redirect. */
/** Same length digests, so the comparison takes the same time whatever the token sent. */
function sameToken(sent: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(sent).digest(), createHash('sha256').update(expected).digest())
}

const loopback = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

/**
 * Who may read /metrics (requests per market, sign-in results, queue depths): the holder of
 * METRICS_TOKEN as a bearer token; without one configured, only the machine itself, and to anyone
 * else the address does not exist.
 */
function assertMayReadMetrics(req: FastifyRequest, reply: FastifyReply, token: string | undefined): void {
  if (token === undefined) {
    if (!loopback.has(req.ip)) throw new AppError('NOT_FOUND')
    return
  }
  const [scheme, sent] = (req.headers.authorization ?? '').split(' ', 2)
  if (scheme?.toLowerCase() !== 'bearer' || !sent || !sameToken(sent, token)) {
    void reply.header('www-authenticate', 'Bearer realm="metrics"')
    throw new AppError('NOT_SIGNED_IN')
  }
}

export async function systemRoutes(app: FastifyInstance, opts: { database: Database; metrics: Metrics; metricsToken?: string | undefined }): Promise<void> {
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

  app.get('/metrics', { schema: hide, logLevel: 'warn' }, async (req, reply) => {
    assertMayReadMetrics(req, reply, opts.metricsToken)
    void reply.type(opts.metrics.registry.contentType)
    return opts.metrics.registry.metrics()
  })

  app.get('/api/v1/openapi.json', { schema: hide }, async () => app.swagger())

  app.get('/', { schema: hide }, async (req, reply) => {
    void reply.header('vary', 'Accept-Language')
    return reply.redirect(`/${negotiateLocale(req.headers['accept-language'])}/help`, 302)
  })
}
