import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  registry: Registry
  helpSearches: Counter<'locale' | 'outcome'>
  helpFeedback: Counter<'locale' | 'helpful'>
  signIns: Counter<'realm' | 'result'>
}

/** Emails waiting in the outbox, read from the database when Prometheus scrapes. */
export function registerOutboxGauge(metrics: Metrics, pendingCount: () => Promise<number>): void {
  new Gauge({
    name: 'sportello_outbox_pending', help: 'Emails queued and not yet sent', registers: [metrics.registry],
    async collect() { this.set(await pendingCount()) },
  })
}

/** One registry per app instance, so tests that build several apps do not collide. */
export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return {
    registry,
    helpSearches: new Counter({
      name: 'sportello_help_searches_total', help: 'Help searches by outcome (hit, corrected, miss)',
      labelNames: ['locale', 'outcome'], registers: [registry],
    }),
    signIns: new Counter({
      name: 'sportello_sign_ins_total', help: 'Sign-in attempts by realm and result (success, failed, blocked)',
      labelNames: ['realm', 'result'], registers: [registry],
    }),
    helpFeedback: new Counter({
      name: 'sportello_help_feedback_total', help: 'Was-this-helpful votes', labelNames: ['locale', 'helpful'], registers: [registry],
    }),
  }
}

export function registerRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  const durations = new Histogram({
    name: 'sportello_http_request_duration_seconds',
    help: 'HTTP request durations by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics.registry],
  })
  app.addHook('onResponse', (req, reply, done) => {
    durations.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
    done()
  })
}
