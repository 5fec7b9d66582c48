import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, errorCodes, isAppError, type ErrorParams, type PlainErrorCode } from '../errors.js'
import { t } from '../i18n/index.js'
import { isGuardRefusal } from './guard.js'
import { sqlState } from '../../db/errors.js'
import { Page } from '../layout/Page.js'
import { pageContext, sendPage } from './render.js'

interface ValidationIssue {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
}

/**
 * What a refusal by the framework becomes: a code whose message needs no parameter, or INVALID_INPUT
 * about a field (a name under `errors.field.` in the catalogue), whose reason is "it has the wrong format".
 */
type Refusal = PlainErrorCode | { field: string }

const badRequest: Refusal = { field: 'request' }

/** Fastify's own error codes that are the client's fault, mapped to ours. */
const frameworkCodes: Record<string, Refusal> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { field: 'body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { field: 'body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { field: 'body' },
  FST_ERR_BAD_URL: 'INVALID_ENCODING',
  FST_ERR_MAX_PARAM_LENGTH: 'ADDRESS_TOO_LONG',
  FST_ERR_ASYNC_CONSTRAINT: badRequest,
  FST_CSRF_INVALID_TOKEN: 'CSRF_INVALID',
  FST_CSRF_MISSING_SECRET: 'CSRF_INVALID',
}

/**
 * The multipart reader (busboy) throws plain errors for a body that is cut off or has no parts: the
 * client's fault, so a 400 rather than a 500.
 */
const brokenMultipart = /^(?:Unexpected end of (?:multipart data|form)|Multipart: Boundary not found|Part terminated early|Malformed part header)/

const statusCodes: Record<number, Refusal> = {
  400: badRequest,
  401: 'NOT_SIGNED_IN',
  403: 'FORBIDDEN_SCOPE',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'ADDRESS_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
}

/** A field's name for a message: its label under `errors.field.` if there is one (body, querystring…), else as is. */
function fieldLabel(locale: string, name: string): string {
  const key = `errors.field.${name}`
  const label = t(locale, key)
  return label === key ? name : label
}

function refuse(refusal: Refusal, locale: string): AppError {
  if (typeof refusal === 'string') return new AppError(refusal)
  return new AppError('INVALID_INPUT', { field: fieldLabel(locale, refusal.field), reason: t(locale, 'validation.invalid') })
}

function validationParams(issues: ValidationIssue[], dataVar: string, locale: string): ErrorParams<'INVALID_INPUT'> {
  const issue = issues[0]
  if (!issue) return { field: fieldLabel(locale, dataVar), reason: t(locale, 'validation.invalid') }
  const missing = issue.params.missingProperty
  const field = typeof missing === 'string' ? missing : issue.instancePath.replace(/^\//, '').replaceAll('/', '.') || fieldLabel(locale, dataVar)
  const limit = issue.params.limit
  const reasonKey = `validation.${issue.keyword}`
  const reason = t(locale, reasonKey, { limit: typeof limit === 'number' ? limit : '' })
  return { field, reason: reason === reasonKey ? t(locale, 'validation.invalid') : reason }
}

/** Turns anything thrown into an AppError; unknown errors become INTERNAL (their details stay in the log). */
export function toAppError(error: unknown, locale: string): AppError {
  if (isAppError(error)) return error
  const fe = error as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string }
  if (Array.isArray(fe.validation)) {
    return new AppError('INVALID_INPUT', validationParams(fe.validation, fe.validationContext ?? 'input', locale))
  }
  const state = sqlState(error)
  if (state) {
    // A safety net behind the use cases' own answers: the database refused the client's data.
    if (state === '23505') return new AppError('CONFLICT')
    if (state === '22021' || state === '22P05') return new AppError('INVALID_ENCODING')
    if (/^22/.test(state)) return refuse(badRequest, locale)
  }
  const mapped = fe.code ? frameworkCodes[fe.code] : undefined
  if (mapped) return refuse(mapped, locale)
  if (fe.statusCode === undefined && typeof fe.message === 'string' && brokenMultipart.test(fe.message)) return refuse({ field: 'form' }, locale)
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500
  if (status >= 400 && status < 500) return refuse(statusCodes[status] ?? badRequest, locale)
  return new AppError('INTERNAL')
}

export function wantsJson(req: FastifyRequest): boolean {
  if (req.url.startsWith('/api/') || /^\/(healthz|readyz|metrics)(\?|$)/.test(req.url)) return true
  const accept = req.headers.accept ?? ''
  return accept.includes('application/json') && !accept.includes('text/html')
}

function ErrorPage({ req, error }: { req: FastifyRequest; error: AppError }) {
  const ctx = pageContext(req)
  const { t: tr, locale } = ctx
  const notFound = error.status === 404
  const title = tr(`errors.title.${notFound ? 'notFound' : error.status >= 500 ? 'server' : 'request'}`)
  return (
    <Page ctx={ctx} title={title} headerSearch={false}>
      <h1>{title}</h1>
      <p class="error-message" role="alert">{tr(`errors.${error.code}`, error.params)}</p>
      {notFound ? (
        <section aria-labelledby="error-search">
          <h2 id="error-search">{tr('errors.searchHelp')}</h2>
          <form class="search-form" role="search" method="get" action={`/${locale}/help/search`}>
            <label for="error-q">{tr('help.search.label')}</label>
            <input id="error-q" type="search" name="q" maxLength={200} />
            <button type="submit">{tr('help.search.submit')}</button>
          </form>
        </section>
      ) : null}
      <p><a href={`/${locale}/help`}>{tr('errors.backToHelp')}</a></p>
    </Page>
  )
}

export function sendError(req: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const message = t(req.locale, `errors.${error.code}`, error.params)
  // An error answer is never stored by a cache, whatever the handler had set before it failed.
  void reply.header('cache-control', 'no-store')
  reply.removeHeader('etag')
  if (error.retryAfter !== undefined) {
    void reply.header('retry-after', String(error.retryAfter))
  }
  if (wantsJson(req)) {
    return reply.status(error.status).send({ error: { code: error.code, message } })
  }
  return sendPage(reply, <ErrorPage req={req} error={error} />, error.status)
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(async (error, req, reply) => {
    const appError = toAppError(error, req.locale)
    if (appError.status >= 500) req.log.error({ err: error }, 'request failed')
    else req.log.info({ code: appError.code }, 'request refused')
    const formError = req.routeOptions.config.formError
    // A guard refusal's values are not text: the form is not shown again with them.
    if (formError && appError.status < 500 && !wantsJson(req) && !isGuardRefusal(appError)) {
      let handled = false
      try {
        // A reply is thenable: awaiting it waits for the page to be sent. null means "not handled here".
        const answered: unknown = await formError(req, reply, appError)
        handled = answered !== null
      } catch (renderError) {
        // The form's page itself may be out of reach (a 403 or 404 while re-rendering it): that answer stands.
        if (isAppError(renderError) && renderError.status < 500) return sendError(req, reply, renderError)
        req.log.error({ err: renderError }, 'form error page failed; answering with the plain error page')
      }
      if (handled) return reply
    }
    return sendError(req, reply, appError)
  })
  app.setNotFoundHandler((req, reply) => sendError(req, reply, new AppError('NOT_FOUND')))
}

export { errorCodes }
