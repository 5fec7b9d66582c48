import type { FastifyBaseLogger } from 'fastify'

/**
 * Runs a background job inside the server every `minutes` (the first run a minute after start),
 * never two runs of it at once in this process; a failure is logged and the next run tries again.
 * `minutes` 0 schedules nothing. Returns the function that stops it.
 */
export function startSchedule(job: { name: string; minutes: number; log: FastifyBaseLogger; run: () => Promise<void> }): () => void {
  if (job.minutes === 0) return () => undefined
  let running = false
  const run = () => {
    if (running) return
    running = true
    job.run()
      .catch((error: unknown) => { job.log.error({ err: error, job: job.name }, `${job.name} failed`) })
      .finally(() => { running = false })
  }
  const first = setTimeout(run, 60_000)
  const every = setInterval(run, job.minutes * 60_000)
  first.unref()
  every.unref()
  return () => {
    clearTimeout(first)
    clearInterval(every)
  }
}
