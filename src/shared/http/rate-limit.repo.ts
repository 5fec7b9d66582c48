import { lt, sql } from 'drizzle-orm'
import type { Executor } from '../../db/client.js'
import { rows } from '../../db/query.js'
import { rateLimitHits } from '../../db/schema/index.js'

export interface Hit {
  /** Requests in the current window, this one included. */
  hits: number
  /** Milliseconds until the window ends. */
  ttlMs: number
}

/** The counters of every rate limit, in the database all processes share. */
export function createRateLimitRepo(db: Executor) {
  return {
    /** Counts one request for `key`; a window that has ended starts again at 1. One statement, so concurrent processes never lose a count. */
    async hit(key: string, windowMs: number): Promise<Hit> {
      const [row] = await rows<{ hits: number; ttl_ms: number }>(db, sql`
        insert into rate_limit_hits as r (key, hits, resets_at)
        values (${key}, 1, now() + ${windowMs} * interval '1 millisecond')
        on conflict (key) do update set
          hits = case when r.resets_at <= now() then 1 else r.hits + 1 end,
          resets_at = case when r.resets_at <= now() then excluded.resets_at else r.resets_at end
        returning hits, greatest(0, ceil(extract(epoch from (resets_at - now())) * 1000))::int as ttl_ms`)
      return { hits: row?.hits ?? 1, ttlMs: row?.ttl_ms ?? windowMs }
    },

    /** Reads `key` without counting. */
    async peek(key: string): Promise<Hit> {
      const [row] = await rows<{ hits: number; ttl_ms: number }>(db, sql`
        select hits, greatest(0, ceil(extract(epoch from (resets_at - now())) * 1000))::int as ttl_ms
        from rate_limit_hits where key = ${key} and resets_at > now()`)
      return { hits: row?.hits ?? 0, ttlMs: row?.ttl_ms ?? 0 }
    },

    /** Forgets windows that ended; answers how many. */
    async purgeEnded(): Promise<number> {
      const deleted = await db.delete(rateLimitHits).where(lt(rateLimitHits.resetsAt, sql`now()`)).returning({ key: rateLimitHits.key })
      return deleted.length
    },
  }
}

export type RateLimitRepo = ReturnType<typeof createRateLimitRepo>
