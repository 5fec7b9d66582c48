import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import { randomUUID } from 'node:crypto'
import { parse as parseQuery } from 'node:querystring'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import helmet from 'helmet'

function csrfCookieOptions(https: boolean) {
  return { path: '/', sameSite: 'lax', httpOnly: true, secure: https } as const
}

export function csrfCookieName(https: boolean): string {
  return https ? '__Host-sp_csrf' : 'sp_csrf'
}

/**
 * A percent-encoding that is not UTF-8 becomes U+FFFD, which the request guard refuses with the
 * field's name (the default parser kept such values as raw `%FF` text, which then reached the database).
 */
function decodeFormComponent(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return '\uFFFD'
  }
}

function parseForm(body: string): Record<string, string | string[]> {
  return parseQuery(body, '&', '=', { decodeURIComponent: decodeFormComponent, maxKeys: 1000 }) as Record<string, string | string[]>
}

/**
 * Security headers (strict CSP: no inline script or style, no framing),
 * signed cookies and CSRF tokens for every form.
 */
export async function registerSecurity(app: FastifyInstance, options: { cookieSecret: string; https: boolean }): Promise<void> {
  // helmet's middleware is built once here and applied to every response.
  // (@fastify/helmet rebuilds it on every request, which halved throughput.)
  const applySecurityHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        objectSrc: ["'none'"],
        ...(options.https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: options.https ? { maxAge: 31536000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
    xFrameOptions: { action: 'deny' },
    // Headers for browsers that no longer exist (IE8's X-Download-Options, the removed XSS
    // auditor) or that modern browsers apply by default: each header costs every response time.
    xDownloadOptions: false,
    xXssProtection: false,
    xDnsPrefetchControl: false,
    originAgentCluster: false,
  })
  app.addHook('onRequest', (req, reply, done) => {
    applySecurityHeaders(req.raw, reply.raw, (error?: unknown) => {
      done(error instanceof Error ? error : undefined)
    })
  })
  await app.register(cookie, { secret: options.cookieSecret })
  await app.register(formbody, { bodyLimit: 64 * 1024, parser: parseForm })
  // The form-token secret lives in its own cookie. Over HTTPS it is a __Host- cookie, which no
  // subdomain can set or overwrite, so it needs no signature (one HMAC less on every page).
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: csrfCookieName(options.https),
    cookieOpts: { ...csrfCookieOptions(options.https), signed: false },
  })
}

/**
 * Whether a state-changing request comes from this site's own pages, read from what the browser
 * itself states (Fetch Metadata `Sec-Fetch-Site`, else `Origin`) rather than from a token in the
 * page, so that the page can be the same for every visitor and cached. A request that carries
 * neither header comes from a plain client, not from a browser that could be tricked into it:
 * every browser that lacks Fetch Metadata sends Origin on a cross-site POST.
 */
export function isSameOriginRequest(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site']
  if (typeof site === 'string') return site === 'same-origin' || site === 'none'
  const origin = req.headers.origin
  if (typeof origin !== 'string') return true
  return origin === new URL(req.server.site.publicUrl).origin
}

/**
 * The CSRF token for a form on this page. A first visit gets its secret from Node's
 * CSPRNG through randomUUID's entropy pool (244 random bits): @fastify/csrf would call
 * randomBytes for it, a system call that cost ~9 µs per page view, a quarter of a
 * help page's time. Everything else is the plugin's own.
 */
export function issueCsrfToken(req: FastifyRequest, reply: FastifyReply): string {
  const name = csrfCookieName(req.server.site.https)
  // A request refused before the cookie parser ran (bad URL encoding) still gets its error page's form.
  // (The type says cookies always exist; on such a request they do not.)
  if ((req.cookies as Record<string, string> | null | undefined) == null) req.cookies = {}
  if (!req.cookies[name]) {
    const secret = `${randomUUID()}${randomUUID()}`.replaceAll('-', '')
    req.cookies[name] = secret
    void reply.setCookie(name, secret, csrfCookieOptions(req.server.site.https))
  }
  return reply.generateCsrf()
}
