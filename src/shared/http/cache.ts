import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Sets a weak ETag built from what the response depends on and answers 304
 * when the client already has it. Returns true when the 304 was sent.
 * `visibility` private: the page holds per-visitor parts (a form token), so
 * only the browser may keep it and must revalidate every time.
 */
export function answerIfFresh(
  req: FastifyRequest,
  reply: FastifyReply,
  dependsOn: (string | number)[],
  visibility: 'private' | 'public',
): boolean {
  const etag = `W/"${createHash('sha1').update(dependsOn.join('\u0000')).digest('base64url')}"`
  void reply.header('etag', etag)
  void reply.header('cache-control', visibility === 'private' ? 'private, no-cache' : 'public, max-age=60, must-revalidate')
  void reply.header('vary', 'Cookie, Accept-Language')
  const match = req.headers['if-none-match']
  if (match && match.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
    void reply.status(304).send()
    return true
  }
  return false
}
