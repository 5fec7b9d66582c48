import type { FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import { AppError } from '../../shared/errors.js'
import { isLocale } from '../../shared/i18n/index.js'
import { SECOND_STEP_MS, SESSION_ABSOLUTE_MS, type RequestContext } from './auth.service.js'

/** HTTP helpers shared by the identity module's route files. */

export const Locale = Type.String({ minLength: 1, maxLength: 20 })
export const LocaleParams = Type.Object({ locale: Locale })
export const Csrf = Type.Optional(Type.String({ maxLength: 200 }))
export const TokenParams = Type.Object({ locale: Locale, token: Type.String({ minLength: 1, maxLength: 200 }) })

export function sessionCookieName(https: boolean): string {
  return https ? '__Host-sp_session' : 'sp_session'
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string): void {
  void reply.setCookie(sessionCookieName(req.server.site.https), token, {
    path: '/', httpOnly: true, sameSite: 'lax', secure: req.server.site.https, maxAge: SESSION_ABSOLUTE_MS / 1000,
  })
}

/** The pending second step of a sign-in, bound to this browser; a few minutes, like the step itself. */
export function secondStepCookieName(https: boolean): string {
  return https ? '__Host-sp_second_step' : 'sp_second_step'
}

export function setSecondStepCookie(req: FastifyRequest, reply: FastifyReply, challenge: string): void {
  void reply.setCookie(secondStepCookieName(req.server.site.https), challenge, {
    path: '/', httpOnly: true, sameSite: 'lax', secure: req.server.site.https, maxAge: SECOND_STEP_MS / 1000,
  })
}

export function clearSecondStepCookie(req: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(secondStepCookieName(req.server.site.https), { path: '/', secure: req.server.site.https })
}

export function requestContext(req: FastifyRequest): RequestContext {
  return { ip: req.ip, userAgent: req.headers['user-agent'], requestId: req.id, publicUrl: req.server.site.publicUrl }
}

export function assertLocale(locale: string): void {
  if (!isLocale(locale)) throw new AppError('LOCALE_NOT_FOUND')
}

/** Only paths of this site: "/x", never "//host" or "https://…". */
export function safeNext(next: string | undefined, locale: string): string {
  return next && /^\/(?!\/)[\w\-./?=&%]*$/.test(next) ? next : `/${locale}/help`
}

/** The first path segment when it is a locale: where a redirect should keep the user's language. */
export function localeOfPath(url: string, fallback: string): string {
  const first = url.split(/[/?#]/)[1] ?? ''
  return isLocale(first) ? first : fallback
}

/**
 * What an account without a verified email may still open: help, the verification pages,
 * sign-in and sign-out, static files and probes. Everything else sends it to /{l}/account/email.
 */
const OPEN_WITHOUT_VERIFIED_EMAIL = /^\/(?:$|\?|assets\/|favicon|healthz|readyz|metrics|api\/v1\/help|(?:realms\/[\w-]+\/)?(?:\.well-known\/|oidc\/(?!interaction\/))|[\w-]+(?:$|[?#]|\/(?:help|verify|logout|login|shop\/login|password|invite|account\/email)(?:$|[/?#])))/

/** A connected app's sign-in waiting for the portal (single sign-on): after verifying, the user goes back to it. */
const SSO_INTERACTION = /^\/(?:realms\/[\w-]+\/)?oidc\/interaction\/[\w-]+$/

export function needsVerifiedEmail(url: string): boolean {
  return !OPEN_WITHOUT_VERIFIED_EMAIL.test(url)
}

/** Where an account without a verified email is sent; a connected app's sign-in continues after it. */
export function verifyEmailPath(url: string, locale: string): string {
  return `/${locale}/account/email${SSO_INTERACTION.test(url) ? `?next=${encodeURIComponent(url)}` : ''}`
}

/** What a session that must enrol a second factor may still open: the enrolment, help, sign-out, static files. */
const OPEN_WHILE_ENROLLING = /^\/(?:assets\/|favicon|healthz|readyz|metrics|[\w-]+\/(?:help|logout|account\/second-factor)(?:$|[/?#]))/

/** Where a session past its grace is sent (null: the page is open to it). */
export function enrolPath(url: string, locale: string): string | null {
  return OPEN_WHILE_ENROLLING.test(url) ? null : `/${locale}/account/second-factor`
}
