/**
 * Every error a user can meet, with its HTTP status. The code is stable (API
 * clients and tests rely on it); the message comes from the i18n catalogue
 * under `errors.<CODE>`.
 */
export const errorCodes = {
  SSO_CLIENT_NOT_FOUND: 404,
  SSO_REDIRECT_URI_INVALID: 400,
  SSO_INTERACTION_EXPIRED: 400,
  INVALID_INPUT: 400,
  INVALID_ENCODING: 400,
  QUERY_TOO_LONG: 400,
  QUERY_EMPTY: 400,
  TOKEN_INVALID: 400,
  NOT_SIGNED_IN: 401,
  SIGN_IN_FAILED: 401,
  ACCOUNT_BLOCKED: 403,
  CSRF_INVALID: 403,
  FORBIDDEN_SCOPE: 403,
  NOT_FOUND: 404,
  LOCALE_NOT_FOUND: 404,
  CATEGORY_NOT_FOUND: 404,
  ARTICLE_NOT_FOUND: 404,
  BRANCH_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  ACCOUNT_NOT_BLOCKED: 409,
  ACCOUNT_NOT_RESETTABLE: 409,
  ACCOUNT_DEACTIVATED: 409,
  TICKET_CLOSED: 409,
  USER_ID_TAKEN: 409,
  EMAIL_IN_USE: 409,
  COMPANY_NUMBER_TAKEN: 409,
  EMAIL_UNCHANGED: 422,
  NO_EMAIL: 409,
  COMPANY_NOT_FOUND: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RULE_BROKEN: 422,
  POLICY_ORDER: 422,
  IDENTITY_CHECK_REQUIRED: 422,
  PASSWORDS_DIFFER: 422,
  CURRENT_PASSWORD_WRONG: 422,
  PASSWORD_TOO_SHORT: 422,
  PASSWORD_TOO_LONG: 422,
  PASSWORD_TOO_COMMON: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NOT_READY: 503,
  ATTACHMENT_TOO_MANY: 413,
  ATTACHMENT_TOO_LARGE: 413,
  ATTACHMENT_TYPE: 415,
  SLA_HOURS_RANGE: 422,
  SLA_RESOLUTION_BEFORE_RESPONSE: 422,
  SLA_URGENT_SLOWER: 422,
  BUSINESS_HOURS_NONE: 422,
  BUSINESS_HOURS_ORDER: 422,
  TIME_ZONE_UNKNOWN: 422,
} as const

export type ErrorCode = keyof typeof errorCodes

export class AppError extends Error {
  readonly status: number

  constructor(
    readonly code: ErrorCode,
    /** Values interpolated into the translated message, e.g. { field: 'q', limit: 200 }. */
    readonly params: Record<string, string | number> = {},
  ) {
    super(code)
    this.name = 'AppError'
    this.status = errorCodes[code]
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError
}
