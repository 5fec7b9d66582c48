import type { FastifyBaseLogger } from 'fastify'
import { systemActor } from '../../shared/actor.js'
import { startSchedule } from '../../shared/schedule.js'
import type { LifecycleService } from './lifecycle.service.js'

/**
 * Runs the sweep inside the server every `minutes`. Several processes may all schedule it: the
 * advisory lock lets one sweep and the others skip.
 */
export function startSweepSchedule(lifecycle: LifecycleService, options: { minutes: number; publicUrl: string; log: FastifyBaseLogger }): () => void {
  return startSchedule({
    name: 'lifecycle sweep', minutes: options.minutes, log: options.log,
    run: async () => {
      const report = await lifecycle.sweep(systemActor('lifecycle-schedule'), {}, { publicUrl: options.publicUrl })
      if (report.ran) options.log.info({ sweep: report.realms }, 'lifecycle sweep done')
      else options.log.info('lifecycle sweep skipped: another process is sweeping')
    },
  })
}
