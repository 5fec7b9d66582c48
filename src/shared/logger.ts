import type { FastifyServerOptions } from 'fastify'
import type { LogLevel } from '../config.js'

/** Path segments that carry secrets (verification and reset tokens) never reach the log. */
export function redactUrl(url: string): string {
  return url
    .replace(/\/(verify|reset|invite|tickets\/[^/]+\/access)\/[^/?#]+/g, '/$1/[redacted]')
    .replace(/([?&](?:token|code|state|id_token_hint|login_hint)=)[^&#]*/g, '$1[redacted]')
}

export function loggerOptions(level: LogLevel): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    redact: { paths: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'], remove: true },
    serializers: {
      req: (req: { method: string; url: string; id: string; ip?: string }) => ({
        method: req.method, url: redactUrl(req.url), id: req.id,
      }),
    },
  }
}
