import type { FastifyBaseLogger } from 'fastify'
import type { SsoService } from './sso.service.js'

/**
 * Delivers queued back-channel logouts every `seconds` (an app should learn of a sign-out within
 * seconds, so not on the lifecycle's minutes), never two runs at once in this process; several
 * processes share the queue (SKIP LOCKED). Delivered logouts are forgotten after a day. Returns the
 * function that stops it.
 */
export function startBackchannelLogoutSchedule(sso: SsoService, options: { publicUrl: string; log: FastifyBaseLogger; seconds?: number }): () => void {
  let running = false
  let runs = 0
  const run = () => {
    if (running) return
    running = true
    runs++
    const work = async () => {
      const { delivered, failed } = await sso.deliverBackchannelLogouts(options.publicUrl)
      if (delivered + failed > 0) options.log.info({ delivered, failed }, 'back-channel logouts')
      if (runs % 720 === 0) await sso.purgeDeliveredLogouts()
    }
    work()
      .catch((error: unknown) => { options.log.error({ err: error }, 'back-channel logout delivery failed') })
      .finally(() => { running = false })
  }
  const every = setInterval(run, (options.seconds ?? 5) * 1000)
  every.unref()
  return () => { clearInterval(every) }
}
