import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { test } from 'node:test'
import { errorCodes } from '../errors.js'
import { catalogueKeys, catalogueText, locales, negotiateLocale, t, tn } from './index.js'

test('it, en and de are available, and each content folder has a catalogue', () => {
  for (const locale of ['it', 'en', 'de']) assert.ok(locales.includes(locale), locale)
  for (const folder of readdirSync('content')) assert.ok(locales.includes(folder), `content/${folder} has no UI catalogue`)
})

test('every key exists in every language, with the same placeholders', () => {
  const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',')
  const all = new Set(locales.flatMap((l) => catalogueKeys(l)))
  for (const locale of locales) {
    const keys = new Set(catalogueKeys(locale))
    const missing = [...all].filter((k) => !keys.has(k))
    assert.deepEqual(missing, [], `${locale} is missing keys`)
    for (const key of all) {
      assert.equal(placeholders(catalogueText(locale, key) ?? ''), placeholders(catalogueText('en', key) ?? ''), `${locale} ${key} placeholders`)
      assert.notEqual(t(locale, key).trim(), '', `${locale} ${key} is empty`)
    }
  }
})

test('every error code has a message in every language', () => {
  for (const locale of locales) {
    for (const code of Object.keys(errorCodes)) {
      assert.ok(catalogueKeys(locale).includes(`errors.${code}`), `${locale} errors.${code}`)
    }
  }
})

test('messages fill placeholders and plural forms', () => {
  assert.equal(t('it', 'help.search.none', { query: 'xyz' }), 'Nessun articolo trovato per «xyz»')
  assert.equal(tn('de', 'help.search.count', 1), '1 Artikel gefunden.')
  assert.equal(tn('en', 'help.search.count', 3), '3 articles found.')
  assert.equal(t('en', 'no.such.key'), 'no.such.key')
})

test('Accept-Language picks the best supported language, English otherwise', () => {
  assert.equal(negotiateLocale('de-CH,de;q=0.9,en;q=0.5'), 'de')
  assert.equal(negotiateLocale('fr-FR,it;q=0.8,en;q=0.5'), 'it')
  assert.equal(negotiateLocale('fr'), 'en')
  assert.equal(negotiateLocale(undefined), 'en')
  assert.equal(negotiateLocale('*;q=0,;;;===,'), 'en')
})
