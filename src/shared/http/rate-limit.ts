import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { AppError } from '../errors.js'
import { createRateLimitRepo, type Hit, type RateLimitRepo } from './rate-limit.repo.js'

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void

/** Ended windows are deleted now and then by whichever request comes along, never by a timer. */
const PURGE_EVERY = 1000

/**
 * @fastify/rate-limit's store interface over the shared table: a limit counts every process's
 * requests, so N nodes behind a proxy do not give an address N times the limit. (The plugin's own
 * store keeps counters in each process's memory.) `continueExceeding` and `exponentialBackoff` are
 * not used by the portal and not supported here.
 */
function storeClass(repo: RateLimitRepo) {
  let sincePurge = 0
  const answer = (work: Promise<Hit>, callback: Callback) => {
    work.then(({ hits, ttlMs }) => { callback(null, { current: hits, ttl: ttlMs }) }, (error: unknown) => {
      callback(error instanceof Error ? error : new Error(String(error)))
    })
  }
  return class SharedRateLimitStore {
    constructor(_options?: unknown, private readonly prefix = '') {}

    incr(key: string, callback: Callback, timeWindow: number): void {
      if (++sincePurge >= PURGE_EVERY) {
        sincePurge = 0
        repo.purgeEnded().catch(() => undefined)
      }
      answer(repo.hit(`${this.prefix}${key}`, timeWindow), callback)
    }

    read(key: string, callback: Callback): void {
      answer(repo.peek(`${this.prefix}${key}`), callback)
    }

    /** One store per limited route: the same address has a separate count on each. */
    child(routeOptions: RouteOptions): SharedRateLimitStore {
      // The plugin passes the route's limit settings with the route under `routeInfo` (its typings say otherwise).
      const route = (routeOptions as RouteOptions & { routeInfo?: RouteOptions }).routeInfo ?? routeOptions
      const method = Array.isArray(route.method) ? route.method.join(',') : route.method
      return new SharedRateLimitStore(undefined, `${method} ${route.url} `)
    }
  }
}

/**
 * Registers per-route rate limits (a route opts in with `config.rateLimit`) counted in the database,
 * answering RATE_LIMITED in the request's language.
 */
export async function registerRateLimits(app: FastifyInstance): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    store: storeClass(createRateLimitRepo(app.database.db)),
    errorResponseBuilder: () => new AppError('RATE_LIMITED'),
  })
}
