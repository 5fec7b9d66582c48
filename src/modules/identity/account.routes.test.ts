import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setClock } from '../../shared/clock.js'
import { DEMO_PASSWORD } from '../../seed/users.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'

const mailbox = useMailbox()
const testApp = useTestApp({ demo: true, env: () => ({ SMTP_URL: mailbox().url }) })
const browser = () => testBrowser(() => testApp().app)
const system = { kind: 'system', name: 'test' } as const
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

async function signedIn(userId: string, password = DEMO_PASSWORD) {
  const b = browser()
  assert.equal((await b.post('/en/login', { identifier: userId, password })).statusCode, 303)
  return b
}

describe('invitations and the first email verification', () => {
  test('an invited user chooses a password, must confirm an email before anything but help, then gets in', async () => {
    const { app, config } = testApp()
    const { link } = await app.services.administration.invite(system, {
      realm: 'partner', userId: 'tnew01', firstName: 'Tina', lastName: 'Neri', email: 'tina.neri@autofficina-rossi.example',
      companyNumber: 'IT-10001', locale: 'it', role: 'user',
    }, ctx())
    const mail = await lastMail('tina.neri@autofficina-rossi.example')
    assert.equal(mail?.subject, 'Il tuo account sul portale partner Demo Motors')
    const emailed = mailbox().linkIn(mail, `${config.publicUrl}/it/invite/`)
    assert.equal(emailed, link, 'the CLI gets the same link that was emailed')

    const b = browser()
    const page = await b.get(new URL(emailed).pathname)
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /Il tuo user ID è tnew01/)
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
    assert.match(gate.body, /value="tina.neri@autofficina-rossi.example"/, 'the invited address is suggested')

    assert.equal((await b.post('/it/account/email', { email: 'mario.rossi@autofficina-rossi.example' }, { fromPage: '/it/account/email' })).statusCode, 409, 'an address of another account is refused')
    assert.equal((await b.post('/it/account/email', { email: 'tina.neri@autofficina-rossi.example' }, { fromPage: '/it/account/email' })).statusCode, 303)
    const codeMail = await lastMail('tina.neri@autofficina-rossi.example')
    assert.equal(codeMail?.subject, 'Verifica il tuo indirizzo email')
    assert.equal((await b.post('/it/account/email/code', { code: '000000' === codeIn(codeMail.text) ? '111111' : '000000' }, { fromPage: '/it/account/email' })).statusCode, 400)
    const verified = await b.post('/it/account/email/code', { code: codeIn(codeMail.text) }, { fromPage: '/it/account/email' })
    assert.equal(verified.statusCode, 303)
    assert.equal(verified.headers.location, '/it/account?done=email')
    const home = await b.get(verified.headers.location)
    assert.equal(home.statusCode, 200)
    assert.match(home.body, /Il tuo indirizzo email è confermato/)
    assert.ok((await account('tnew01')).emailVerifiedAt)
    assert.equal((await account('tnew01')).status, 'active', 'an invitation needs no approval')

    const again = await browser().get(new URL(emailed).pathname)
    assert.equal(again.statusCode, 400, 'the invitation works once')
    assert.match(again.body, /Questo link non è più valido/)
  })

  test('an invitation without an email (handed over by the CLI operator) expires after 7 days', async (t) => {
    const { app } = testApp()
    const { link } = await app.services.administration.invite(system, {
      realm: 'shop', userId: 'shop.new', firstName: 'Sara', lastName: 'Gialli', email: null, companyNumber: 'IT-10001', locale: 'en', role: 'user',
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
    const actor = async (userId: string) => ({ kind: 'user' as const, userId: (await account(userId)).id, realm: 'partner', displayName: userId, companyId: null, emailVerified: true })
    const invite = async (who: string, userId: string, companyNumber: string) => app.services.administration.invite(await actor(who), {
      realm: 'partner', userId, firstName: 'New', lastName: 'Person', email: `${userId}@example.com`, companyNumber, locale: 'en', role: 'user',
    }, ctx())
    const byOrgAdmin = await invite('gbianchi', 'inv.org', 'IT-10001')
    assert.equal(byOrgAdmin.link, null, 'a console invitation goes by email only')
    await assert.rejects(invite('gbianchi', 'inv.org2', 'IT-20001'), { code: 'FORBIDDEN_SCOPE' })
    await invite('admin.it', 'inv.market', 'IT-20001')
    await assert.rejects(invite('admin.it', 'inv.market2', 'DE-10001'), { code: 'FORBIDDEN_SCOPE' })
    await assert.rejects(invite('mrossi', 'inv.user', 'IT-10001'), { code: 'FORBIDDEN_SCOPE' })
    await assert.rejects(invite('platform', 'inv.bad', 'XX-404'), { code: 'COMPANY_NOT_FOUND' })
    await assert.rejects(invite('platform', 'mrossi', 'IT-10001'), { code: 'USER_ID_TAKEN' })
    await assert.rejects(invite('platform', 'a', 'IT-10001'), { code: 'INVALID_INPUT' })
    assert.equal(await app.services.auth.findAccount(system, 'partner', 'inv.org2'), undefined)
  })
})

describe('changing the email address', () => {
  test('needs the password, verifies the new address, tells the old one and kills reset links sent there', async () => {
    const b = await signedIn('kbecker')
    const { app } = testApp()
    const page = await b.get('/de/account/email')
    assert.match(page.body, /E-Mail-Adresse ändern/)
    assert.equal((await b.post('/de/account/email', { email: 'klaus@becker-neu.example', password: 'falsches-passwort' }, { fromPage: '/de/account/email' })).statusCode, 422)
    assert.equal((await b.post('/de/account/email', { email: 'klaus.becker@werkstatt-becker.example', password: DEMO_PASSWORD }, { fromPage: '/de/account/email' })).statusCode, 422, 'the same address is no change')
    assert.equal((await b.post('/de/account/email', { email: 'james@hartley-motors.example', password: DEMO_PASSWORD }, { fromPage: '/de/account/email' })).statusCode, 409)
    assert.equal(mailbox().to('klaus@becker-neu.example').length, 0)

    app.services.auth.requestPasswordReset(system, { realm: 'partner', identifier: 'kbecker', locale: 'de' }, ctx())
    const reset = await lastMail('klaus.becker@werkstatt-becker.example')
    const resetPath = new URL(mailbox().linkIn(reset, `${testApp().config.publicUrl}/de/password/reset/`)).pathname

    assert.equal((await b.post('/de/account/email', { email: 'klaus@becker-neu.example', password: DEMO_PASSWORD }, { fromPage: '/de/account/email' })).statusCode, 303)
    assert.match((await b.get('/de/account/email')).body, /an klaus@becker-neu.example gesendet/)
    assert.equal((await b.get('/de/account')).statusCode, 200, 'a pending change does not lock the account out')
    const code = codeIn((await lastMail('klaus@becker-neu.example'))?.text)
    assert.equal((await b.post('/de/account/email/code', { code }, { fromPage: '/de/account/email' })).statusCode, 303)

    const told = await lastMail('klaus.becker@werkstatt-becker.example')
    assert.equal(told?.subject, 'Die E-Mail-Adresse Ihres Kontos wurde geändert')
    assert.match(String(told.text), /klaus@becker-neu.example/)
    assert.equal((await browser().get(resetPath)).statusCode, 400, 'a reset link sent to the old address stops working')
    assert.equal((await account('kbecker')).email, 'klaus@becker-neu.example')
    assert.equal((await browser().post('/de/login', { identifier: 'klaus@becker-neu.example', password: DEMO_PASSWORD })).statusCode, 303)
  })

  test('name and language are the user\'s to change; a bad language changes nothing', async () => {
    const b = await signedIn('jhartley')
    assert.equal((await b.post('/en/account/profile', { firstName: 'Jim', lastName: 'Hartley', locale: 'xx' }, { fromPage: '/en/account' })).statusCode, 400)
    const saved = await b.post('/en/account/profile', { firstName: 'Jim', lastName: 'Hartley', locale: 'de' }, { fromPage: '/en/account' })
    assert.equal(saved.statusCode, 303)
    assert.equal(saved.headers.location, '/de/account?done=profile')
    const after = await account('jhartley')
    assert.equal(after.firstName, 'Jim')
    assert.equal(after.locale, 'de')
  })
})

describe('administrator services', () => {
  const adminIt = async () => ({ kind: 'user' as const, userId: (await account('admin.it')).id, realm: 'partner', displayName: 'Luca Ferri', companyId: null, emailVerified: true })

  test('a market administrator restores a blocked user of the market, who can sign in again; other markets are out of scope', async () => {
    const { app } = testApp()
    const company = await app.services.organizations.findCompanyByNumber(system, 'IT-10001')
    const blocked = await app.services.auth.createUser({ realm: 'partner', userId: 'blocked.it', firstName: 'Bruno', lastName: 'Blu', email: 'bruno@autofficina-rossi.example', emailVerified: true, locale: 'it', companyId: company?.id ?? null, password: DEMO_PASSWORD, status: 'blocked' })
    assert.equal((await browser().post('/it/login', { identifier: 'blocked.it', password: DEMO_PASSWORD })).statusCode, 403)
    await assert.rejects(app.services.administration.restoreAccess(await adminIt(), blocked.id, ctx()), { code: 'IDENTITY_CHECK_REQUIRED' })
    const claims = { userId: 'BLOCKED.IT', firstName: 'bruno', lastName: 'Bianchi', email: 'bruno@autofficina-rossi.example', companyName: 'Autofficina Rossi srl', companyAddress: 'Via Emilia 120, 40133 Bologna' }
    const wrongName = await app.services.administration.checkIdentity(await adminIt(), blocked.id, claims, ctx())
    assert.deepEqual(wrongName, { passed: false, fields: { userId: true, firstName: true, lastName: false, email: true, companyName: true, companyAddress: true } })
    await assert.rejects(app.services.administration.restoreAccess(await adminIt(), blocked.id, ctx()), { code: 'IDENTITY_CHECK_REQUIRED' })
    assert.equal((await app.services.administration.checkIdentity(await adminIt(), blocked.id, { ...claims, lastName: 'Blu', email: 'old@mailbox.example' }, ctx())).passed, true)
    await app.services.administration.restoreAccess(await adminIt(), blocked.id, { ...ctx(), requestId: 'req-restore-1' })
    assert.equal((await account('blocked.it')).status, 'active')
    assert.equal((await browser().post('/it/login', { identifier: 'blocked.it', password: DEMO_PASSWORD })).statusCode, 303)
    const restored = (await app.services.administration.timeline(await adminIt(), blocked.id)).filter((e) => e.action === 'account.restored')
    assert.deepEqual(restored.map((e) => [e.actorId, e.requestId, e.data]), [[(await adminIt()).userId, 'req-restore-1', { before: { status: 'blocked', lockedUntil: null }, after: { status: 'active', lockedUntil: null } }]])

    await assert.rejects(app.services.administration.restoreAccess(await adminIt(), (await account('kbecker')).id, ctx()), { code: 'FORBIDDEN_SCOPE' })
    const orgAdmin = { ...(await adminIt()), userId: (await account('gbianchi')).id }
    await assert.rejects(app.services.administration.restoreAccess(orgAdmin, (await account('mrossi')).id, ctx()), { code: 'FORBIDDEN_SCOPE' }, 'restoring access is for market administrators')
  })

  test('an administrator reset to a new address leaves it unverified: the user resets, signs in and confirms it first', async () => {
    const { app, config } = testApp()
    const mrossi = (await account('mrossi')).id
    await app.services.administration.checkIdentity(await adminIt(), mrossi, { userId: 'mrossi', firstName: 'Mario', lastName: 'Rossi', email: 'lost@example.com', companyName: 'Autofficina Rossi S.r.l.', companyAddress: 'Via Emilia 120 40133 Bologna' }, ctx())
    await assert.rejects(app.services.administration.issueAdminReset(await adminIt(), mrossi, { newEmail: 'james@hartley-motors.example' }, ctx()), { code: 'EMAIL_IN_USE' })
    await app.services.administration.issueAdminReset(await adminIt(), (await account('mrossi')).id, { newEmail: 'mario@rossi-nuovo.example' }, ctx())
    const mail = await lastMail('mario@rossi-nuovo.example')
    assert.equal(mail?.subject, 'Scegli una nuova password')
    const path = new URL(mailbox().linkIn(mail, `${config.publicUrl}/it/password/reset/`)).pathname
    assert.equal((await browser().post(path, { password: 'amber valley tram kite', confirm: 'amber valley tram kite' })).statusCode, 200)
    const b = await signedIn('mrossi', 'amber valley tram kite')
    const res = await b.get('/it/account')
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/it/account/email')
    assert.match((await b.get('/it/account/email')).body, /value="mario@rossi-nuovo.example"/)
  })
})

test('the audit trail records failed and successful sign-ins and cannot be changed afterwards', async () => {
  const { app } = testApp()
  await browser().post('/en/login', { identifier: 'jhartley', password: 'not-the-password-1' })
  await browser().post('/en/login', { identifier: 'jhartley', password: DEMO_PASSWORD })
  const platform = { kind: 'user' as const, userId: (await account('platform')).id, realm: 'partner', displayName: 'Paula Platform', companyId: null, emailVerified: true }
  const actions = (await app.services.administration.timeline(platform, (await account('jhartley')).id)).map((e) => e.action)
  assert.ok(actions.includes('sign_in.failed') && actions.includes('sign_in'), actions.join(', '))
  const refused = (error: unknown) => error instanceof Error && /append-only/.test(String(error.cause))
  await assert.rejects(app.database.db.execute('update audit_events set action = \'x\''), refused)
  await assert.rejects(app.database.db.execute('delete from audit_events'), refused)
  const mrossi = { ...platform, userId: (await account('mrossi')).id }
  await assert.rejects(app.services.administration.timeline(mrossi, (await account('jhartley')).id), { code: 'FORBIDDEN_SCOPE' })
})
