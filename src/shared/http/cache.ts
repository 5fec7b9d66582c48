import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

const cacheControl = {
  // Per-visitor parts (a form token, a name): only the browser may keep it, revalidating each time.
  private: 'private, no-cache',
  // The same bytes for everyone: shared caches may keep and serve it, a stale copy while they refresh.
  public: 'public, max-age=60, stale-while-revalidate=600',
} as const

/**
 * ETags already computed, by what they depend on: a page asked again (most guest requests) costs a
 * lookup instead of a SHA-1 (about 2 % of a guest article request's CPU). Emptied when full, since
 * every entry of an old content revision is dead weight anyway. Only short keys are kept, so made-up
 * query strings cannot fill memory (at most about 1 MB).
 */
const etags = new Map<string, string>()
const ETAGS_MAX = 2_000
const ETAG_KEY_MAX = 500

function etagOf(dependsOn: (string | number)[]): string {
  const key = dependsOn.join('\u0000')
  let etag = etags.get(key)
  if (etag === undefined) {
    etag = `W/"${createHash('sha1').update(key).digest('base64url')}"`
    if (key.length <= ETAG_KEY_MAX) {
      if (etags.size >= ETAGS_MAX) etags.clear()
      etags.set(key, etag)
    }
  }
  return etag
}

/**
 * Sets a weak ETag built from what the response depends on and answers 304
 * when the client already has it. Returns true when the 304 was sent.
 * `Vary: Cookie` keeps a browser from showing a page cached while signed out
 * once its person has signed in (the public copy is the guests' one).
 */
export function answerIfFresh(
  req: FastifyRequest,
  reply: FastifyReply,
  dependsOn: (string | number)[],
  visibility: 'private' | 'public',
): boolean {
  const etag = etagOf(dependsOn)
  void reply.header('etag', etag)
  void reply.header('cache-control', cacheControl[visibility])
  void reply.header('vary', 'Cookie, Accept-Language')
  const match = req.headers['if-none-match']
  if (match && match.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
    void reply.status(304).send()
    return true
  }
  return false
}
