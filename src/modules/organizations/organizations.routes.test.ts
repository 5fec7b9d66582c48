import assert from 'node:assert/strict'
import { test } from 'node:test'
import { choosePartner, company, helpArticles, market, partner, signIn, user } from '../../../test/factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp()
const browser = () => testBrowser(() => testApp().app)

test('the partner directory lists name and city to everyone, contact details only to signed-in users', async () => {
  const app = testApp()
  const italy = await market(app, { code: 'IT' })
  const germany = await market(app)
  const bologna = await partner(app, { market: italy, name: 'Concessionaria Felsinea', city: 'Bologna', contactPhone: '+39 051 555 0101', contactEmail: 'assistenza@felsinea.example' })
  await partner(app, { market: italy, name: 'Service Lombardo', city: 'Milano' })
  const cologne = await partner(app, { market: germany, name: 'Autohaus am Rhein', city: 'Köln' })
  const workshop = await choosePartner(app, await company(app, { market: italy }), bologna)
  const mechanic = await user(app, { company: workshop, locale: 'it' })

  const guest = browser()
  const page = await guest.get('/it/partners')
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /Concessionaria Felsinea/, 'the Italian page lists Italy\'s partners')
  assert.match(page.body, /Milano/)
  assert.doesNotMatch(page.body, /Autohaus am Rhein/)
  assert.doesNotMatch(page.body, /\+39 051 555 0101|assistenza@felsinea/)
  assert.match(page.body, /visibili agli utenti che hanno effettuato l&#39;accesso|visibili agli utenti che hanno effettuato l'accesso/)

  const signedIn = await signIn(browser(), mechanic, { locale: 'it' })
  const withContacts = await signedIn.get('/it/partners')
  assert.match(withContacts.body, /Il tuo partner aftersales: Concessionaria Felsinea/)
  assert.match(withContacts.body, /href="tel:\+390515550101"/)
  assert.match(withContacts.body, /assistenza@felsinea\.example/)

  const german = await guest.get(`/en/partners?market=${germany.code}`)
  assert.match(german.body, new RegExp(cologne.name))
  assert.doesNotMatch(german.body, /Concessionaria Felsinea/)
  assert.equal((await guest.get('/en/partners?market=FR')).statusCode, 404, 'a market that does not exist')
  assert.equal((await guest.get('/en/partners?market=%3Cscript%3E')).statusCode, 400)
})

test('"Still need help?" shows the signed-in user\'s own aftersales partner with its phone', async () => {
  const app = testApp()
  const germany = await market(app)
  const cologne = await partner(app, { market: germany, name: 'Autohaus Domblick', contactPhone: '+49 221 555 0199' })
  const workshop = await choosePartner(app, await company(app, { market: germany }), cologne)
  const mechanic = await user(app, { company: workshop, locale: 'de' })
  await helpArticles(app, [{ locale: 'de', slug: 'konto-gesperrt', title: 'Konto gesperrt' }])

  const guestArticle = await browser().get('/de/help/articles/konto-gesperrt')
  assert.equal(guestArticle.statusCode, 200)
  assert.doesNotMatch(guestArticle.body, /\+49 221 555 0199/)
  const b = await signIn(browser(), mechanic, { locale: 'de' })
  const article = await b.get('/de/help/articles/konto-gesperrt')
  assert.match(article.body, /rufen Sie Ihren Aftersales-Partner Autohaus Domblick an/)
  assert.match(article.body, /\+49 221 555 0199/)
  assert.match((await b.get('/de/help')).body, /\+49 221 555 0199/)
})
