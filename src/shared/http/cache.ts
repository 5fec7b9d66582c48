import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

const cacheControl = {
  // Per-visitor parts (a form token, a name): only the browser may keep it, revalidating each time.
  private: 'private, no-cache',
  // The same bytes for everyone: shared caches may keep and serve it, a stale copy while they refresh.
  public: 'public, max-age=60, stale-while-revalidate=600',
} as const

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
  const etag = `W/"${createHash('sha1').update(dependsOn.join('\u0000')).digest('base64url')}"`
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
