import assert from 'node:assert/strict'
import { test } from 'node:test'
import { user, type CompanyRow, type MarketRow, type UserRow } from './factories.js'
import { agent, deskMarket, helpContent, partnerCompany, signedIn, workshop } from './desk-factories.js'
import { useFixture, useTestApp } from './helpers.js'

const testApp = useTestApp()
const app = () => testApp().app

/** A workshop with its chosen partner and organization administrator; one colleague approved, one still waiting. */
let italy: MarketRow
let dealer: CompanyRow
let waiting: UserRow
let approved: UserRow
let deskAgent: UserRow
useFixture(testApp, async (t) => {
  await helpContent(t, ['apps'])
  italy = await deskMarket(t, { defaultLocale: 'it', names: { it: 'Italia', en: 'Italy', de: 'Italien' } })
  dealer = await partnerCompany(t, italy, { contactPhone: '+39 051 777 1234' })
  const garage = await workshop(t, italy, { partner: dealer })
  await user(t, { company: garage, firstName: 'Ottavia', lastName: 'Amministratrice', roles: [{ role: 'org_admin', companyId: garage.id }] })
  waiting = await user(t, { company: garage, status: 'pending_approval', locale: 'it', firstName: 'Walter', lastName: 'Attesa' })
  approved = await user(t, { company: garage, locale: 'it', firstName: 'Anna', lastName: 'Approvata' })
  deskAgent = await agent(t, italy)
})

const request = (subject: string, urgency: 'normal' | 'urgent') => ({
  topic: 'apps', subject, urgency, description: 'Since this morning the Service Manual opens but every page is empty.',
})

test('an account its company has not approved sees no partner contacts and no administrator names, and cannot mark a request urgent', async () => {
  const b = await signedIn(app, waiting, 'it')

  const partners = await b.get(`/it/partners?market=${italy.code}`)
  assert.equal(partners.statusCode, 200)
  assert.match(partners.body, new RegExp(dealer.name.replace(/[.]/g, '\\.')), 'the partner is listed by name')
  assert.doesNotMatch(partners.body, /777 1234/, 'but not its phone')
  assert.doesNotMatch(partners.body, new RegExp(dealer.contactEmail ?? 'x'), 'nor its email')
  assert.match(partners.body, /I contatti dei partner sono visibili dopo l'approvazione del tuo account/)

  const account = await b.get('/it/account')
  assert.match(account.body, /Il tuo account attende l&#39;approvazione dell&#39;amministratore dell&#39;organizzazione|Il tuo account attende l'approvazione dell'amministratore dell'organizzazione/)
  assert.doesNotMatch(account.body, /Ottavia|Amministratrice/, 'no administrator is named')

  const help = await b.get('/it/help')
  assert.doesNotMatch(help.body, /777 1234/, 'the help center shows no partner contact either')

  const form = await b.get('/it/support/new')
  assert.doesNotMatch(form.body, /id="urgency-urgent"/, 'the form offers no urgent choice')
  assert.doesNotMatch(form.body, /777 1234/)
  assert.match(form.body, /le richieste urgenti sono disponibili dopo l&#39;approvazione|le richieste urgenti sono disponibili dopo l'approvazione/)

  const urgent = await b.post('/it/support/new', request('Urgent from a waiting account', 'urgent'), { fromPage: '/it/support/new' })
  assert.equal(urgent.statusCode, 422)
  assert.match(urgent.body, /Le richieste urgenti sono possibili dopo l&#39;approvazione|Le richieste urgenti sono possibili dopo l'approvazione/)
  const sent = await b.post('/it/support/new', request('Empty manual, waiting account', 'normal'), { fromPage: '/it/support/new' })
  assert.equal(sent.statusCode, 201)
  const reference = /SR-\d{4}-\d{6}/.exec(sent.body)?.[0] ?? ''
  assert.doesNotMatch(sent.body, /777 1234/)

  // The same pages for an approved colleague show the partner's contacts and the urgent choice.
  const colleague = await signedIn(app, approved, 'it')
  assert.match((await colleague.get(`/it/partners?market=${italy.code}`)).body, /777 1234/)
  assert.match((await colleague.get('/it/support/new')).body, /id="urgency-urgent"/)
  const theirs = await colleague.post('/it/support/new', request('Empty manual, approved account', 'normal'), { fromPage: '/it/support/new' })
  assert.equal(theirs.statusCode, 201)
  const approvedReference = /SR-\d{4}-\d{6}/.exec(theirs.body)?.[0] ?? ''

  // The agent sees the waiting account's request marked, in the queue and on the ticket; not the colleague's.
  const desk = await signedIn(app, deskAgent, 'en')
  const queue = await desk.get('/en/agent/tickets')
  const rowOf = (ref: string) => queue.body.split('<tr').find((row) => row.includes(ref)) ?? ''
  assert.match(rowOf(reference), /Company membership not yet approved/)
  assert.doesNotMatch(rowOf(approvedReference), /Company membership not yet approved/)
  assert.match((await desk.get(`/en/agent/tickets/${reference}`)).body, /Company membership not yet approved/)
  assert.doesNotMatch((await desk.get(`/en/agent/tickets/${approvedReference}`)).body, /Company membership not yet approved/)
})
