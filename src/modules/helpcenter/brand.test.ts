import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { buildApp } from '../../app.js'
import { firstRow } from '../../db/query.js'
import { renderMail } from '../../shared/mail/templates.js'
import { helpContent } from '../../../test/desk-factories.js'
import { freshDatabase, testConfig } from '../../../test/helpers.js'

test('the configured brand names the portal in pages, emails and imported articles, and a new brand reaches all three', async () => {
  const database = await freshDatabase(after)
  const first = await buildApp(testConfig({ BRAND_NAME: 'Nordauto' }), database, { logger: false })
  await helpContent(first, ['apps'])
  const article = await first.inject({ url: '/en/help/articles/connected-apps' })
  assert.equal(article.statusCode, 200)
  assert.match(article.body, /all connected Nordauto apps/, 'the article names the brand')
  assert.match(article.body, /Nordauto/)
  assert.doesNotMatch(article.body, /Demo Motors|\{brand\}/)
  assert.match((await first.inject({ url: '/de/register' })).body, /Anwendungen von Nordauto/, 'the pages name it')
  assert.equal(renderMail('invitation', 'it', { userId: 'mrossi01', days: 7, url: 'https://portal.example/x' }).subject, 'Il tuo account sul portale partner Nordauto')
  await first.close()

  // The same database under a new brand: nothing is imported again, yet every article follows.
  const second = await buildApp(testConfig({ BRAND_NAME: 'Südwagen' }), database, { logger: false })
  after(() => second.close())
  const again = await second.inject({ url: '/en/help/articles/connected-apps' })
  assert.match(again.body, /all connected Südwagen apps/)
  assert.doesNotMatch(again.body, /Nordauto/)
  const found = await second.inject({ url: '/en/help/search', query: { q: 'Südwagen' } })
  assert.match(found.body, /connected-apps/, 'search finds the article by the new brand')
  // Search ranks on rank_vector (migration 0022): the new rendering renewed it with the body.
  const stale = await firstRow<{ n: number }>(database.db, `select count(*)::int as n from help_articles
    where rank_vector is distinct from help_rank_vector(search_config::regconfig, head_vector, body_text)`)
  assert.equal(stale?.n, 0, 'every article ranks on its current text')
  assert.match((await second.inject({ url: '/it/register' })).body, /applicazioni Südwagen collegate/)
  const mail = renderMail('account-approved', 'de', { userId: 'mrossi01', url: 'https://portal.example/x' })
  assert.match(mail.text, /im Partnerportal von Südwagen ist freigegeben/)
  assert.match(mail.text, /Ihr Team des Partnerportals von Südwagen/)
  assert.doesNotMatch(`${mail.text}${mail.html}`, /Nordauto|Demo Motors/)
})
