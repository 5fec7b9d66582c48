import type { FastifyBaseLogger } from 'fastify'
import { Gauge, type Registry } from 'prom-client'
import { systemActor } from '../../shared/actor.js'
import { startSchedule } from '../../shared/schedule.js'
import type { DeskService } from './agent.service.js'

/**
 * Closes solved tickets nobody answered for 7 days, inside the server every `minutes`. Several
 * processes may all run it: rows being closed elsewhere are skipped.
 */
export function startAutoCloseSchedule(desk: DeskService, options: { minutes: number; log: FastifyBaseLogger }): () => void {
  return startSchedule({
    name: 'closing solved tickets', minutes: options.minutes, log: options.log,
    run: async () => {
      const report = await desk.closeSolved(systemActor('support-schedule'))
      if (report.closed > 0) options.log.info({ closed: report.closed }, 'solved tickets closed')
    },
  })
}

/** Tickets by market and state, and open tickets past a due time, read from the database when Prometheus scrapes. */
export function registerTicketGauges(registry: Registry, desk: DeskService): void {
  let pending: ReturnType<DeskService['counts']> | undefined
  // One query per scrape serves both gauges.
  const counts = () => {
    pending ??= desk.counts().finally(() => { setTimeout(() => { pending = undefined }, 0) })
    return pending
  }
  new Gauge({
    name: 'sportello_tickets', help: 'Support tickets by market and state', labelNames: ['market', 'state'], registers: [registry],
    async collect() {
      this.reset()
      for (const c of await counts()) this.set({ market: c.market, state: c.state }, c.n)
    },
  })
  new Gauge({
    name: 'sportello_tickets_sla_breached', help: 'Open support tickets past their first-response or resolution due time', labelNames: ['market', 'kind'], registers: [registry],
    async collect() {
      this.reset()
      const byMarket = new Map<string, { first_response: number; resolution: number }>()
      for (const c of await counts()) {
        const m = byMarket.get(c.market) ?? { first_response: 0, resolution: 0 }
        m.first_response += c.firstResponseBreached
        m.resolution += c.resolutionBreached
        byMarket.set(c.market, m)
      }
      for (const [market, m] of byMarket) {
        this.set({ market, kind: 'first_response' }, m.first_response)
        this.set({ market, kind: 'resolution' }, m.resolution)
      }
    },
  })
}
