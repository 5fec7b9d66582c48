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
  const p = sql.placeholder
  // Every limited form post runs this first (each sign-in step, each ticket): built once and
  // prepared, it costs one round trip to PostgreSQL instead of two and no SQL building in Node.
  const hitStatement = db.insert(rateLimitHits)
    .values({ key: sql`${p('key')}`, hits: 1, resetsAt: sql`now() + ${p('windowMs')}::int * interval '1 millisecond'` })
    .onConflictDoUpdate({
      target: rateLimitHits.key,
      set: {
        hits: sql`case when ${rateLimitHits.resetsAt} <= now() then 1 else ${rateLimitHits.hits} + 1 end`,
        resetsAt: sql`case when ${rateLimitHits.resetsAt} <= now() then excluded.resets_at else ${rateLimitHits.resetsAt} end`,
      },
    })
    .returning({ hits: rateLimitHits.hits, ttlMs: sql<number>`greatest(0, ceil(extract(epoch from (${rateLimitHits.resetsAt} - now())) * 1000))::int` })
    .prepare('rate_limit_hit')
  return {
    /** Counts one request for `key`; a window that has ended starts again at 1. One statement, so concurrent processes never lose a count. */
    async hit(key: string, windowMs: number): Promise<Hit> {
      const [row] = await hitStatement.execute({ key, windowMs })
      return { hits: row?.hits ?? 1, ttlMs: row?.ttlMs ?? windowMs }
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
