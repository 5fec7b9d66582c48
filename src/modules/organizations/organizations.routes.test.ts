import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEMO_PASSWORD } from '../../seed/users.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp({ demo: true })
const browser = () => testBrowser(() => testApp().app)

test('the partner directory lists name and city to everyone, contact details only to signed-in users', async () => {
  const guest = browser()
  const page = await guest.get('/it/partners')
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /Demo Motors Concessionaria Bologna S\.p\.A\./)
  assert.match(page.body, /Milano/)
  assert.doesNotMatch(page.body, /\+39 051 000 4567|assistenza@concessionaria-bologna/)
  assert.match(page.body, /visibili agli utenti che hanno effettuato l&#39;accesso|visibili agli utenti che hanno effettuato l'accesso/)

  const signedIn = browser()
  await signedIn.post('/it/login', { identifier: 'mrossi', password: DEMO_PASSWORD })
  const withContacts = await signedIn.get('/it/partners')
  assert.match(withContacts.body, /Il tuo partner aftersales: Demo Motors Concessionaria Bologna S\.p\.A\./)
  assert.match(withContacts.body, /href="tel:\+390510004567"/)
  assert.match(withContacts.body, /assistenza@concessionaria-bologna\.example/)

  const germany = await guest.get('/en/partners?market=DE')
  assert.match(germany.body, /Demo Motors Autohaus Köln GmbH/)
  assert.equal((await guest.get('/en/partners?market=FR')).statusCode, 404)
  assert.equal((await guest.get('/en/partners?market=%3Cscript%3E')).statusCode, 400)
})

test('"Still need help?" shows the signed-in user\'s own aftersales partner with its phone', async () => {
  const guestArticle = await browser().get('/de/help/articles/konto-gesperrt')
  assert.doesNotMatch(guestArticle.body, /\+49 221 000 7890/)
  const b = browser()
  await b.post('/de/login', { identifier: 'kbecker', password: DEMO_PASSWORD })
  const article = await b.get('/de/help/articles/konto-gesperrt')
  assert.match(article.body, /rufen Sie Ihren Aftersales-Partner an, Demo Motors Autohaus Köln GmbH/)
  assert.match(article.body, /\+49 221 000 7890/)
  assert.match((await b.get('/de/help')).body, /\+49 221 000 7890/)
})
