import assert from 'node:assert/strict'
import { beforeEach, describe, test } from 'node:test'
import { systemActor } from '../../shared/actor.js'
import { user, type MarketRow } from '../../../test/factories.js'
import { deskMarket, helpContent, partnerCompany, signedIn, workshop } from '../../../test/desk-factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'
import { estimateWait } from './wait-estimate.js'

const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url }) })
const app = () => testApp().app
const browser = () => testBrowser(app)

/** The topics the forms offer, and the market guests send their requests to (once per file). */
let setup: Promise<MarketRow> | undefined
const italyMarket = () => (setup ??= (async () => {
  await helpContent(testApp(), ['apps', 'sign-in', 'password'])
  return deskMarket(testApp(), { defaultLocale: 'it', names: { it: 'Italia', en: 'Italy', de: 'Italien' } })
})())
let italy: MarketRow

const guestTicket = () => ({
  topic: 'apps', subject: 'Service Manual shows an empty page', description: 'Since this morning the Service Manual opens but every page is empty. I expected the wiring diagrams.',
  urgency: 'normal', name: 'Pia Guest', email: 'pia@guest-workshop.example', companyName: 'Officina Ospite', companyAddress: 'Via Nuova 3, 20100 Milano', marketCode: italy.code,
})

describe('asking for help', () => {
  beforeEach(async () => { italy = await italyMarket() })

  test('a guest opens a ticket: reference, confirmation email with a private link, and the ticket page behind it', async () => {
    const b = browser()
    const form = await b.get('/it/support/new?topic=apps&article=service-manual-empty&branch=still-empty')
    assert.equal(form.statusCode, 200)
    assert.match(form.body, /<option value="apps" selected>/)
    assert.match(form.body, /name="article" value="service-manual-empty"/)
    const res = await b.post('/it/support/new', { ...guestTicket(), article: 'service-manual-empty', branch: 'still-empty' })
    assert.equal(res.statusCode, 201)
    const reference = /SR-\d{4}-\d{6}/.exec(res.body)?.[0]
    assert.ok(reference, 'a reference like SR-2026-000123')
    assert.match(res.body, /Non ci sono ancora abbastanza risposte recenti per una stima/)

    await testApp().app.mailer.drain()
    const mail = mailbox().to('pia@guest-workshop.example').at(-1)
    assert.equal(mail?.subject, `La tua richiesta di assistenza ${reference}`, 'the subject holds the reference, never the visitor\'s own text')
    const link = new URL(mailbox().linkIn(mail, `${testApp().config.publicUrl}/it/support/tickets/${reference}/access/`)).pathname
    assert.equal((await browser().get(`/it/support/tickets/${reference}`)).statusCode, 404, 'without the link nobody sees it')
    const follower = browser()
    const opened = await follower.get(link)
    assert.equal(opened.statusCode, 303)
    assert.equal(opened.headers.location, `/it/support/tickets/${reference}`)
    const page = await follower.get(`/it/support/tickets/${reference}`)
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /every page is empty/)
    const answered = await follower.post(`/it/support/tickets/${reference}/reply`, { message: 'It also happens <b>in Firefox</b>.' }, { fromPage: `/it/support/tickets/${reference}` })
    assert.equal(answered.statusCode, 303)
    const after = await follower.get(`/it/support/tickets/${reference}?sent=1`)
    assert.match(after.body, /It also happens &lt;b>in Firefox&lt;\/b>\./, 'HTML is shown as text')
    assert.equal((await browser().get(`/it/support/tickets/${reference}/access/wrong-secret`)).statusCode, 404)
  })

  test('a signed-in user\'s ticket is filled from the account, routed to the company\'s market, and urgent ones show the partner', async () => {
    const germany = await deskMarket(testApp(), { timeZone: 'Europe/Berlin', defaultLocale: 'de' })
    const partner = await partnerCompany(testApp(), germany, { name: 'Autohaus Köln Partner GmbH', contactPhone: '+49 221 000 7890' })
    const company = await workshop(testApp(), germany, { partner, name: 'Werkstatt Becker GmbH', street: 'Hauptstraße 45', postalCode: '50667', city: 'Köln' })
    const klaus = await user(testApp(), { firstName: 'Klaus', lastName: 'Becker', locale: 'de', company })
    const b = await signedIn(app, klaus, 'de')
    const form = await b.get('/de/support/new?topic=sign-in')
    assert.match(form.body, new RegExp(`<dd>${klaus.userId}</dd>`), 'the identity comes from the account, shown once')
    assert.doesNotMatch(form.body, /id="identity-userId"/, 'and is not asked again')
    assert.match(form.body, /Autohaus Köln Partner GmbH/)
    const res = await b.post('/de/support/new', {
      topic: 'password', subject: 'Passwort-Link kommt nicht an', description: 'Ich habe zweimal einen Link angefordert, aber keine E-Mail erhalten.', urgency: 'urgent',
    })
    assert.equal(res.statusCode, 201)
    assert.match(res.body, /Ihr Aftersales-Partner Autohaus Köln Partner GmbH/)
    assert.match(res.body, /\+49 221 000 7890/)
    const reference = /SR-\d{4}-\d{6}/.exec(res.body)?.[0] ?? ''
    const { ticket: stored } = await testApp().app.services.desk.ticket(systemActor('test'), reference)
    assert.equal(stored.marketId, germany.id, 'routed to the market of the account\'s company')
    assert.deepEqual(stored.identity, { userId: klaus.userId, firstName: 'Klaus', lastName: 'Becker', email: klaus.email, companyName: 'Werkstatt Becker GmbH', companyAddress: 'Hauptstraße 45, 50667 Köln' }, 'the identity check gets the account\'s details')
    const mine = await b.get(`/de/support/tickets/${reference}`)
    assert.equal(mine.statusCode, 200, 'the signed-in requester needs no link')
    const ticket = await testApp().app.services.support.ticketForRequester(systemActor('test'), reference, undefined).catch(() => null)
    assert.equal(ticket, null, 'not even the system reads a ticket without being its requester or an agent')
    const colleague = await user(testApp(), { locale: 'de', company })
    assert.equal((await (await signedIn(app, colleague, 'de')).get(`/de/support/tickets/${reference}`)).statusCode, 404)
  })

  test('bad, incomplete and robotic requests are refused in the user\'s language and create nothing', async () => {
    const b = browser()
    const noIdentity = await b.post('/en/support/new', { ...guestTicket(), topic: 'sign-in' })
    assert.equal(noIdentity.statusCode, 400)
    const said = (/<p class="error-message" role="alert" id="form-error">([\s\S]*?)<\/p>/.exec(noIdentity.body)?.[1] ?? '').replace(/<[^>]+>/g, '')
    assert.match(said, /User ID/, 'the error names the field as the form labels it')
    assert.doesNotMatch(said, /identity\.|: required/, 'never an internal name or a bare "required"')
    assert.match(noIdentity.body, /id="identity-userId"[^>]*aria-invalid="true"/, 'the field is marked')
    assert.match(noIdentity.body, /id="form-error"><a href="#identity-userId">/, 'and the message leads to it')
    assert.match(noIdentity.body, /value="Service Manual shows an empty page"/, 'the form keeps what was typed')
    assert.equal((await b.post('/en/support/new', { ...guestTicket(), topic: 'no-such-topic' })).statusCode, 400)
    assert.equal((await b.post('/en/support/new', { ...guestTicket(), email: 'not-an-email' })).statusCode, 400)
    assert.equal((await b.post('/en/support/new', { ...guestTicket(), description: 'x'.repeat(10_001) })).statusCode, 400)
    assert.equal((await b.post('/en/support/new', guestTicket(), { csrf: false })).statusCode, 403)
    const robot = await b.post('/en/support/new', { ...guestTicket(), email: 'bot@spam.example', website: 'http://spam.example' })
    assert.equal(robot.statusCode, 200)
    assert.doesNotMatch(robot.body, /SR-\d{4}/)
    await testApp().app.mailer.drain()
    assert.equal(mailbox().to('bot@spam.example').length, 0)
    for (let i = 0; i < 5; i++) await browser().post('/en/support/new', { ...guestTicket(), email: 'flood@guest.example' })
    const flood = await browser().post('/en/support/new', { ...guestTicket(), email: 'flood@guest.example' })
    assert.equal(flood.statusCode, 429, 'one address may not open more than 5 requests an hour')
  })
})

test('the waiting time comes from the queue and recent answers, in the market\'s working hours', () => {
  const hours = { 1: ['09:00', '17:00'], 2: ['09:00', '17:00'], 3: ['09:00', '17:00'], 4: ['09:00', '17:00'], 5: ['09:00', '17:00'] } as Record<string, [string, string]>
  const now = new Date('2026-11-25T10:00:00Z') // a Wednesday
  const answered = (createdIso: string, hoursLater: number) => ({ createdAt: new Date(createdIso), firstRespondedAt: new Date(new Date(createdIso).getTime() + hoursLater * 3_600_000), aheadAtArrival: 1 })
  const weekdays = ['16', '17', '18', '19', '20', '23']
  const recent = [2, 3, 3, 4, 5, 6].map((h, i) => answered(`2026-11-${weekdays[i] ?? '16'}T09:00:00Z`, h))
  assert.deepEqual(estimateWait({ hours, timeZone: 'UTC', now, ahead: 0, recent: recent.slice(0, 4) }), { kind: 'unknown', ahead: 0 })
  const calm = estimateWait({ hours, timeZone: 'UTC', now, ahead: 1, recent })
  assert.deepEqual(calm, { kind: 'range', low: 3, high: 5, ahead: 1 })
  assert.deepEqual(estimateWait({ hours, timeZone: 'UTC', now, ahead: 3, recent }), { kind: 'range', low: 6, high: 10, ahead: 3 }, 'twice the usual queue, twice the wait')
})
