/**
 * Every error a user can meet, with its HTTP status and the parameters its
 * message needs. The code is stable (API clients and tests rely on it); the
 * message comes from the i18n catalogue under `errors.<CODE>`, and may use
 * exactly the declared `{params}` (src/shared/errors.test.ts checks each language).
 */
export const errorCodes = {
  SSO_CLIENT_NOT_FOUND: { status: 404 },
  SSO_REDIRECT_URI_INVALID: { status: 400, params: ['uri'] },
  SSO_INTERACTION_EXPIRED: { status: 400 },
  INVALID_INPUT: { status: 400, params: ['field', 'reason'] },
  INVALID_ENCODING: { status: 400 },
  INVALID_TEXT: { status: 400, params: ['field'] },
  ADDRESS_TOO_LONG: { status: 414 },
  QUERY_TOO_LONG: { status: 400, params: ['limit'] },
  QUERY_EMPTY: { status: 400 },
  TOKEN_INVALID: { status: 400 },
  NOT_SIGNED_IN: { status: 401 },
  SIGN_IN_FAILED: { status: 401 },
  SECOND_FACTOR_WRONG: { status: 401 },
  SECOND_STEP_EXPIRED: { status: 400 },
  FACTOR_CODE_WRONG: { status: 422 },
  LAST_FACTOR_REQUIRED: { status: 409 },
  PASSKEY_NOT_ADDED: { status: 422 },
  PASSKEY_SIGN_IN_FAILED: { status: 401 },
  NO_SECOND_FACTOR: { status: 409 },
  SECOND_FACTOR_UNAVAILABLE: { status: 422 },
  ACCOUNT_BLOCKED: { status: 403 },
  CSRF_INVALID: { status: 403 },
  FORBIDDEN_SCOPE: { status: 403 },
  NOT_FOUND: { status: 404 },
  LOCALE_NOT_FOUND: { status: 404 },
  CATEGORY_NOT_FOUND: { status: 404 },
  ARTICLE_NOT_FOUND: { status: 404 },
  BRANCH_NOT_FOUND: { status: 404 },
  METHOD_NOT_ALLOWED: { status: 405 },
  CONFLICT: { status: 409 },
  PRECONDITION_FAILED: { status: 412 },
  PROVISIONING_TOKEN_INVALID: { status: 401 },
  PROVISIONING_COMPANY_UNKNOWN: { status: 400 },
  ACCOUNT_NOT_BLOCKED: { status: 409 },
  ACCOUNT_NOT_RESETTABLE: { status: 409 },
  ACCOUNT_DEACTIVATED: { status: 409 },
  TICKET_CLOSED: { status: 409 },
  USER_ID_TAKEN: { status: 409 },
  EMAIL_IN_USE: { status: 409 },
  COMPANY_NUMBER_TAKEN: { status: 409 },
  EMAIL_UNCHANGED: { status: 422 },
  NO_EMAIL: { status: 409 },
  COMPANY_NOT_FOUND: { status: 422 },
  PAYLOAD_TOO_LARGE: { status: 413 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415 },
  RULE_BROKEN: { status: 422 },
  URGENT_AFTER_APPROVAL: { status: 422 },
  POLICY_ORDER: { status: 422 },
  IDENTITY_CHECK_REQUIRED: { status: 422 },
  PASSWORDS_DIFFER: { status: 422 },
  CURRENT_PASSWORD_WRONG: { status: 422 },
  PASSWORD_TOO_SHORT: { status: 422, params: ['min'] },
  PASSWORD_TOO_LONG: { status: 422, params: ['max'] },
  PASSWORD_TOO_COMMON: { status: 422 },
  RATE_LIMITED: { status: 429 },
  INTERNAL: { status: 500 },
  NOT_READY: { status: 503 },
  ATTACHMENT_TOO_MANY: { status: 413, params: ['max'] },
  ATTACHMENT_TOO_LARGE: { status: 413, params: ['name', 'max'] },
  ATTACHMENT_TYPE: { status: 415, params: ['name'] },
  SLA_HOURS_RANGE: { status: 422, params: ['max'] },
  SLA_RESOLUTION_BEFORE_RESPONSE: { status: 422 },
  SLA_URGENT_SLOWER: { status: 422 },
  BUSINESS_HOURS_NONE: { status: 422 },
  BUSINESS_HOURS_ORDER: { status: 422 },
  TIME_ZONE_UNKNOWN: { status: 422, params: ['timeZone'] },
} as const satisfies Record<string, { status: number; params?: readonly string[] }>

export type ErrorCode = keyof typeof errorCodes

/** The names of the parameters a code's message needs; for a union of codes, those of every member. */
export type ErrorParamName<C extends ErrorCode> = C extends ErrorCode
  ? (typeof errorCodes)[C] extends { params: readonly (infer P extends string)[] } ? P : never
  : never

/** The codes whose message needs no parameter. */
export type PlainErrorCode = { [C in ErrorCode]: [ErrorParamName<C>] extends [never] ? C : never }[ErrorCode]

export type ErrorParams<C extends ErrorCode> = Record<ErrorParamName<C>, string | number>

/** What an error carries besides its message: the cause (logged, never shown) and a Retry-After in seconds. */
export interface AppErrorOptions extends ErrorOptions {
  retryAfter?: number
}

/** A code with parameters takes exactly those, then options; a code without takes only options. */
export type AppErrorArgs<C extends ErrorCode> = [ErrorParamName<C>] extends [never]
  ? [options?: AppErrorOptions]
  : [params: ErrorParams<C>, options?: AppErrorOptions]

function hasParams(code: ErrorCode): boolean {
  return 'params' in errorCodes[code]
}

export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  readonly status: number
  /** Values interpolated into the translated message, e.g. { field: 'q', reason: '…' }. */
  readonly params: Readonly<Record<string, string | number>>
  /** Seconds the client should wait before trying again (the Retry-After header), if known. */
  readonly retryAfter: number | undefined

  constructor(readonly code: C, ...args: AppErrorArgs<C>) {
    const [params, options] = (hasParams(code) ? args : [{}, args[0]]) as [Record<string, string | number> | undefined, AppErrorOptions | undefined]
    super(code, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.status = errorCodes[code].status
    this.params = params ?? {}
    this.retryAfter = options?.retryAfter
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError
}
