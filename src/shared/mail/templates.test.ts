import assert from 'node:assert/strict'
import { test } from 'node:test'
import { locales } from '../i18n/index.js'
import { mailTemplates, renderMail, type MailTemplate } from './templates.js'

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

/** Words that point at the email's button ("the link below"), and "here" said without one. */
const POINTS_AT_LINK: Record<string, RegExp> = { it: /\bqui sotto\b/u, de: /\bunten\b/u, en: /\bbelow\b/u }
const BARE_HERE: Record<string, RegExp> = { it: /\bqui\b(?! sotto)/u, de: /\bhier\b/u, en: /\bhere\b/u }

test('an email that speaks of the link below has that link, and none says "here" where no link is', () => {
  const problems: string[] = []
  const url = 'https://portal.example/next-step'
  for (const locale of locales) {
    for (const template of Object.keys(mailTemplates) as MailTemplate[]) {
      for (const realm of ['partner', 'shop']) {
        const mail = renderMail(template, locale, { name: 'Anna Bianchi', userId: 'abianchi', realm, url, minutes: 30, days: 7, date: '2026-12-01T00:00:00.000Z', code: '123456', email: 'a@example.com', reference: 'SR-2026-000001', subject: 'Warranty Claims', message: 'Fatto.' })
        const body = mail.text.split('\n\n').slice(1, -2).join('\n\n')
        const pointer = POINTS_AT_LINK[locale]
        if (pointer?.test(body) && !mail.text.includes(url)) problems.push(`${locale} ${template} (${realm}) speaks of a link below but has none`)
        const here = BARE_HERE[locale]?.exec(body)
        if (here) problems.push(`${locale} ${template} (${realm}) says "${here[0]}" without a link: "${body.slice(Math.max(0, here.index - 40), here.index + 20)}"`)
      }
    }
  }
  assert.deepEqual(problems, [])
})

test('every lifecycle email of a Parts Shop account, the administrator\'s reminder too, names the Parts Shop account in its subject and text, in every language', () => {
  const problems: string[] = []
  const templates: MailTemplate[] = ['lifecycle-block_warned', 'lifecycle-blocked', 'lifecycle-delete_warned', 'lifecycle-deleted', 'inactivity-reminder']
  for (const locale of ['it', 'en', 'de']) {
    for (const template of templates) {
      const mail = renderMail(template, locale, { name: 'Mario Rossi', userId: 'rossi.ricambi', realm: 'shop', url: 'https://portal.example/it/shop/login', date: '2026-12-01T00:00:00.000Z' })
      if (!/Parts[ -]Shop/.test(mail.subject) || /partner/i.test(mail.subject)) problems.push(`${locale} ${template}: subject "${mail.subject}"`)
      if (!/Parts[ -]Shop/.test(mail.text.split('\n\n')[1] ?? '')) problems.push(`${locale} ${template}: the first paragraph does not name the Parts Shop`)
    }
  }
  assert.deepEqual(problems, [])
})
