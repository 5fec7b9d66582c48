import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setClock } from '../../shared/clock.js'
import { TEST_PASSWORD, actorOf, company, market, reload, signIn, system, user } from '../../../test/factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'

const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url }) })
const browser = () => testBrowser(() => testApp().app)
const ctx = () => ({ publicUrl: testApp().config.publicUrl })

async function lastMail(to: string) {
  await testApp().app.mailer.drain()
  return mailbox().to(to).at(-1)
}

function codeIn(text: string | undefined): string {
  const code = /\b(\d{6})\b/.exec(text ?? '')?.[1]
  assert.ok(code, 'a 6-digit code in the email')
  return code
}

async function account(userId: string, realm = 'partner') {
  const found = await testApp().app.services.auth.findAccount(system, realm, userId)
  assert.ok(found, userId)
  return found
}

/** A workshop in a new market, with its address, as the identity checks compare it. */
async function workshop(marketRow?: Awaited<ReturnType<typeof market>>) {
  return company(testApp(), { market: marketRow ?? await market(testApp()), name: 'Officina Blu S.r.l.', street: 'Via Emilia 120', postalCode: '40133', city: 'Bologna' })
}

describe('invitations and the first email verification', () => {
  test('an invited user chooses a password, must confirm an email before anything but help, then gets in', async () => {
    const { app, config } = testApp()
    const officina = await workshop()
    const colleague = await user(app, { company: officina })
    const { link } = await app.services.administration.invite(system, {
      realm: 'partner', userId: 'tnew01', firstName: 'Tina', lastName: 'Neri', email: 'tina.neri@officina-blu.example',
      companyNumber: officina.companyNumber, locale: 'it', role: 'user',
    }, ctx())
    const mail = await lastMail('tina.neri@officina-blu.example')
    assert.equal(mail?.subject, 'Il tuo account sul portale partner Demo Motors')
    const emailed = mailbox().linkIn(mail, `${config.publicUrl}/it/invite/`)
    assert.equal(emailed, link, 'the CLI gets the same link that was emailed')

    const b = browser()
    const page = await b.get(new URL(emailed).pathname)
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /Il tuo ID utente è tnew01/)
    assert.equal((await b.post(new URL(emailed).pathname, { password: 'password', confirm: 'password' })).statusCode, 422)
    const accepted = await b.post(new URL(emailed).pathname, { password: 'silver meadow fox quartz', confirm: 'silver meadow fox quartz' })
    assert.equal(accepted.statusCode, 303)
    assert.equal(accepted.headers.location, '/it/account/email')

    for (const gated of ['/it/account', '/it/partners', '/it/support/new', '/de/account']) {
      const res = await b.get(gated)
      assert.equal(res.statusCode, 303, gated)
      assert.equal(res.headers.location, `/${gated.split('/')[1]}/account/email`)
    }
    assert.equal((await b.get('/it/help')).statusCode, 200, 'help stays open')
    const gate = await b.get('/it/account/email')
    assert.match(gate.body, /Conferma il tuo indirizzo email/)
    assert.match(gate.body, /value="tina.neri@officina-blu.example"/, 'the invited address is suggested')

    assert.equal((await b.post('/it/account/email', { email: colleague.email ?? '' }, { fromPage: '/it/account/email' })).statusCode, 409, 'an address of another account is refused')
    assert.equal((await b.post('/it/account/email', { email: 'tina.neri@officina-blu.example' }, { fromPage: '/it/account/email' })).statusCode, 303)
    const codeMail = await lastMail('tina.neri@officina-blu.example')
    assert.equal(codeMail?.subject, 'Verifica il tuo indirizzo email')
    assert.equal((await b.post('/it/account/email/code', { code: '000000' === codeIn(codeMail.text) ? '111111' : '000000' }, { fromPage: '/it/account/email' })).statusCode, 400)
    const verified = await b.post('/it/account/email/code', { code: codeIn(codeMail.text) }, { fromPage: '/it/account/email' })
    assert.equal(verified.statusCode, 303)
    assert.equal(verified.headers.location, '/it/account?done=email')
    const home = await b.get(verified.headers.location)
    assert.equal(home.statusCode, 200)
    assert.match(home.body, /Indirizzo email confermato\./)
    assert.ok((await account('tnew01')).emailVerifiedAt)
    assert.equal((await account('tnew01')).status, 'active', 'an invitation needs no approval')

    const again = await browser().get(new URL(emailed).pathname)
    assert.equal(again.statusCode, 400, 'the invitation works once')
    assert.match(again.body, /Questo link non è più valido/)
  })

  test('an invitation without an email (handed over by the CLI operator) expires after 7 days', async (t) => {
    const { app } = testApp()
    const { link } = await app.services.administration.invite(system, {
      realm: 'shop', userId: 'shop.new', firstName: 'Sara', lastName: 'Gialli', email: null, companyNumber: (await workshop()).companyNumber, locale: 'en', role: 'user',
    }, ctx())
    assert.ok(link)
    const path = new URL(link).pathname
    assert.equal((await browser().get(path)).statusCode, 200)
    t.after(setClock(new Date(Date.now() + 8 * 24 * 60 * 60 * 1000)))
    const late = await browser().post(path, { password: 'silver meadow fox quartz', confirm: 'silver meadow fox quartz' }, { fromPage: '/en/login' })
    assert.equal(late.statusCode, 400)
    assert.equal((await account('shop.new', 'shop')).passwordHash, null)
  })

  test('who may invite: organization admins for their company, market admins for their market, nobody else', async () => {
    const { app } = testApp()
    const [italy, germany] = [await market(app), await market(app)]
    const [own, neighbour, abroad] = [await company(app, { market: italy }), await company(app, { market: italy }), await company(app, { market: germany })]
    const orgAdmin = await user(app, { company: own, roles: [{ role: 'org_admin', companyId: own.id }] })
    const marketAdmin = await user(app, { roles: [{ role: 'market_admin', marketId: italy.id }] })
    const member = await user(app, { company: own })
    const platform = await user(app, { roles: [{ role: 'platform_admin' }] })
    const invite = async (who: typeof member, userId: string, companyNumber: string) => app.services.administration.invite(await actorOf(app, who), {
      realm: 'partner', userId, firstName: 'New', lastName: 'Person', email: `${userId}@example.com`, companyNumber, locale: 'en', role: 'user',
    }, ctx())
    const byOrgAdmin = await invite(orgAdmin, 'inv.org', own.companyNumber)
    assert.equal(byOrgAdmin.link, null, 'a console invitation goes by email only')
    await assert.rejects(invite(orgAdmin, 'inv.org2', neighbour.companyNumber), { code: 'FORBIDDEN_SCOPE' })
    await invite(marketAdmin, 'inv.market', neighbour.companyNumber)
    await assert.rejects(invite(marketAdmin, 'inv.market2', abroad.companyNumber), { code: 'FORBIDDEN_SCOPE' })
    await assert.rejects(invite(member, 'inv.user', own.companyNumber), { code: 'FORBIDDEN_SCOPE' })
    await assert.rejects(invite(platform, 'inv.bad', 'XX-404'), { code: 'COMPANY_NOT_FOUND' })
    await assert.rejects(invite(platform, member.userId, own.companyNumber), { code: 'USER_ID_TAKEN' })
    await assert.rejects(invite(platform, 'a', own.companyNumber), { code: 'INVALID_INPUT' })
    assert.ok(await app.services.auth.findAccount(system, 'partner', 'inv.org'))
    assert.ok(await app.services.auth.findAccount(system, 'partner', 'inv.market'))
    for (const refused of ['inv.org2', 'inv.market2', 'inv.user', 'inv.bad']) assert.equal(await app.services.auth.findAccount(system, 'partner', refused), undefined, refused)
  })
})

describe('changing the email address', () => {
  test('needs the password, verifies the new address, tells the old one and kills reset links sent there', async () => {
    const { app } = testApp()
    const klaus = await user(app, { firstName: 'Klaus', lastName: 'Becker', email: 'klaus.becker@werkstatt.example', locale: 'de' })
    const other = await user(app)
    const b = await signIn(browser(), klaus)
    const page = await b.get('/de/account/email')
    assert.match(page.body, /E-Mail-Adresse ändern/)
    assert.equal((await b.post('/de/account/email', { email: 'klaus@becker-neu.example', password: 'falsches-passwort' }, { fromPage: '/de/account/email' })).statusCode, 422)
    assert.equal((await b.post('/de/account/email', { email: 'klaus.becker@werkstatt.example', password: TEST_PASSWORD }, { fromPage: '/de/account/email' })).statusCode, 422, 'the same address is no change')
    assert.equal((await b.post('/de/account/email', { email: other.email ?? '', password: TEST_PASSWORD }, { fromPage: '/de/account/email' })).statusCode, 409)
    assert.equal(mailbox().to('klaus@becker-neu.example').length, 0)

    await app.services.auth.requestPasswordReset(system, { realm: 'partner', identifier: klaus.userId, locale: 'de' }, ctx()).settled
    const reset = await lastMail('klaus.becker@werkstatt.example')
    const resetPath = new URL(mailbox().linkIn(reset, `${testApp().config.publicUrl}/de/password/reset/`)).pathname

    assert.equal((await b.post('/de/account/email', { email: 'klaus@becker-neu.example', password: TEST_PASSWORD }, { fromPage: '/de/account/email' })).statusCode, 303)
    assert.match((await b.get('/de/account/email')).body, /an klaus@becker-neu.example gesendet/)
    assert.equal((await b.get('/de/account')).statusCode, 200, 'a pending change does not lock the account out')
    const code = codeIn((await lastMail('klaus@becker-neu.example'))?.text)
    assert.equal((await b.post('/de/account/email/code', { code }, { fromPage: '/de/account/email' })).statusCode, 303)

    const told = await lastMail('klaus.becker@werkstatt.example')
    assert.equal(told?.subject, 'Die E-Mail-Adresse Ihres Kontos wurde geändert')
    assert.match(String(told.text), /klaus@becker-neu.example/)
    assert.equal((await browser().get(resetPath)).statusCode, 400, 'a reset link sent to the old address stops working')
    assert.equal((await reload(app, klaus)).email, 'klaus@becker-neu.example')
    assert.equal((await browser().post('/de/login', { identifier: 'klaus@becker-neu.example', password: TEST_PASSWORD })).statusCode, 303)
  })

  test('name and language are the user\'s to change; a bad language changes nothing', async () => {
    const james = await user(testApp(), { firstName: 'James', lastName: 'Hartley', locale: 'en' })
    const b = await signIn(browser(), james)
    assert.equal((await b.post('/en/account/profile', { firstName: 'Jim', lastName: 'Hartley', locale: 'xx' }, { fromPage: '/en/account' })).statusCode, 400)
    assert.equal((await reload(testApp(), james)).firstName, 'James', 'the refused form changed nothing')
    const saved = await b.post('/en/account/profile', { firstName: 'Jim', lastName: 'Hartley', locale: 'de' }, { fromPage: '/en/account' })
    assert.equal(saved.statusCode, 303)
    assert.equal(saved.headers.location, '/de/account?done=profile')
    const after = await reload(testApp(), james)
    assert.equal(after.firstName, 'Jim')
    assert.equal(after.locale, 'de')
  })
})

describe('administrator services', () => {
  test('a market administrator restores a blocked user of the market, who can sign in again; other markets are out of scope', async () => {
    const { app } = testApp()
    const italy = await market(app)
    const officina = await workshop(italy)
    const admin = await user(app, { roles: [{ role: 'market_admin', marketId: italy.id }] })
    const adminIt = await actorOf(app, admin)
    const blocked = await user(app, { userId: 'blocked.it', firstName: 'Bruno', lastName: 'Blu', email: 'bruno@officina-blu.example', locale: 'it', company: officina, status: 'blocked' })
    assert.equal((await browser().post('/it/login', { identifier: 'blocked.it', password: TEST_PASSWORD })).statusCode, 403)
    await assert.rejects(app.services.administration.restoreAccess(adminIt, blocked.id, ctx()), { code: 'IDENTITY_CHECK_REQUIRED' })
    const claims = { userId: 'BLOCKED.IT', firstName: 'bruno', lastName: 'Bianchi', email: 'bruno@officina-blu.example', companyName: 'Officina Blu srl', companyAddress: 'Via Emilia 120, 40133 Bologna' }
    const wrongName = await app.services.administration.checkIdentity(adminIt, blocked.id, claims, ctx())
    assert.deepEqual(wrongName, { passed: false, fields: { userId: true, firstName: true, lastName: false, email: true, companyName: true, companyAddress: true } })
    await assert.rejects(app.services.administration.restoreAccess(adminIt, blocked.id, ctx()), { code: 'IDENTITY_CHECK_REQUIRED' })
    assert.equal((await app.services.administration.checkIdentity(adminIt, blocked.id, { ...claims, lastName: 'Blu', email: 'old@mailbox.example' }, ctx())).passed, true)
    await app.services.administration.restoreAccess(adminIt, blocked.id, { ...ctx(), requestId: 'req-restore-1' })
    assert.equal((await reload(app, blocked)).status, 'active')
    assert.equal((await browser().post('/it/login', { identifier: 'blocked.it', password: TEST_PASSWORD })).statusCode, 303)
    const restored = (await app.services.administration.timeline(adminIt, blocked.id)).filter((e) => e.action === 'account.restored')
    assert.deepEqual(restored.map((e) => [e.actorId, e.requestId, e.data]), [[admin.id, 'req-restore-1', { via: 'restore', before: { status: 'blocked', lockedUntil: null }, after: { status: 'active', lockedUntil: null } }]])

    const abroad = await user(app, { company: await company(app), status: 'blocked' })
    await assert.rejects(app.services.administration.restoreAccess(adminIt, abroad.id, ctx()), { code: 'FORBIDDEN_SCOPE' })
    const orgAdmin = await actorOf(app, await user(app, { company: officina, roles: [{ role: 'org_admin', companyId: officina.id }] }))
    const colleague = await user(app, { company: officina, status: 'blocked' })
    await assert.rejects(app.services.administration.restoreAccess(orgAdmin, colleague.id, ctx()), { code: 'FORBIDDEN_SCOPE' }, 'restoring access is for market administrators')
    assert.equal((await reload(app, abroad)).status, 'blocked')
    assert.equal((await reload(app, colleague)).status, 'blocked')
  })

  test('an administrator reset to a new address leaves it unverified: the user resets, signs in and confirms it first', async () => {
    const { app, config } = testApp()
    const italy = await market(app)
    const adminIt = await actorOf(app, await user(app, { roles: [{ role: 'market_admin', marketId: italy.id }] }))
    const mario = await user(app, { firstName: 'Mario', lastName: 'Rossi', locale: 'it', company: await workshop(italy) })
    const other = await user(app)
    await app.services.administration.checkIdentity(adminIt, mario.id, { userId: mario.userId, firstName: 'Mario', lastName: 'Rossi', email: 'lost@example.com', companyName: 'Officina Blu S.r.l.', companyAddress: 'Via Emilia 120 40133 Bologna' }, ctx())
    await assert.rejects(app.services.administration.issueAdminReset(adminIt, mario.id, { newEmail: other.email ?? '' }, ctx()), { code: 'EMAIL_IN_USE' })
    await app.services.administration.issueAdminReset(adminIt, mario.id, { newEmail: 'mario@rossi-nuovo.example' }, ctx())
    const mail = await lastMail('mario@rossi-nuovo.example')
    assert.equal(mail?.subject, 'Scegli una nuova password')
    const path = new URL(mailbox().linkIn(mail, `${config.publicUrl}/it/password/reset/`)).pathname
    assert.equal((await browser().post(path, { password: 'amber valley tram kite', confirm: 'amber valley tram kite' })).statusCode, 200)
    const b = await signIn(browser(), mario, { password: 'amber valley tram kite' })
    const res = await b.get('/it/account')
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/it/account/email')
    assert.match((await b.get('/it/account/email')).body, /value="mario@rossi-nuovo.example"/)
  })
})

test('the audit trail records failed and successful sign-ins and cannot be changed afterwards', async () => {
  const { app } = testApp()
  const james = await user(app)
  await browser().post('/en/login', { identifier: james.userId, password: 'not-the-password-1' })
  await browser().post('/en/login', { identifier: james.userId, password: TEST_PASSWORD })
  const platform = await actorOf(app, await user(app, { roles: [{ role: 'platform_admin' }] }))
  const actions = (await app.services.administration.timeline(platform, james.id)).map((e) => e.action)
  assert.ok(actions.includes('sign_in.failed') && actions.includes('sign_in'), actions.join(', '))
  const refused = (error: unknown) => error instanceof Error && /append-only/.test(String(error.cause))
  await assert.rejects(app.database.db.execute('update audit_events set action = \'x\''), refused)
  await assert.rejects(app.database.db.execute('delete from audit_events'), refused)
  const plainUser = await actorOf(app, await user(app))
  await assert.rejects(app.services.administration.timeline(plainUser, james.id), { code: 'FORBIDDEN_SCOPE' })
})
