import type { FastifyBaseLogger } from 'fastify'
import { startSchedule } from '../../shared/schedule.js'
import type { AuthService } from './auth.service.js'

/**
 * Reclaims portal sessions that ended by time (idle 30 minutes or 12 hours old) every `minutes`.
 * The session lookup already refuses them; this keeps the table as small as the sessions in use.
 * Registrations not verified within a day go too, freeing their user IDs.
 */
export function startSessionPurgeSchedule(auth: AuthService, options: { minutes: number; log: FastifyBaseLogger }): () => void {
  return startSchedule({
    name: 'session purge', minutes: options.minutes, log: options.log,
    run: async () => {
      const purged = await auth.purgeExpiredSessions()
      if (purged > 0) options.log.info({ purged }, 'expired sessions purged')
      const unverified = await auth.purgeUnverified()
      if (unverified > 0) options.log.info({ unverified }, 'unverified registrations purged')
    },
  })
}
