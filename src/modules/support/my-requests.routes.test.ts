import assert from 'node:assert/strict'
import { test } from 'node:test'
import { actorOf, user } from '../../../test/factories.js'
import { agent, deskMarket, helpContent, signedIn, ticket, workshop } from '../../../test/desk-factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp()
const app = () => testApp().app
const ctx = () => ({ publicUrl: testApp().config.publicUrl })

test('"My requests" lists the signed-in person\'s own requests with their state and the team\'s last answer, each linked', async () => {
  await helpContent(testApp(), ['apps'])
  const market = await deskMarket(testApp())
  const garage = await workshop(testApp(), market)
  const sara = await user(app(), { company: garage, locale: 'it', firstName: 'Sara' })
  const colleague = await user(app(), { company: garage, locale: 'it' })
  const teamAgent = await agent(testApp(), market)
  const asSara = await actorOf(testApp(), sara)
  const answered = await ticket(testApp(), market, { subject: 'Il Service Manual è vuoto', locale: 'it' }, asSara)
  const waiting = await ticket(testApp(), market, { subject: 'Garanzia: pratica ferma', locale: 'it' }, asSara)
  const notMine = await ticket(testApp(), market, { subject: 'Richiesta del collega', locale: 'it' }, await actorOf(testApp(), colleague))
  const asAgent = await actorOf(testApp(), teamAgent)
  await app().services.desk.reply(asAgent, answered.ticket.reference, { body: 'Abbiamo riavviato il servizio: riprova ora.', state: 'waiting_on_requester' }, ctx())
  await app().services.desk.note(asAgent, answered.ticket.reference, 'Nota interna: da non mostrare.', ctx())

  const b = await signedIn(app, sara, 'it')
  const page = await b.get('/it/support/tickets')
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /<h1>Le mie richieste<\/h1>/)
  assert.match(page.body, new RegExp(`href="/it/support/tickets/${answered.ticket.reference}">Il Service Manual è vuoto</a>`))
  assert.match(page.body, new RegExp(`href="/it/support/tickets/${waiting.ticket.reference}">Garanzia: pratica ferma</a>`))
  assert.match(page.body, /in attesa di una tua risposta/, 'the state in the reader\'s language')
  assert.match(page.body, /Abbiamo riavviato il servizio: riprova ora\./, 'the last answer')
  assert.match(page.body, /Il team non ha ancora risposto/)
  assert.doesNotMatch(page.body, /Nota interna/, 'internal notes are not answers')
  assert.doesNotMatch(page.body, new RegExp(notMine.ticket.reference), 'a colleague\'s request is not listed')
  assert.equal((await b.get(`/it/support/tickets/${answered.ticket.reference}`)).statusCode, 200, 'each links to its page')

  const guest = await testBrowser(app).get('/en/support/tickets')
  assert.equal(guest.statusCode, 303)
  assert.equal(guest.headers.location, '/en/login?next=/en/support/tickets')
})

test('signed in, the waiting time shows the user\'s own market first', async () => {
  await helpContent(testApp(), ['apps'])
  const first = await deskMarket(testApp(), { names: { it: 'Albania', en: 'Albania', de: 'Albanien' } })
  const own = await deskMarket(testApp(), { names: { it: 'Zelanda', en: 'Zealand', de: 'Seeland' } })
  const klaus = await user(app(), { company: await workshop(testApp(), own), locale: 'en' })
  const form = await (await signedIn(app, klaus, 'en')).get('/en/support/new')
  const waits = /<section aria-labelledby="waits">([\s\S]*?)<\/section>/.exec(form.body)?.[1] ?? ''
  const order = [...waits.matchAll(/<strong>([^<:]+):<\/strong>/g)].map((m) => m[1])
  assert.equal(order[0], 'Zealand', `own market first: ${order.join(', ')}`)
  assert.ok(order.includes(first.names.en ?? ''))
})
