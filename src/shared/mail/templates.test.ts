import assert from 'node:assert/strict'
import { test } from 'node:test'
import { renderMail } from './templates.js'

test('validity is said in words of the recipient\'s language: hours for an administrator\'s link, never "1440 minuti"', () => {
  const admin = renderMail('password-reset', 'it', { name: 'Mario Rossi', minutes: 1440, url: 'https://portal.example/it/password/reset/x' })
  assert.match(admin.text, /è valido 24 ore\./)
  assert.doesNotMatch(admin.text, /1440/)
  assert.match(renderMail('password-reset', 'de', { name: 'Klaus Becker', minutes: 30, url: 'https://x.example/' }).text, /ist 30 Minuten gültig/)
  assert.match(renderMail('account-locked', 'en', { name: 'Ann Lee', minutes: 1, url: 'https://x.example/' }).subject, /locked for 1 minute$/)
  assert.match(renderMail('invitation', 'it', { name: 'Lucia Verdi', userId: 'lverdi', days: 7, url: 'https://x.example/' }).text, /è valido 7 giorni/)
})

test('business greetings with the full name, and no jokes in security mail', () => {
  const it = renderMail('password-reset', 'it', { name: 'Mario Rossi', minutes: 30, url: 'https://x.example/' })
  assert.match(it.text, /^Buongiorno Mario Rossi,/)
  assert.doesNotMatch(it.text, /speriamo|Ciao/)
  const de = renderMail('password-reset', 'de', { name: 'Klaus Becker', minutes: 30, url: 'https://x.example/' })
  assert.match(de.text, /^Guten Tag Klaus Becker,/)
  assert.doesNotMatch(de.text, /hoffentlich/)
})

test('a realm with texts of its own gets them; others fall back to the template\'s texts', () => {
  const shop = renderMail('lifecycle-blocked', 'de', { name: 'Klaus Becker', userId: 'kb', realm: 'shop', url: 'https://x.example/' })
  assert.equal(shop.subject, 'Ihr Parts-Shop-Konto ist gesperrt')
  assert.match(shop.text, /Ihr Partnerkonto ist davon nicht betroffen/)
  const partner = renderMail('lifecycle-blocked', 'de', { name: 'Klaus Becker', userId: 'kb', realm: 'partner', url: 'https://x.example/' })
  assert.equal(partner.subject, 'Ihr Partnerkonto ist gesperrt')
  assert.match(partner.text, /kann Ihr Marktadministrator es nach einer Identitätsprüfung wiederherstellen/, 'only the market administrator restores a blocked account')
})
