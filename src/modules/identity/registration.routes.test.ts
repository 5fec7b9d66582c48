import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setClock } from '../../shared/clock.js'
import { company, market, system, user, type CompanyRow } from '../../../test/factories.js'
import { testBrowser, useFixture, useTestApp } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'

const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url }) })
const browser = () => testBrowser(() => testApp().app)

/** The company people register with: an existing workshop with its organization administrator. */
let workshop: CompanyRow
useFixture(testApp, async (app) => {
  workshop = await company(app)
  await user(app, { company: workshop, roles: [{ role: 'org_admin', companyId: workshop.id }] })
})

const person = () => ({
  userId: 'lverdi01', firstName: 'Laura', lastName: 'Verdi', email: 'laura.verdi@officina.example',
  password: 'olive harbour drum lantern', confirm: 'olive harbour drum lantern', companyKind: 'existing', companyNumber: workshop.companyNumber,
})

async function lastMail(to: string) {
  await testApp().app.mailer.drain()
  return mailbox().to(to).at(-1)
}

test('a partner registers with an existing company, verifies by link, waits for the organization administrator, and can sign in', async () => {
  const b = browser()
  const form = await b.get('/it/register')
  assert.equal(form.statusCode, 200)
  const res = await b.post('/it/register', person())
  assert.equal(res.statusCode, 200)
  assert.match(res.body, /Controlla la tua email/)
  const mail = await lastMail(person().email)
  assert.ok(mail)
  assert.equal(mail.subject, 'Verifica il tuo indirizzo email')
  assert.match(String(mail.text), /Il tuo codice è \d{6}/)
  assert.equal((await testApp().app.services.auth.findAccount(system, 'partner', 'lverdi01'))?.status, 'pending_verification')

  const link = new URL(mailbox().linkIn(mail, `${testApp().config.publicUrl}/it/verify/`)).pathname
  const verified = await b.get(link)
  assert.equal(verified.statusCode, 200)
  assert.match(verified.body, /l&#39;amministratore dell&#39;organizzazione della tua azienda approva|l'amministratore dell'organizzazione della tua azienda approva/)
  const account = await testApp().app.services.auth.findAccount(system, 'partner', 'lverdi01')
  assert.equal(account?.status, 'pending_approval')
  assert.ok(account.emailVerifiedAt)
  assert.equal(account.companyId, workshop.id)
  assert.equal((await b.get(link)).statusCode, 400, 'a verification link works once')

  const signIn = await b.post('/it/login', { identifier: 'lverdi01', password: person().password })
  assert.equal(signIn.statusCode, 303)
  assert.match((await b.get('/it/help')).body, /Accesso come Laura Verdi/)
})

test('an email already used in the realm answers as if it worked and tells the owner; nothing is created', async () => {
  await user(testApp(), { email: 'mario.rossi@officina.example', locale: 'it' })
  const b = browser()
  const res = await b.post('/en/register', { ...person(), userId: 'someoneelse', email: 'Mario.Rossi@officina.example' })
  assert.equal(res.statusCode, 200)
  assert.match(res.body, /Check your email/)
  // The user ID is held for a day like any registration's, but by an account without an address that nothing can verify.
  const held = await testApp().app.services.auth.findAccount(system, 'partner', 'someoneelse')
  assert.equal(held?.email ?? null, null)
  assert.equal(held?.status, 'pending_verification')
  const mail = await lastMail('mario.rossi@officina.example')
  assert.equal(mail?.subject, 'Qualcuno ha provato a registrarsi con il tuo indirizzo email')
})

test('a new independent workshop is created waiting for the market administrator; the code verifies too', async () => {
  const germany = await market(testApp())
  const b = browser()
  const res = await b.post('/de/register', {
    userId: 'tneumann', firstName: 'Tim', lastName: 'Neumann', email: 'tim@neumann-kfz.example', password: 'gravel meadow copper tide', confirm: 'gravel meadow copper tide',
    companyKind: 'new', companyName: 'Kfz Neumann', street: 'Ringstraße 3', postalCode: '80331', city: 'München', market: germany.code,
  })
  assert.equal(res.statusCode, 200)
  const code = /Ihr Code lautet (\d{6})/.exec((await lastMail('tim@neumann-kfz.example'))?.text ?? '')?.[1]
  assert.ok(code)
  const wrong = await b.post('/de/verify', { userId: 'tneumann', code: code === '000000' ? '111111' : '000000' }, { fromPage: '/de/register' })
  assert.equal(wrong.statusCode, 400)
  const ok = await b.post('/de/verify', { userId: 'tneumann', code }, { fromPage: '/de/register' })
  assert.equal(ok.statusCode, 200)
  assert.match(ok.body, /Marktadministrator die neue Werkstatt/)
  const user = await testApp().app.services.auth.findAccount(system, 'partner', 'tneumann')
  assert.equal(user?.status, 'pending_approval')
  const company = await testApp().app.services.organizations.company(system, user.companyId ?? 0)
  assert.equal(company?.status, 'pending_approval')
  assert.equal(company.name, 'Kfz Neumann')
  assert.equal(company.marketId, germany.id)
})

test('the Parts Shop registers its own, separate accounts', async () => {
  const res = await browser().post('/it/shop/register', { ...person(), userId: 'lverdi.shop', email: 'laura.shop@example.com' })
  assert.equal(res.statusCode, 200)
  assert.ok(await testApp().app.services.auth.findAccount(system, 'shop', 'lverdi.shop'))
  assert.equal(await testApp().app.services.auth.findAccount(system, 'partner', 'lverdi.shop'), undefined)
})

test('bad registrations are refused in the user\'s language and create nothing', async () => {
  const taken = await user(testApp())
  const cases: [Record<string, string>, number, RegExp][] = [
    [{ ...person(), userId: taken.userId, email: 'x1@example.com' }, 409, /già in uso/],
    [{ ...person(), userId: 'newone1', email: 'x2@example.com', companyNumber: 'XX-99999' }, 422, /Non conosciamo questo codice azienda/],
    [{ ...person(), userId: 'newone2', email: 'not-an-email' }, 400, /email/],
    [{ ...person(), userId: '<script>', email: 'x3@example.com' }, 400, /userId/],
    [{ ...person(), userId: 'newone3', email: 'x4@example.com', password: 'password1234', confirm: 'password1234' }, 422, /troppo comune/],
    [{ ...person(), userId: 'newone4', email: 'x5@example.com', confirm: 'something else entirely' }, 422, /non coincidono/],
    [{ ...person(), userId: 'newone5', email: 'x6@example.com', companyNumber: '' }, 400, /Codice azienda/],
    [{ ...person(), userId: 'newone6', email: `${'a'.repeat(250)}@example.com` }, 400, /email/],
  ]
  for (const [form, status, message] of cases) {
    const res = await browser().post('/it/register', form)
    assert.equal(res.statusCode, status, JSON.stringify(form).slice(0, 100))
    assert.match(res.body, message)
    assert.match(res.body, /<html lang="it">/)
    assert.doesNotMatch(res.body, /<script>/)
  }
  for (const id of ['newone1', 'newone2', 'newone3', 'newone4', 'newone5', 'newone6']) {
    assert.equal(await testApp().app.services.auth.findAccount(system, 'partner', id), undefined, id)
  }
})

test('a new link and code can be sent; the old ones stop working; unknown user IDs get the same answer', async () => {
  const b = browser()
  await b.post('/en/register', { ...person(), userId: 'resender', email: 'resend@example.com' })
  const first = await lastMail('resend@example.com')
  const firstLink = new URL(mailbox().linkIn(first, `${testApp().config.publicUrl}/en/verify/`)).pathname
  const again = await b.post('/en/verify/resend', { userId: 'resender' }, { fromPage: '/en/register' })
  assert.equal(again.statusCode, 200)
  const unknown = await b.post('/en/verify/resend', { userId: 'nobody-like-this' }, { fromPage: '/en/register' })
  assert.equal(unknown.statusCode, 200)
  assert.equal(unknown.body.replace(/value="[^"]*"/g, ''), again.body.replace(/value="[^"]*"/g, ''))
  const second = await lastMail('resend@example.com')
  assert.notEqual(second?.messageId, first?.messageId)
  assert.equal((await b.get(firstLink)).statusCode, 400, 'the first link died with the new one')
  const secondLink = new URL(mailbox().linkIn(second, `${testApp().config.publicUrl}/en/verify/`)).pathname
  assert.equal((await b.get(secondLink)).statusCode, 200)
})

const pageOf = (body: string) => body.replace(/value="[^"]*"/g, '').replace(/[\w.+-]+@[\w.-]+/g, '<email>')

test('six registrations at once with one user ID (or a case variant) make one account; the others are told the ID is taken', async () => {
  const answers = await Promise.all(['race01', 'race01', 'RACE01', 'race01', 'Race01', 'race01'].map((userId, i) =>
    browser().post('/en/register', { ...person(), userId, email: `race${String(i)}@example.com` })))
  const statuses = answers.map((a) => a.statusCode).sort()
  assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409], answers.map((a) => `${String(a.statusCode)} ${a.body.slice(0, 80)}`).join('\n'))
  for (const answer of answers.filter((a) => a.statusCode === 409)) assert.match(answer.body, /already (?:in use|taken)/)
  const sameEmail = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => browser().post('/en/register', { ...person(), userId: `same${String(n)}`, email: 'same.address@example.com' })))
  assert.deepEqual(sameEmail.map((a) => a.statusCode), [200, 200, 200, 200, 200, 200])
})

test('a taken address and a fresh one get the same answer and page, and replaying the user ID tells nothing about the address', async () => {
  const owner = await user(testApp(), { email: 'owner.replay@example.com' })
  const taken = await browser().post('/en/register', { ...person(), userId: 'replay.taken', email: owner.email ?? '' })
  const fresh = await browser().post('/en/register', { ...person(), userId: 'replay.fresh', email: 'fresh.replay@example.com' })
  assert.equal(taken.statusCode, fresh.statusCode)
  assert.equal(pageOf(taken.body), pageOf(fresh.body))
  const replayTaken = await browser().post('/en/register', { ...person(), userId: 'replay.taken', email: 'other1.replay@example.com' })
  const replayFresh = await browser().post('/en/register', { ...person(), userId: 'replay.fresh', email: 'other2.replay@example.com' })
  assert.equal(replayTaken.statusCode, 409)
  assert.equal(replayFresh.statusCode, 409)
  assert.equal(pageOf(replayTaken.body), pageOf(replayFresh.body))
})

test('an unverified registration ends after 24 hours: its user ID and address are free again', async () => {
  const { app } = testApp()
  const b = browser()
  assert.equal((await b.post('/en/register', { ...person(), userId: 'expiring', email: 'expiring@example.com' })).statusCode, 200)
  const undo = setClock(new Date(Date.now() + 25 * 60 * 60 * 1000))
  try {
    assert.ok((await app.services.auth.purgeUnverified()) >= 1)
  } finally {
    undo()
  }
  assert.equal(await app.services.auth.findAccount(system, 'partner', 'expiring'), undefined)
  assert.equal((await browser().post('/en/register', { ...person(), userId: 'expiring', email: 'expiring@example.com' })).statusCode, 200)
})

test('a pending registration does not hold an address: its owner registers, verifies and wins', async () => {
  const { app } = testApp()
  assert.equal((await browser().post('/en/register', { ...person(), userId: 'squatter', email: 'victim@example.com' })).statusCode, 200)
  const b = browser()
  assert.equal((await b.post('/en/register', { ...person(), userId: 'victim', email: 'victim@example.com' })).statusCode, 200)
  const mail = await lastMail('victim@example.com')
  assert.match(String(mail?.text), /victim/)
  const link = new URL(mailbox().linkIn(mail, `${testApp().config.publicUrl}/en/verify/`)).pathname
  assert.equal((await b.get(link)).statusCode, 200)
  assert.equal((await app.services.auth.findAccount(system, 'partner', 'victim'))?.status, 'pending_approval')
  // The squatter's own emailed link no longer verifies: the address has an owner now.
  const squatterMail = mailbox().to('victim@example.com').find((m) => /squatter/.test(String(m.text)))
  assert.ok(squatterMail)
  const squatterLink = new URL(mailbox().linkIn(squatterMail, `${testApp().config.publicUrl}/en/verify/`)).pathname
  assert.notEqual((await browser().get(squatterLink)).statusCode, 200)
  assert.equal((await app.services.auth.findAccount(system, 'partner', 'squatter'))?.status, 'pending_verification')
})
