import assert from 'node:assert/strict'
import { beforeEach, describe, test } from 'node:test'
import { systemActor } from '../../shared/actor.js'
import { setClock } from '../../shared/clock.js'
import { actorOf, mailsTo, reload, setAccount, storedFactorSecrets, user, type MarketRow, type UserRow } from '../../../test/factories.js'
import { agent as deskAgent, deskMarket, helpContent, marketAdmin, platformAdmin, signedIn as signedInAs, weekdays, workshop } from '../../../test/desk-factories.js'
import { cookieHeader, cookieJar, csrfFrom, testBrowser, useTestApp, type Browser } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'
import { addWorkingHours } from './working-hours.js'

const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url, AUTH_RATE_LIMIT: '1000' }) })
const browser = () => testBrowser(() => testApp().app)
const system = systemActor('test')

/** The markets and accounts of this file: three markets, their agents, administrators and two workshop users. */
interface People {
  it: MarketRow; de: MarketRow; at: MarketRow
  agentIt: UserRow; agentDe: UserRow; adminIt: UserRow; platformAdmin: UserRow; mario: UserRow; klaus: UserRow
}
let made: Promise<People> | undefined
const people = () => (made ??= (async (): Promise<People> => {
  const a = testApp()
  await helpContent(a, ['apps', 'sign-in', 'password'])
  const it = await deskMarket(a, { defaultLocale: 'it', names: { it: 'Italia', en: 'Italy', de: 'Italien' } })
  const de = await deskMarket(a, { defaultLocale: 'de', timeZone: 'Europe/Berlin', businessHours: weekdays('08:00', '18:00') })
  const at = await deskMarket(a, { defaultLocale: 'de', timeZone: 'Europe/Vienna', businessHours: weekdays('08:00', '17:00') })
  const rossi = await workshop(a, it, { name: 'Autofficina Rossi S.r.l.', street: 'Via Emilia 120', postalCode: '40133', city: 'Bologna' })
  const becker = await workshop(a, de, { name: 'Werkstatt Becker GmbH', street: 'Hauptstraße 45', postalCode: '50667', city: 'Köln' })
  return {
    it, de, at,
    agentIt: await deskAgent(a, it, { firstName: 'Chiara', lastName: 'Conti', locale: 'it' }),
    agentDe: await deskAgent(a, de, { firstName: 'Anna', lastName: 'Schmidt', locale: 'de' }),
    adminIt: await marketAdmin(a, it, { firstName: 'Luca', lastName: 'Ferri', locale: 'it', alsoAgent: true }),
    platformAdmin: await platformAdmin(a, { firstName: 'Paula', lastName: 'Platform' }),
    mario: await user(a, { firstName: 'Mario', lastName: 'Rossi', locale: 'it', company: rossi }),
    klaus: await user(a, { firstName: 'Klaus', lastName: 'Becker', locale: 'de', company: becker }),
  }
})())
let f: People

async function signedIn(who: Exclude<keyof People, 'it' | 'de' | 'at'>, locale = 'en'): Promise<Browser> {
  return signedInAs(() => testApp().app, f[who], locale)
}

const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64')
const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n')

let address = 0
/** Posts the ticket form the way a browser without script does: multipart, with its form token and files. */
async function postMultipart(b: Browser, url: string, fields: Record<string, string>, files: { name: string; type: string; content: Buffer }[], fromPage = url) {
  const page = await b.get(fromPage)
  const form = new FormData()
  form.set('_csrf', csrfFrom(page.body))
  for (const [k, v] of Object.entries(fields)) form.set(k, v)
  for (const f of files) form.append('attachments', new Blob([new Uint8Array(f.content)], { type: f.type }), f.name)
  const request = new Request('http://localhost/', { method: 'POST', body: form })
  const res = await testApp().app.inject({
    method: 'POST', url, remoteAddress: `10.9.0.${String(++address)}`, payload: Buffer.from(await request.arrayBuffer()),
    headers: { cookie: cookieHeader(b.jar), 'content-type': request.headers.get('content-type') ?? '' },
  })
  cookieJar(b.jar, res.headers['set-cookie'])
  return res
}

const guestTicket = (email: string, market = f.it.code) => ({
  topic: 'apps', subject: 'Service Manual shows an empty page', description: 'Since this morning the Service Manual opens but every page is empty. I expected the wiring diagrams.',
  urgency: 'normal', name: 'Pia Guest', email, companyName: 'Officina Ospite', companyAddress: 'Via Nuova 3, 20100 Milano', marketCode: market,
})

const referenceIn = (body: string) => /SR-\d{4}-\d{6}/.exec(body)?.[0] ?? ''

async function ticketCount(): Promise<number> {
  return (await testApp().app.services.desk.queue(system, { state: undefined })).total
}

describe('agent console', () => {
  beforeEach(async () => { f = await people() })

  test('a guest ticket with attachments: the agent of its market replies by email, notes stay internal, the requester answers and it reopens', async () => {
    const guest = browser()
    const created = await postMultipart(guest, '/it/support/new', guestTicket('lia@guest.example'), [
      { name: 'screen.png', type: 'image/png', content: png }, { name: 'invoice.pdf', type: 'application/pdf', content: pdf },
    ])
    assert.equal(created.statusCode, 201, created.body.slice(0, 400))
    const reference = referenceIn(created.body)
    await testApp().app.mailer.drain()
    const firstLink = new URL(mailbox().linkIn(mailbox().to('lia@guest.example').at(-1), `${testApp().config.publicUrl}/it/support/tickets/`)).pathname

    const agent = await signedIn('agentIt', 'it')
    const queue = await agent.get('/it/agent/tickets')
    assert.equal(queue.statusCode, 200)
    assert.match(queue.body, new RegExp(reference))
    const page = await agent.get(`/it/agent/tickets/${reference}`)
    assert.match(page.body, /screen\.png/)
    assert.match(page.body, /invoice\.pdf/)
    const attachmentUrl = /href="(\/it\/agent\/tickets\/[^"]+\/attachments\/\d+)"/.exec(page.body)?.[1] ?? ''
    const download = await agent.get(attachmentUrl)
    assert.equal(download.statusCode, 200)
    assert.equal(download.headers['content-type'], 'image/png')
    assert.match(String(download.headers['content-disposition']), /^attachment/)

    assert.equal((await agent.post(`/it/agent/tickets/${reference}/assign`, {}, { fromPage: `/it/agent/tickets/${reference}` })).statusCode, 303)
    assert.equal((await agent.post(`/it/agent/tickets/${reference}/note`, { message: 'Probably the viewer cache, check with IT' }, { fromPage: `/it/agent/tickets/${reference}` })).statusCode, 303)
    const replied = await agent.post(`/it/agent/tickets/${reference}/reply`, { message: 'Please empty the browser cache and open the manual again.', state: 'waiting_on_requester' }, { fromPage: `/it/agent/tickets/${reference}` })
    assert.equal(replied.statusCode, 303)
    const after = await agent.get(`/it/agent/tickets/${reference}`)
    assert.match(after.body, /Chiara Conti/, 'assigned to the agent')
    assert.match(after.body, /In attesa del richiedente/)
    assert.match(after.body, /Probably the viewer cache/)

    await testApp().app.mailer.drain()
    const answer = mailbox().to('lia@guest.example').at(-1)
    assert.match(answer?.subject ?? '', new RegExp(`Risposta alla tua richiesta ${reference}`))
    assert.match(answer?.text ?? '', /empty the browser cache/)
    assert.doesNotMatch(mailbox().messages.map((m) => m.text ?? '').join('\n'), /viewer cache/, 'an internal note is never emailed')

    // The link in the reply works for a browser that never had the first one; the first still works too.
    const replyLink = new URL(mailbox().linkIn(answer, `${testApp().config.publicUrl}/it/support/tickets/`)).pathname
    const requester = browser()
    assert.equal((await requester.get(replyLink)).statusCode, 303)
    const requesterPage = await requester.get(`/it/support/tickets/${reference}`)
    assert.match(requesterPage.body, /empty the browser cache/)
    assert.doesNotMatch(requesterPage.body, /viewer cache/, 'the requester never sees internal notes')
    assert.match(requesterPage.body, /screen\.png/)
    const own = /href="(\/it\/support\/tickets\/[^"]+\/attachments\/\d+)"/.exec(requesterPage.body)?.[1] ?? ''
    assert.equal((await requester.get(own)).statusCode, 200, 'the requester downloads their attachment')
    assert.equal((await browser().get(own)).statusCode, 404, 'nobody else does')
    assert.equal((await (await signedIn('agentDe')).get(own.replace('/support/', '/agent/'))).statusCode, 403, 'nor an agent of another market')
    assert.equal((await browser().get(firstLink)).statusCode, 303)

    assert.equal((await requester.post(`/it/support/tickets/${reference}/reply`, { message: 'Done, still empty.' }, { fromPage: `/it/support/tickets/${reference}` })).statusCode, 303)
    assert.match((await agent.get(`/it/agent/tickets/${reference}`)).body, /<dd>Aperta<\/dd>/, 'an answer reopens a waiting ticket')

    // Solved, answered again: open. Then closed: no more answers from anyone.
    await agent.post(`/it/agent/tickets/${reference}/state`, { state: 'solved' }, { fromPage: `/it/agent/tickets/${reference}` })
    await requester.post(`/it/support/tickets/${reference}/reply`, { message: 'Sorry, one more thing.' }, { fromPage: `/it/support/tickets/${reference}` })
    assert.match((await agent.get(`/it/agent/tickets/${reference}`)).body, /<dd>Aperta<\/dd>/, 'an answer reopens a solved ticket')
    assert.equal((await agent.post(`/it/agent/tickets/${reference}/state`, { state: 'closed' }, { fromPage: `/it/agent/tickets/${reference}` })).statusCode, 303)
    const form = await requester.get(`/it/support/tickets/${reference}`)
    assert.doesNotMatch(form.body, /name="message"/, 'a closed ticket shows no answer form')
    const direct = await requester.post(`/it/support/tickets/${reference}/reply`, { message: 'Hello?' }, { fromPage: '/it/support/new' })
    assert.equal(direct.statusCode, 409)
    assert.match(direct.body, /role="alert"[^>]*>[^<]*chius/i, 'a clear message in the requester\'s language')
    const late = await agent.post(`/it/agent/tickets/${reference}/reply`, { message: 'Anything else?', state: 'waiting_on_requester' }, { fromPage: '/it/support/new' })
    assert.equal(late.statusCode, 409)

    const actions = (await testApp().app.services.admin.auditTrail(system, { action: 'ticket.' })).map((e) => e.action)
    for (const action of ['ticket.created', 'ticket.assigned', 'ticket.noted', 'ticket.replied', 'ticket.requester_replied', 'ticket.state_changed']) {
      assert.ok(actions.includes(action), `${action} is audited`)
    }
  })

  test('routing and scope: each market\'s agents see their queue only; others get 403, guests sign in first', async () => {
    const de = await postMultipart(browser(), '/de/support/new', guestTicket('dora@guest.example', f.de.code), [])
    const it = await postMultipart(browser(), '/it/support/new', guestTicket('ivo@guest.example', f.it.code), [])
    const deRef = referenceIn(de.body)
    const itRef = referenceIn(it.body)
    const agentDe = await signedIn('agentDe')
    const deQueue = await agentDe.get('/en/agent/tickets?state=all')
    assert.match(deQueue.body, new RegExp(deRef))
    assert.doesNotMatch(deQueue.body, new RegExp(itRef), 'a DE agent never lists an IT ticket')
    assert.equal((await agentDe.get(`/en/agent/tickets/${itRef}`)).statusCode, 403)
    assert.equal((await agentDe.post(`/en/agent/tickets/${itRef}/reply`, { message: 'Hi', state: 'open' }, { fromPage: '/en/support/new' })).statusCode, 403)
    assert.equal((await agentDe.post(`/en/agent/tickets/${itRef}/note`, { message: 'Hi' }, { fromPage: '/en/support/new' })).statusCode, 403)
    const itMessages = await testApp().app.services.desk.ticket(system, itRef)
    assert.equal(itMessages.messages.length, 1, 'nothing was written')
    assert.equal((await agentDe.get('/en/agent/tickets/SR-2026-999999')).statusCode, 404)
    assert.equal((await (await signedIn('mario')).get('/en/agent/tickets')).statusCode, 403, 'a user is no agent')
    const anonymous = await browser().get('/en/agent/tickets')
    assert.equal(anonymous.statusCode, 303)
    assert.match(String(anonymous.headers.location), /\/en\/login\?next=/)

    // Staff without a company pick the market like guests.
    const staffForm = await agentDe.get('/en/support/new')
    assert.match(staffForm.body, /id="marketCode"/)
    const staff = await agentDe.post('/en/support/new', { topic: 'apps', subject: 'Viewer broken for staff', description: 'The viewer shows nothing for my staff account since today.', urgency: 'normal', marketCode: f.at.code })
    assert.equal(staff.statusCode, 201, staff.body.slice(0, 300))
    assert.equal((await testApp().app.services.desk.ticket(system, referenceIn(staff.body))).market?.code, f.at.code)

    // Filters: urgency, topic, breaches.
    assert.doesNotMatch((await agentDe.get('/en/agent/tickets?urgency=urgent')).body, new RegExp(deRef))
    assert.match((await agentDe.get('/en/agent/tickets?topic=apps')).body, new RegExp(deRef))
    assert.equal((await agentDe.get('/en/agent/tickets?state=bogus')).statusCode, 400)
  })

  test('attachments of the wrong type, too large or too many refuse the whole ticket and store nothing', async () => {
    const before = await ticketCount()
    const renamed = await postMultipart(browser(), '/en/support/new', guestTicket('tex@guest.example'), [{ name: 'screen.png', type: 'image/png', content: Buffer.from('just some text pretending to be a picture') }])
    assert.equal(renamed.statusCode, 415)
    assert.match(renamed.body, /not a PNG, JPEG, WebP or PDF/)
    assert.match(renamed.body, /value="Service Manual shows an empty page"/, 'the form keeps what was typed')
    const html = await postMultipart(browser(), '/en/support/new', guestTicket('tex@guest.example'), [{ name: 'x.pdf', type: 'application/pdf', content: Buffer.from('<html><script>alert(1)</script></html>') }])
    assert.equal(html.statusCode, 415)
    const big = Buffer.concat([png, Buffer.alloc(5 * 1024 * 1024)])
    const large = await postMultipart(browser(), '/en/support/new', guestTicket('tex@guest.example'), [{ name: 'huge.png', type: 'image/png', content: big }])
    assert.equal(large.statusCode, 413)
    const many = await postMultipart(browser(), '/en/support/new', guestTicket('tex@guest.example'), Array.from({ length: 6 }, (_, i) => ({ name: `s${String(i)}.png`, type: 'image/png', content: png })))
    assert.equal(many.statusCode, 413)
    assert.match(many.body, /at most 5 files/)
    assert.equal(await ticketCount(), before, 'no ticket, message or file was created')
    await testApp().app.mailer.drain()
    assert.equal(mailbox().to('tex@guest.example').length, 0)
  })

  test('beside a sign-in ticket, an agent who is market administrator restores access in one click; the result is in the ticket', async () => {
    // Mario locks himself out.
    for (let i = 0; i < 10; i++) await browser().post('/it/login', { identifier: f.mario.userId, password: 'wrong-password-again' })
    const mario = await reload(testApp(), f.mario)
    assert.ok(mario.lockedUntil && mario.lockedUntil > new Date())
    const marioEmail = mario.email ?? ''
    const identity = {
      'identity.userId': mario.userId, 'identity.firstName': 'Mario', 'identity.lastName': 'Rossi', 'identity.email': marioEmail,
      'identity.companyName': 'Autofficina Rossi S.r.l.', 'identity.companyAddress': 'Via Emilia 120, 40133 Bologna',
    }
    const created = await browser().post('/it/support/new', { ...guestTicket(marioEmail), topic: 'sign-in', subject: 'Account bloccato', ...identity })
    assert.equal(created.statusCode, 201)
    const reference = referenceIn(created.body)

    const agentOnly = await signedIn('agentIt', 'it')
    const plain = await agentOnly.get(`/it/agent/tickets/${reference}`)
    assert.doesNotMatch(plain.body, /id="identity-panel"/, 'an agent without market administration sees no panel')
    assert.equal((await agentOnly.post(`/it/agent/tickets/${reference}/identity`, { action: 'restore' }, { fromPage: `/it/agent/tickets/${reference}` })).statusCode, 403)

    const admin = await signedIn('adminIt', 'it')
    const checksBefore = (await testApp().app.services.admin.auditTrail(system, { action: 'identity.checked' })).length
    const page = await admin.get(`/it/agent/tickets/${reference}`)
    assert.match(page.body, /id="identity-panel"/)
    assert.match(page.body, new RegExp(`Account ${mario.userId.replaceAll('.', '\\.')}: Mario Rossi`))
    // Before the click: each given detail beside the record, compared with the identity module's rules (punctuation ignored).
    assert.match(page.body, /<th scope="row">Indirizzo dell'azienda<\/th><td[^>]*>Via Emilia 120, 40133 Bologna<\/td><td[^>]*>Via Emilia 120 40133 Bologna<\/td><td[^>]*><span class="field-match">[^]*?corrisponde/)
    assert.equal((page.body.match(/class="field-match"/g) ?? []).length, 6, 'all six details match')
    assert.doesNotMatch(page.body, /class="field-differs"/)
    assert.match(page.body, /la verifica sarà superata/)
    assert.equal((await testApp().app.services.admin.auditTrail(system, { action: 'identity.checked' })).length, checksBefore, 'the preview records nothing')
    const done = await admin.post(`/it/agent/tickets/${reference}/identity`, { action: 'restore' }, { fromPage: `/it/agent/tickets/${reference}` })
    assert.equal(done.statusCode, 303)
    assert.match(String(done.headers.location), /done=restored/)
    assert.equal((await reload(testApp(), mario)).lockedUntil, null, 'access is restored')
    const after = await admin.get(String(done.headers.location))
    assert.match(after.body, /l&#39;accesso è ripristinato|l'accesso è ripristinato/)
    const actions = (await testApp().app.services.admin.auditTrail(system, {})).map((e) => e.action)
    assert.ok(actions.includes('identity.checked') && actions.includes('account.restored') && actions.includes('ticket.identity_action'))

    // Details that do not match change nothing, and say so in an internal note.
    const wrong = await browser().post('/it/support/new', { ...guestTicket('someone@guest.example'), topic: 'sign-in', subject: 'Account bloccato', ...identity, 'identity.lastName': 'Bianchi', 'identity.companyAddress': 'Via Altra 1' , 'identity.email': 'other@guest.example' })
    const wrongRef = referenceIn(wrong.body)
    const preview = await admin.get(`/it/agent/tickets/${wrongRef}`)
    assert.match(preview.body, /<tr class="differs"><th scope="row">Cognome<\/th><td[^>]*>Bianchi<\/td><td[^>]*>Rossi<\/td><td[^>]*><strong class="field-differs"><span aria-hidden="true">✗ <\/span>diverso<\/strong>/)
    assert.equal((preview.body.match(/class="field-differs"/g) ?? []).length, 3, 'last name, email and address differ')
    assert.match(preview.body, /la verifica non sarà superata[^<]*Diversi: Cognome, Indirizzo email e Indirizzo dell'azienda\./, 'said in words, not by colour')
    assert.equal((await testApp().app.services.admin.auditTrail(system, { action: 'identity.checked' })).length, checksBefore + 1, 'only the click was recorded')
    const refused = await admin.post(`/it/agent/tickets/${wrongRef}/identity`, { action: 'reset' }, { fromPage: `/it/agent/tickets/${wrongRef}` })
    assert.match(String(refused.headers.location), /done=check_failed/)
    const note = await admin.get(`/it/agent/tickets/${wrongRef}`)
    // The note names the fields by their labels, in the reader's language, never as internal names.
    assert.match(note.body, /non corrispondono all(&#39;|')account: cognome, indirizzo email e indirizzo dell(&#39;|')azienda\./)
    assert.doesNotMatch(note.body, /lastName|companyAddress/)
    await testApp().app.mailer.drain()
    assert.equal(mailbox().to(marioEmail).filter((m) => /password/i.test(m.subject ?? '')).length, 0, 'no reset link was sent')
  })
  test('beside a sign-in ticket, a market administrator removes a lost phone\'s second factors after the same check; an agent alone may not', async () => {
    const a = testApp()
    const garage = await workshop(a, f.it, { name: 'Officina Verdi S.n.c.', street: 'Via Roma 4', postalCode: '40121', city: 'Bologna' })
    const luisa = await user(a, { firstName: 'Luisa', lastName: 'Verdi', locale: 'it', company: garage, factor: true })
    const email = luisa.email ?? ''
    const created = await browser().post('/it/support/new', {
      ...guestTicket(email), topic: 'sign-in', subject: 'Ho perso il telefono',
      'identity.userId': luisa.userId, 'identity.firstName': 'Luisa', 'identity.lastName': 'Verdi', 'identity.email': email,
      'identity.companyName': 'Officina Verdi S.n.c.', 'identity.companyAddress': 'Via Roma 4, 40121 Bologna',
    })
    assert.equal(created.statusCode, 201)
    const reference = referenceIn(created.body)
    const ticketPath = `/it/agent/tickets/${reference}`

    // The access table decides: an agent who is not the market's administrator gets 403 and nothing changes.
    const agentOnly = await signedIn('agentIt', 'it')
    assert.equal((await agentOnly.post(`${ticketPath}/identity`, { action: 'factors' }, { fromPage: ticketPath })).statusCode, 403)
    assert.equal((await storedFactorSecrets(a, luisa)).length, 1)

    const admin = await signedIn('adminIt', 'it')
    const page = await admin.get(ticketPath)
    assert.match(page.body, /<button type="submit" class="secondary">Verifica e rimuovi i secondi fattori<\/button>/)
    const done = await admin.post(`${ticketPath}/identity`, { action: 'factors' }, { fromPage: ticketPath })
    assert.equal(done.statusCode, 303)
    assert.match(String(done.headers.location), /done=factors_reset/)
    assert.equal((await storedFactorSecrets(a, luisa)).length, 0, 'every factor is gone')
    const after = await admin.get(String(done.headers.location))
    assert.match(after.body, /i secondi fattori dell(&#39;|')account sono stati rimossi/)
    assert.match(after.body, /i secondi fattori del tuo account sono stati rimossi/, 'the requester reads it in the request')
    assert.doesNotMatch(after.body, /Verifica e rimuovi i secondi fattori/, 'nothing left to remove')
    const [mail] = await mailsTo(a, email, 'factors-reset')
    assert.equal(mail?.locale, 'it', 'the person is emailed in their language')
    const [event] = await a.app.services.admin.auditTrail(system, { action: 'factors.reset' })
    assert.equal(event?.target_id, luisa.id)
    const [action] = await a.app.services.admin.auditTrail(system, { action: 'ticket.identity_action' })
    assert.equal((action?.data as { outcome?: string } | null)?.outcome, 'factors_reset')

    // A check that fails removes nothing.
    const lost = await user(a, { firstName: 'Piero', lastName: 'Neri', locale: 'it', company: garage, factor: true })
    const wrong = await browser().post('/it/support/new', {
      ...guestTicket('piero@guest.example'), topic: 'sign-in', subject: 'Ho perso il telefono',
      'identity.userId': lost.userId, 'identity.firstName': 'Piero', 'identity.lastName': 'Bianchi', 'identity.email': 'piero@guest.example',
      'identity.companyName': 'Officina Verdi S.n.c.', 'identity.companyAddress': 'Via Altra 1, 40121 Bologna',
    })
    const wrongPath = `/it/agent/tickets/${referenceIn(wrong.body)}`
    const refused = await admin.post(`${wrongPath}/identity`, { action: 'factors' }, { fromPage: wrongPath })
    assert.match(String(refused.headers.location), /done=check_failed/)
    assert.equal((await storedFactorSecrets(a, lost)).length, 1)
    assert.equal((await mailsTo(a, lost.email ?? '', 'factors-reset')).length, 0)
  })
})

describe('SLA, waiting time, closing and reports', () => {
  beforeEach(async () => { f = await people() })

  test('on a seeded queue with a fixed clock, the waiting time comes from answered tickets and breaches are counted in /metrics', async () => {
    const desk = testApp().app.services.desk
    const agent = await signedIn('agentDe')
    const monday = new Date('2026-11-16T08:00:00Z') // 09:00 in Berlin
    // Six tickets a working day apart, each answered and solved three working hours later.
    const refs: string[] = []
    for (let day = 0; day < 6; day++) {
      const opened = new Date(monday.getTime() + (day < 5 ? day : 7) * 86_400_000)
      let restore = setClock(opened)
      try {
        refs.push(referenceIn((await browser().post('/de/support/new', guestTicket(`queue${String(day)}@guest.example`, f.de.code))).body))
      } finally { restore() }
      restore = setClock(new Date(opened.getTime() + 3 * 3_600_000))
      try {
        await desk.reply(await actorOf(testApp(), f.agentDe),
          refs[day] ?? '', { body: 'Done: the cache was full.', state: 'solved' }, { publicUrl: 'http://localhost' })
      } finally { restore() }
    }
    const restore = setClock(new Date('2026-11-25T09:00:00Z'))
    try {
      const market = await testApp().app.services.organizations.market(system, f.de.code)
      assert.ok(market)
      const estimate = await testApp().app.services.support.estimateFor(market, new Date('2026-11-25T09:00:00Z'))
      assert.ok(estimate.kind === 'range', JSON.stringify(estimate))
      assert.ok(estimate.low >= 3 && estimate.high <= 10, JSON.stringify(estimate))
    } finally { restore() }

    // An old unanswered ticket is late; the queue shows it and /metrics counts it.
    const stale = setClock(new Date(Date.now() - 10 * 86_400_000))
    let late = ''
    try {
      late = referenceIn((await browser().post('/de/support/new', guestTicket('late@guest.example', f.de.code))).body)
    } finally { stale() }
    const breached = await agent.get('/en/agent/tickets?breach=1')
    assert.match(breached.body, new RegExp(late))
    assert.match(breached.body, /class="breach"/)
    for (const r of refs) assert.doesNotMatch(breached.body, new RegExp(`>${r}<`), 'answered in time is not late')
    const metrics = (await testApp().app.inject({ url: '/metrics' })).body
    assert.match(metrics, new RegExp(`sportello_tickets\\{market="${f.de.code}",state="new"\\} [1-9]`))
    assert.match(metrics, new RegExp(`sportello_tickets_sla_breached\\{market="${f.de.code}",kind="first_response"\\} [1-9]`))
  })

  test('solved tickets close after 7 days without an answer; deflections and article tickets are reported', async () => {
    const { desk } = testApp().app.services
    const agent = await signedIn('agentIt')
    const ref = referenceIn((await browser().post('/it/support/new', { ...guestTicket('sol@guest.example'), article: 'service-manual-empty', branch: 'still-empty' })).body)
    const solvedAt = new Date(Date.now() - 8 * 86_400_000)
    const restore = setClock(solvedAt)
    try {
      assert.equal((await agent.post(`/en/agent/tickets/${ref}/state`, { state: 'solved' }, { fromPage: `/en/agent/tickets/${ref}` })).statusCode, 303)
    } finally { restore() }
    const recent = referenceIn((await browser().post('/it/support/new', guestTicket('sol2@guest.example'))).body)
    await agent.post(`/en/agent/tickets/${recent}/state`, { state: 'solved' }, { fromPage: `/en/agent/tickets/${recent}` })
    await assert.rejects(desk.closeSolved({ kind: 'guest' }), { code: 'FORBIDDEN_SCOPE' })
    const closed = await desk.closeSolved(system)
    assert.ok(closed.closed >= 1, 'this one and the queue test\'s old solved ones')
    assert.equal((await desk.ticket(system, ref)).ticket.state, 'closed')
    assert.equal((await desk.ticket(system, recent)).ticket.state, 'solved', 'solved a moment ago: stays solved')

    // Two suggested articles opened from the form; after the second the person sent the request anyway.
    const api = (body: object, type = 'application/json') => testApp().app.inject({ method: 'POST', url: '/api/v1/support/deflections', payload: JSON.stringify(body), headers: { 'content-type': type } })
    assert.equal((await api({ id: 'a'.repeat(32), locale: 'it', article: 'service-manual-empty' })).statusCode, 204)
    assert.equal((await api({ id: 'b'.repeat(32), locale: 'it', article: 'service-manual-empty' })).statusCode, 204)
    assert.equal((await api({ id: 'short', locale: 'it', article: 'x' })).statusCode, 400)
    const openapi = (await testApp().app.inject({ url: '/api/v1/openapi.json' })).json<{ paths: Record<string, unknown> }>()
    assert.ok('/api/v1/support/deflections' in openapi.paths, 'described in the OpenAPI document')
    assert.equal((await api({ id: 'c'.repeat(32), locale: 'xx', article: 'x' })).statusCode, 404)
    assert.equal((await browser().post('/it/support/new', { ...guestTicket('defl@guest.example'), deflection: 'b'.repeat(32) })).statusCode, 201)
    const report = await desk.report(system)
    assert.deepEqual(report.deflections.find((d) => d.articleSlug === 'service-manual-empty'), { locale: 'it', articleSlug: 'service-manual-empty', opened: 2, deflected: 1 })
    assert.deepEqual(report.fromArticles.find((r) => r.articleKey === 'service-manual-empty'), { articleKey: 'service-manual-empty', branch: 'still-empty', tickets: 1 })
    const page = await agent.get('/en/agent/report')
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /still-empty/)
    assert.equal((await (await signedIn('adminIt')).get('/en/agent/report')).statusCode, 200, 'market administrators read it too')
    assert.equal((await (await signedIn('mario')).get('/en/agent/report')).statusCode, 403)
  })
})

test('erasing an account removes the requester\'s details and files from their tickets', async () => {
  f = await people()
  const klaus = await signedIn('klaus', 'de')
  const created = await postMultipart(klaus, '/de/support/new', {
    topic: 'password', subject: 'Passwort vergessen', description: 'Ich habe mein Passwort vergessen und der Link kam nicht an.', urgency: 'normal',
    'identity.userId': f.klaus.userId, 'identity.firstName': 'Klaus', 'identity.lastName': 'Becker', 'identity.email': f.klaus.email ?? '',
    'identity.companyName': 'Werkstatt Becker GmbH', 'identity.companyAddress': 'Hauptstraße 45, 50667 Köln',
  }, [{ name: 'screen.png', type: 'image/png', content: png }])
  assert.equal(created.statusCode, 201)
  const reference = referenceIn(created.body)
  // The person is erased as the inactivity sweep erases anyone: long blocked and warned of it.
  await setAccount(testApp(), f.klaus, { status: 'delete_warned', lastActivityAt: new Date(Date.now() - 400 * 86_400_000), statusChangedAt: new Date(Date.now() - 40 * 86_400_000) })
  await testApp().app.services.lifecycle.sweep(system, {}, { publicUrl: testApp().config.publicUrl })
  assert.equal((await reload(testApp(), f.klaus)).status, 'deleted')
  const { ticket, attachments } = await testApp().app.services.desk.ticket(system, reference)
  assert.equal(ticket.requesterName, '')
  assert.equal(ticket.requesterEmail, '')
  assert.equal(ticket.identity, null)
  assert.deepEqual(attachments, [])
})

describe('service levels and business hours per market', () => {
  beforeEach(async () => { f = await people() })

  const url = (locale: string) => `/${locale}/admin/platform/markets/${f.at.code}/service-levels`
  const good = {
    normalFirstResponse: '1', normalResolution: '3', urgentFirstResponse: '1', urgentResolution: '2', timeZone: 'Europe/Vienna',
    open1: '09:00', close1: '10:00', open2: '09:00', close2: '10:00', open3: '09:00', close3: '10:00', open4: '09:00', close4: '10:00', open5: '09:00', close5: '10:00',
    closed6: 'on', closed7: 'on',
  }

  test('bad figures are refused in the administrator\'s language and change nothing; outside the platform it is 403', async () => {
    const platform = await signedIn('platformAdmin')
    const page = await platform.get('/en/admin/platform')
    assert.equal(page.statusCode, 200)
    assert.match(page.body, new RegExp(`action="/en/admin/platform/markets/${f.at.code}/service-levels"`))
    const before = await testApp().app.services.organizations.market(system, f.at.code)
    const cases: [Record<string, string>, number, RegExp, string?][] = [
      [{ normalResolution: '1' }, 422, /resolution time must be longer than the first-response time/],
      [{ urgentFirstResponse: '5', normalFirstResponse: '4', normalResolution: '9', urgentResolution: '6' }, 422, /Urgent requests cannot be given more time/],
      [{ normalFirstResponse: '0' }, 422, /whole working hours from 1 to 1000/],
      [{ normalResolution: '5000' }, 422, /whole working hours from 1 to 1000/],
      [{ normalFirstResponse: '1.5' }, 400, /not valid/],
      [{ close3: '08:00' }, 422, /closing time must come after the opening time/],
      [{ close3: '' }, 400, /Wednesday.*needs an opening and a closing time/],
      [{ open2: '25:00' }, 400, /not valid/],
      [{ closed1: 'on', closed2: 'on', closed3: 'on', closed4: 'on', closed5: 'on' }, 422, /At least one day must be open/],
      [{ timeZone: 'Mars/Olympus' }, 422, /&quot;Mars\/Olympus&quot; is not a known time zone|"Mars\/Olympus" is not a known time zone/],
      [{ timeZone: '+01:00' }, 422, /not a known time zone/],
      [{ timeZone: '<script>alert(1)</script>' }, 422, /not a known time zone/],
      [{ normalResolution: '1' }, 422, /Die Lösungszeit muss länger sein/, 'de'],
      [{ timeZone: 'Europe/Nowhere' }, 422, /non è un fuso orario noto/, 'it'],
    ]
    for (const [change, status, message, locale = 'en'] of cases) {
      const res = await platform.post(url(locale), { ...good, ...change }, { fromPage: `/${locale}/admin/platform` })
      assert.equal(res.statusCode, status, `${JSON.stringify(change)}: ${res.body.slice(0, 200)}`)
      assert.match(res.body, message)
      assert.doesNotMatch(res.body, /<script>alert/)
    }
    assert.equal((await (await signedIn('adminIt')).post(url('en'), good, { fromPage: '/en/support/new' })).statusCode, 403, 'a market administrator is not the platform')
    assert.equal((await platform.post('/en/admin/platform/markets/ZZ/service-levels', good, { fromPage: '/en/admin/platform' })).statusCode, 404)
    assert.deepEqual(await testApp().app.services.organizations.market(system, f.at.code), before, 'nothing changed')
    assert.equal((await testApp().app.services.admin.auditTrail(system, { action: 'market.service_levels_changed' })).length, 0)
  })

  test('a platform administrator\'s edit is audited and the very next ticket of the market is due by the new figures', async () => {
    // A ticket first, so the intake has the market in its cache.
    const first = referenceIn((await browser().post('/en/support/new', guestTicket('at1@guest.example', f.at.code))).body)
    assert.ok(first)
    const firstDue = (await testApp().app.services.desk.ticket(system, first)).ticket.resolutionDue
    const platform = await signedIn('platformAdmin')
    const saved = await platform.post(url('en'), good, { fromPage: '/en/admin/platform' })
    assert.equal(saved.statusCode, 303, saved.body.slice(0, 300))
    const page = await platform.get(String(saved.headers.location))
    assert.match(page.body, /service levels and support hours are saved/)
    assert.match(page.body, new RegExp(`id="${f.at.code}-normalResolution" name="normalResolution" type="number"[^>]*value="3"`))
    assert.match(page.body, new RegExp(`id="${f.at.code}-closed6" name="closed6" checked`))

    const market = await testApp().app.services.organizations.market(system, f.at.code)
    assert.ok(market)
    assert.deepEqual(market.sla, { normal: { firstResponse: 1, resolution: 3 }, urgent: { firstResponse: 1, resolution: 2 } })
    assert.deepEqual(market.businessHours, { 1: ['09:00', '10:00'], 2: ['09:00', '10:00'], 3: ['09:00', '10:00'], 4: ['09:00', '10:00'], 5: ['09:00', '10:00'] })
    const [event] = await testApp().app.services.admin.auditTrail(system, { action: 'market.service_levels_changed' })
    assert.ok(event?.data)
    const data = event.data as { before: { sla: unknown }; after: { sla: unknown; timeZone: string } }
    assert.deepEqual(data.after.sla, market.sla)
    assert.deepEqual(data.before.sla, { normal: { firstResponse: 8, resolution: 40 }, urgent: { firstResponse: 2, resolution: 16 } })

    const next = referenceIn((await browser().post('/en/support/new', { ...guestTicket('at2@guest.example', f.at.code), urgency: 'urgent' })).body)
    const { ticket } = await testApp().app.services.desk.ticket(system, next)
    assert.equal(ticket.firstResponseDue.getTime(), addWorkingHours(market.businessHours, 'Europe/Vienna', ticket.createdAt, 1).getTime())
    assert.equal(ticket.resolutionDue.getTime(), addWorkingHours(market.businessHours, 'Europe/Vienna', ticket.createdAt, 2).getTime())
    // One working hour a day: two working hours take two opening days.
    assert.ok(ticket.resolutionDue.getTime() - ticket.createdAt.getTime() >= 23 * 3_600_000, 'counted in the new business hours')
    assert.deepEqual((await testApp().app.services.desk.ticket(system, first)).ticket.resolutionDue, firstDue, 'tickets already received keep their due times')
  })
})

describe('files with answers', () => {
  beforeEach(async () => { f = await people() })

  test('the requester and the agent attach files to their answers; a bad file refuses the whole answer; a note\'s files stay with the team', async () => {
    const { desk } = testApp().app.services
    const created = await postMultipart(browser(), '/en/support/new', guestTicket('fia@guest.example'), [])
    const reference = referenceIn(created.body)
    await testApp().app.mailer.drain()
    const link = new URL(mailbox().linkIn(mailbox().to('fia@guest.example').at(-1), `${testApp().config.publicUrl}/en/support/tickets/`)).pathname
    const requester = browser()
    assert.equal((await requester.get(link)).statusCode, 303)
    const ticketUrl = `/en/support/tickets/${reference}`
    const form = await requester.get(ticketUrl)
    assert.match(form.body, /action="[^"]+\/reply" enctype="multipart\/form-data"/, 'the answer form sends files without script')
    assert.match(form.body, /<input id="reply-attachments" name="attachments" type="file"[^>]* multiple/)

    // Bad files: the whole answer is refused, in the requester's language, and nothing is stored.
    const before = await desk.ticket(system, reference)
    const fake = await postMultipart(requester, `${ticketUrl}/reply`, { message: 'Here is the screenshot.' }, [{ name: 'shot.png', type: 'image/png', content: pdf }, { name: 'fake.png', type: 'image/png', content: Buffer.from('not a picture at all') }], ticketUrl)
    assert.equal(fake.statusCode, 415)
    assert.match(fake.body, /role="alert"[^>]*>[^<]*fake\.bin[^<]*is not a PNG, JPEG, WebP or PDF/)
    assert.match(fake.body, /<textarea id="message"[^>]*>Here is the screenshot\.<\/textarea>/, 'the answer keeps its text')
    const many = await postMultipart(requester, `${ticketUrl}/reply`, { message: 'Six screenshots.' }, Array.from({ length: 6 }, (_, i) => ({ name: `s${String(i)}.png`, type: 'image/png', content: png })), ticketUrl)
    assert.equal(many.statusCode, 413)
    assert.match(many.body, /at most 5 files/)
    const large = await postMultipart(requester, `${ticketUrl}/reply`, { message: 'A big one.' }, [{ name: 'big.png', type: 'image/png', content: Buffer.concat([png, Buffer.alloc(5 * 1024 * 1024)]) }], ticketUrl)
    assert.equal(large.statusCode, 413)
    const unchanged = await desk.ticket(system, reference)
    assert.equal(unchanged.messages.length, before.messages.length, 'no answer was added')
    assert.equal(unchanged.attachments.length, 0, 'no file was stored')
    assert.equal(unchanged.ticket.state, before.ticket.state)

    const answered = await postMultipart(requester, `${ticketUrl}/reply`, { message: 'Here is the screenshot and the invoice.' }, [{ name: 'shot.png', type: 'image/png', content: png }, { name: 'invoice.pdf', type: 'application/pdf', content: pdf }], ticketUrl)
    assert.equal(answered.statusCode, 303, answered.body.slice(0, 300))
    const mine = await requester.get(ticketUrl)
    assert.match(mine.body, /Here is the screenshot and the invoice\.<\/p><\/div><ul class="attachments"[^>]*><li><a href="[^"]+\/attachments\/\d+" download="shot\.png">shot\.png/, 'the files are shown with the answer they came with')
    const agent = await signedIn('agentIt')
    const agentPage = await agent.get(`/en/agent/tickets/${reference}`)
    assert.match(agentPage.body, /invoice\.pdf/)
    const fromRequester = /href="(\/en\/agent\/tickets\/[^"]+\/attachments\/\d+)" download="invoice\.pdf"/.exec(agentPage.body)?.[1] ?? ''
    const download = await agent.get(fromRequester)
    assert.equal(download.statusCode, 200)
    assert.equal(download.headers['content-type'], 'application/pdf')
    assert.equal((await (await signedIn('agentDe')).get(fromRequester)).statusCode, 403, 'not for another market\'s agent')

    // The agent: a bad file refuses the reply (no email), a good one goes with it; a note's file stays internal.
    const ticketPage = `/en/agent/tickets/${reference}`
    await testApp().app.mailer.drain()
    const mailsBefore = mailbox().to('fia@guest.example').length
    const badReply = await postMultipart(agent, `${ticketPage}/reply`, { message: 'See the attached guide.', state: 'waiting_on_requester' }, [{ name: 'guide.pdf', type: 'application/pdf', content: Buffer.from('<html>not a pdf</html>') }], ticketPage)
    assert.equal(badReply.statusCode, 415)
    assert.match(badReply.body, /not a PNG, JPEG, WebP or PDF/)
    assert.match(badReply.body, /<textarea id="reply"[^>]*>See the attached guide\.<\/textarea>/, 'the reply keeps its text')
    assert.match(badReply.body, /<textarea id="note"[^>]*><\/textarea>/)
    assert.equal((await desk.ticket(system, reference)).messages.length, unchanged.messages.length + 1, 'the refused reply added nothing')
    const reply = await postMultipart(agent, `${ticketPage}/reply`, { message: 'See the attached guide.', state: 'waiting_on_requester' }, [{ name: 'guide.pdf', type: 'application/pdf', content: pdf }], ticketPage)
    assert.equal(reply.statusCode, 303, reply.body.slice(0, 300))
    const note = await postMultipart(agent, `${ticketPage}/note`, { message: 'Internal: the log excerpt.' }, [{ name: 'server-log.png', type: 'image/png', content: png }], ticketPage)
    assert.equal(note.statusCode, 303, note.body.slice(0, 300))
    await testApp().app.mailer.drain()
    assert.equal(mailbox().to('fia@guest.example').length, mailsBefore + 1, 'one email, for the reply that was sent')

    const withAnswer = await requester.get(ticketUrl)
    assert.match(withAnswer.body, /See the attached guide\.<\/p><\/div><ul class="attachments"[^>]*><li><a href="[^"]+" download="guide\.pdf">/)
    const guide = /href="(\/en\/support\/tickets\/[^"]+\/attachments\/\d+)" download="guide\.pdf"/.exec(withAnswer.body)?.[1] ?? ''
    assert.equal((await requester.get(guide)).statusCode, 200, 'the requester downloads the agent\'s file')
    assert.equal((await browser().get(guide)).statusCode, 404, 'nobody else does')
    assert.doesNotMatch(withAnswer.body, /server-log\.png|log excerpt/, 'a note and its file never reach the requester')
    const { attachments } = await desk.ticket(system, reference)
    const internal = attachments.find((a) => a.fileName === 'server-log.png')
    assert.ok(internal, 'the agent sees the note\'s file')
    assert.equal((await requester.get(`${ticketUrl}/attachments/${String(internal.id)}`)).statusCode, 404, 'nor can the requester fetch it by its number')
    assert.equal((await agent.get(`${ticketPage}/attachments/${String(internal.id)}`)).statusCode, 200)
  })
})
