import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import { t } from '../i18n/index.js'

/**
 * The request guard: before any handler, schema or CSRF check reads a request, text that is not text
 * is refused. PostgreSQL cannot store a NUL character, so a NUL that reached a query ended as a 500;
 * a string that is not well-formed UTF-16 (a lone surrogate) or holds U+FFFD (what the body parsers
 * make of bytes that are not UTF-8) is broken input, not something a person typed.
 */

/** Deeper JSON than this is no form or API body of ours. */
const MAX_DEPTH = 32

/** A NUL, a replacement character, or a lone surrogate (in a `u` regex, \p{Cs} matches only unpaired halves). */
const notText = /[\u0000\uFFFD]|\p{Cs}/u

/** Text a person could have sent: no NUL, well-formed, no replacement character from a failed decode. */
export function isCleanText(value: string): boolean {
  return !notText.test(value)
}

/** A path and query whose percent-encoding decodes to clean text (a NUL or invalid UTF-8 does not). */
export function urlProblem(url: string): AppError<'INVALID_ENCODING'> | undefined {
  if (!url.includes('%')) return isCleanText(url) ? undefined : new AppError('INVALID_ENCODING')
  try {
    return isCleanText(decodeURIComponent(url)) ? undefined : new AppError('INVALID_ENCODING')
  } catch {
    return new AppError('INVALID_ENCODING')
  }
}

/** A part of a multipart body as @fastify/multipart attaches it (attachFieldsToBody). */
interface MultipartPart { type: 'file' | 'field'; fieldname: string; filename?: string; value?: unknown }

function isMultipartPart(value: object): value is MultipartPart {
  return 'fieldname' in value && 'type' in value && (value.type === 'file' || value.type === 'field')
}

/** The field a message may name: a plain form field name as is, anything stranger as "the data sent". */
function fieldName(locale: string, path: string | undefined): string {
  return path && /^[\w.[\]-]{1,60}$/.test(path) ? path : t(locale, 'errors.field.body')
}

function textError(locale: string, path: string | undefined): AppError<'INVALID_TEXT'> {
  return new AppError('INVALID_TEXT', { field: fieldName(locale, path) })
}

/**
 * Walks a parsed body (form, JSON or multipart fields) without recursion and answers the first
 * problem: a key or string that is not clean text, a multipart field or file name that is not, or
 * nesting deeper than any of our bodies.
 */
export function bodyProblem(body: unknown, locale: string): AppError | undefined {
  const stack: { value: unknown; path: string | undefined; depth: number }[] = [{ value: body, path: undefined, depth: 0 }]
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, path, depth } = item
    if (typeof value === 'string') {
      if (!isCleanText(value)) return textError(locale, path)
      continue
    }
    if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) continue
    if (depth >= MAX_DEPTH) return new AppError('INVALID_INPUT', { field: t(locale, 'errors.field.body'), reason: t(locale, 'validation.depth') })
    if (isMultipartPart(value)) {
      if (!isCleanText(value.fieldname)) return textError(locale, undefined)
      if (value.filename !== undefined && !isCleanText(value.filename)) return textError(locale, value.fieldname)
      if (value.type === 'field' && typeof value.value === 'string' && !isCleanText(value.value)) return textError(locale, value.fieldname)
      continue
    }
    for (const [key, child] of Object.entries(value)) {
      if (!isCleanText(key)) return textError(locale, undefined)
      stack.push({ value: child, path: Array.isArray(value) ? path : key, depth: depth + 1 })
    }
  }
  return undefined
}

/** Why a request was refused by the guard; its values are not safe to show back in a form. */
export function isGuardRefusal(error: AppError): boolean {
  return error.code === 'INVALID_ENCODING' || error.code === 'INVALID_TEXT'
}

/**
 * Registers the guard on the root instance, so it runs before every route's own hooks: the URL on
 * request (before the session lookup touches the database), the parsed body before validation
 * (before the CSRF check and multipart flattening, which are route hooks and run after these), and
 * an error answer is never stored by a cache (no-store, no ETag), whatever the handler had set.
 */
export function registerRequestGuard(app: FastifyInstance): void {
  app.addHook('onRequest', (req, _reply, done) => {
    done(urlProblem(req.url))
  })
  const checkBody = (req: FastifyRequest, _reply: unknown, done: (error?: AppError) => void) => {
    done(req.body === undefined ? undefined : bodyProblem(req.body, req.locale))
  }
  app.addHook('preValidation', checkBody)
  // Again once route hooks ran: a plugin's own hook (the multipart reader) may attach the body later.
  app.addHook('preHandler', checkBody)
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (reply.statusCode >= 400) {
      void reply.header('cache-control', 'no-store')
      reply.removeHeader('etag')
    }
    done(null, payload)
  })
}
