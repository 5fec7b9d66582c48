import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AppError, errorCodes, type ErrorCode } from './errors.js'
import { catalogueKeys, catalogueText, locales, t } from './i18n/index.js'

const placeholders = (text: string) => [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort()
const declared = (code: ErrorCode): string[] => {
  const spec: { status: number; params?: readonly string[] } = errorCodes[code]
  return [...(spec.params ?? [])].sort()
}

test('every error code has a message in every language whose placeholders are exactly its declared parameters', () => {
  for (const locale of locales) {
    const keys = new Set(catalogueKeys(locale))
    for (const code of Object.keys(errorCodes) as ErrorCode[]) {
      assert.ok(keys.has(`errors.${code}`), `${locale} has no message for errors.${code}`)
      assert.deepEqual(placeholders(catalogueText(locale, `errors.${code}`) ?? ''), declared(code), `${locale} errors.${code}: placeholders differ from the declared parameters`)
    }
  }
})

test('every error code declares an HTTP error status', () => {
  for (const code of Object.keys(errorCodes) as ErrorCode[]) {
    const status = errorCodes[code].status
    assert.ok(Number.isInteger(status) && status >= 400 && status < 600, `${code} has status ${String(status)}`)
  }
})

test('a message never shows an unfilled {placeholder}, even when a parameter is missing at run time', () => {
  for (const locale of locales) {
    const message = t(locale, 'errors.INVALID_INPUT', {})
    assert.doesNotMatch(message, /[{}]/, `${locale}: ${message}`)
  }
})

test('a code takes exactly the parameters its message needs (the compiler refuses others), and options apart', () => {
  // @ts-expect-error INVALID_INPUT needs field and reason
  const missing = new AppError('INVALID_INPUT')
  // @ts-expect-error PASSWORD_TOO_SHORT needs min, not max
  const wrong = new AppError('PASSWORD_TOO_SHORT', { max: 8 })
  // @ts-expect-error NOT_FOUND's message has no parameter
  const extra = new AppError('NOT_FOUND', { locale: 'xx' })
  assert.equal(missing.status, 400)
  assert.equal(wrong.status, 422)
  assert.equal(extra.status, 404)
  const short = new AppError('PASSWORD_TOO_SHORT', { min: 12 })
  assert.deepEqual({ code: short.code, status: short.status, params: short.params }, { code: 'PASSWORD_TOO_SHORT', status: 422, params: { min: 12 } })
  const limited = new AppError('RATE_LIMITED', { retryAfter: 60 })
  assert.deepEqual({ status: limited.status, params: limited.params, retryAfter: limited.retryAfter }, { status: 429, params: {}, retryAfter: 60 })
  const notReady = new AppError('NOT_READY', { cause: 'database' })
  assert.equal(notReady.cause, 'database')
  assert.equal(t('it', 'errors.PASSWORD_TOO_SHORT', short.params), 'La password è troppo corta: usa almeno 12 caratteri.')
})
