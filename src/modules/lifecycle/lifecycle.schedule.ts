import type { FastifyBaseLogger } from 'fastify'
import { systemActor } from '../../shared/actor.js'
import type { LifecycleService } from './lifecycle.service.js'

/**
 * Runs the sweep inside the server every `minutes` (first one a minute after start). Several
 * processes may all schedule it: the advisory lock lets one sweep and the others skip.
 */
export function startSweepSchedule(lifecycle: LifecycleService, options: { minutes: number; publicUrl: string; log: FastifyBaseLogger }): () => void {
  if (options.minutes === 0) return () => undefined
  let running = false
  const run = () => {
    if (running) return
    running = true
    lifecycle.sweep(systemActor('lifecycle-schedule'), {}, { publicUrl: options.publicUrl })
      .then((report) => { if (report.ran) options.log.info({ sweep: report.realms }, 'lifecycle sweep done') })
      .catch((error: unknown) => { options.log.error({ err: error }, 'lifecycle sweep failed') })
      .finally(() => { running = false })
  }
  const first = setTimeout(run, 60_000)
  const every = setInterval(run, options.minutes * 60_000)
  first.unref()
  every.unref()
  return () => {
    clearTimeout(first)
    clearInterval(every)
  }
}
