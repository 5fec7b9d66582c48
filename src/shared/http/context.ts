import type { Actor } from '../actor.js'
import type { AppError } from '../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The language this request is answered in: the URL's locale, else ?locale= on the API, else Accept-Language. */
    locale: string
    actor: Actor
  }
  interface FastifyInstance {
    /** https: PUBLIC_URL is https, so cookies are Secure (and __Host- where that applies). */
    site: { brandName: string; stylesheet: string; https: boolean; publicUrl: string }
  }
  interface FastifyContextConfig {
    /** For form routes: shows the form again with the error instead of the generic error page. */
    /** May answer null to leave the error to the generic page (a 403 or 404 that the form cannot show). */
    formError?: (req: FastifyRequest, reply: FastifyReply, error: AppError) => FastifyReply | null | Promise<FastifyReply | null>
  }
}

export {}
