import assert from 'node:assert/strict'
import { test } from 'node:test'
import { useTestApp } from './helpers.js'

const testApp = useTestApp()

/** The error message of a page (the alert) or of a JSON answer. */
function messageOf(res: { body: string; headers: Record<string, unknown> }): string {
  if (String(res.headers['content-type']).startsWith('application/json')) return (JSON.parse(res.body) as { error: { message: string } }).error.message
  return /role="alert">([^<]*)</.exec(res.body)?.[1] ?? ''
}

const wordOf: Record<string, RegExp> = { en: /address|not valid|page/i, it: /indirizzo|valid|pagina/i, de: /Adresse|ungültig|Seite/i }

test('a long path or a too-long parameter is refused with a 4xx, in the request\'s language, without an unfilled {placeholder}', async () => {
  const { app } = testApp()
  const long = 'x'.repeat(5000)
  for (const locale of ['en', 'it', 'de']) {
    const urls = [
      `/${locale}/admin/users/${long}`,
      `/${locale}/admin/users/${'x'.repeat(501)}`,
      `/${locale}/help/${long}`,
      `/${locale}/help/${long}/${long}`,
      `/${locale}/support/tickets/${long}`,
      `/${locale}/${long}`,
      `/api/v1/help/articles/${long}?locale=${locale}`,
    ]
    for (const url of urls) {
      const res = await app.inject({ url, headers: { 'accept-language': locale } })
      const label = `${url.slice(0, 40)}… answered ${String(res.statusCode)}`
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, label)
      const message = messageOf(res)
      assert.ok(message.length > 0, `${label}: no message`)
      assert.doesNotMatch(res.body, /\{\w+\}/, `${label}: ${message}`)
      if (url.startsWith(`/${locale}/`)) assert.match(message, wordOf[locale] ?? /./, `${label}: not in ${locale}: ${message}`)
    }
  }
})

test('a malformed JSON body is refused with a 400 whose message names what is wrong, without an unfilled {placeholder}', async () => {
  const { app } = testApp()
  for (const payload of ['{', '']) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/support/deflections', headers: { 'content-type': 'application/json', 'accept-language': 'de' }, payload })
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${JSON.stringify(payload)} answered ${String(res.statusCode)}`)
    assert.doesNotMatch(res.body, /\{\w+\}/, res.body)
    assert.match(messageOf(res), /gesendete Daten/, res.body)
  }
})
