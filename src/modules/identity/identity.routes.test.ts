import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { buildApp } from '../../app.js'
import { setClock } from '../../shared/clock.js'
import { TEST_PASSWORD, company, reload, signIn, signInResponse, user } from '../../../test/factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'

const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url }) })

const browser = () => testBrowser(() => testApp().app)

/** The page body without what legitimately differs between two answers (form tokens, request ids). */
function comparable(body: string): string {
  return body.replace(/name="_csrf" value="[^"]+"/g, '').replace(/ value="[^"]*"/g, '')
}

describe('sign-in and sessions', () => {
  test('a partner signs in with user ID or email, is recognised on every page, and signs out', async () => {
    const mario = await user(testApp(), { userId: 'mario.verdi', firstName: 'Mario', lastName: 'Verdi', email: 'mario.verdi@officina.example', locale: 'it', lastActivityAt: new Date(Date.now() - 86_400_000) })
    const b = browser()
    const before = mario.lastActivityAt
    const res = await b.post('/it/login', { identifier: 'Mario.Verdi', password: TEST_PASSWORD })
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/it/help')
    assert.match(String(res.headers['set-cookie']), /sp_session=[\w-]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Lax/)
    assert.match((await b.get('/it/help')).body, /Accesso come Mario Verdi/)
    assert.ok(((await reload(testApp(), mario)).lastActivityAt?.getTime() ?? 0) > (before?.getTime() ?? 0), 'sign-in counts as activity')

    const byEmail = browser()
    assert.equal((await byEmail.post('/en/login', { identifier: 'Mario.Verdi@Officina.example', password: TEST_PASSWORD })).statusCode, 303)

    const out = await b.post('/it/logout', {}, { fromPage: '/it/logout' })
    assert.equal(out.statusCode, 303)
    assert.doesNotMatch((await b.get('/it/help')).body, /Accesso come/)
  })

  test('unknown user, wrong password and a blocked account get the same answer', async () => {
    const { app } = testApp()
    const blocked = await user(app, { status: 'blocked' })
    const active = await user(app)
    const unknown = await browser().post('/en/login', { identifier: 'nobody-here', password: 'whatever-password-1' })
    const wrong = await browser().post('/en/login', { identifier: active.userId, password: 'not-the-password-1' })
    const blockedWrong = await browser().post('/en/login', { identifier: blocked.userId, password: 'not-the-password-1' })
    assert.equal(unknown.statusCode, 401)
    assert.equal(wrong.statusCode, 401)
    assert.equal(blockedWrong.statusCode, 401)
    assert.match(unknown.body, /User ID or password incorrect/)
    assert.equal(comparable(wrong.body), comparable(unknown.body))
    assert.equal(comparable(blockedWrong.body), comparable(unknown.body))

    const blockedRight = await browser().post('/en/login', { identifier: blocked.userId, password: TEST_PASSWORD })
    assert.equal(blockedRight.statusCode, 403)
    assert.match(blockedRight.body, /your account is blocked/)
    assert.match(blockedRight.body, new RegExp(`href="/en/support/new\\?topic=account-status&amp;login=${blocked.userId}"`), 'the typed user ID is carried to "Ask for help"')
    assert.doesNotMatch(JSON.stringify(blockedRight.headers['set-cookie'] ?? ''), /sp_session/)
    const metrics = (await app.inject('/metrics')).body
    assert.match(metrics, /sportello_sign_ins_total\{realm="partner",result="blocked"\} 1/)
    assert.match(metrics, /sportello_sign_ins_total\{realm="partner",result="failed"\} [1-9]/)
  })

  test('the Parts Shop is a separate realm: partner credentials do not open it, shop credentials do', async () => {
    const workshop = await company(testApp())
    const partner = await user(testApp(), { company: workshop })
    const shopper = await user(testApp(), { realm: 'shop', company: workshop })
    assert.equal((await browser().post('/it/login', { identifier: partner.userId, password: TEST_PASSWORD })).statusCode, 303)
    assert.equal((await browser().post('/it/shop/login', { identifier: partner.userId, password: TEST_PASSWORD })).statusCode, 401)
    assert.equal((await browser().post('/it/shop/login', { identifier: partner.email ?? '', password: TEST_PASSWORD })).statusCode, 401)
    assert.equal((await browser().post('/it/shop/login', { identifier: shopper.userId, password: TEST_PASSWORD })).statusCode, 303)
    assert.equal((await browser().post('/it/login', { identifier: shopper.userId, password: TEST_PASSWORD })).statusCode, 401)
  })

  test('a session ends after 30 idle minutes', async (t) => {
    const klaus = await user(testApp(), { firstName: 'Klaus', lastName: 'Becker', locale: 'de' })
    const b = await signIn(browser(), klaus)
    assert.match((await b.get('/de/help')).body, /Angemeldet als Klaus Becker/)
    const restore = setClock(new Date(Date.now() + 31 * 60 * 1000))
    t.after(restore)
    assert.doesNotMatch((await b.get('/de/help')).body, /Angemeldet als/)
  })

  test('a form without its CSRF token changes nothing', async () => {
    const res = await browser().post('/en/login', { identifier: (await user(testApp())).userId, password: TEST_PASSWORD }, { csrf: false })
    assert.equal(res.statusCode, 403)
    assert.doesNotMatch(JSON.stringify(res.headers['set-cookie'] ?? ''), /sp_session/)
  })
})

describe('brute force', () => {
  test('10 failures lock the account for 15 minutes, the owner gets an email, the lock ends', async (t) => {
    const { app } = testApp()
    await user(app, { userId: 'target', email: 'tina@example.com', locale: 'de' })
    for (let i = 0; i < 10; i++) {
      assert.equal((await browser().post('/de/login', { identifier: 'target', password: `wrong-password-${i}` })).statusCode, 401)
    }
    const withRightPassword = await browser().post('/de/login', { identifier: 'target', password: TEST_PASSWORD })
    assert.equal(withRightPassword.statusCode, 401, 'a locked account answers like a wrong password')
    await app.mailer.drain()
    const mail = mailbox().to('tina@example.com').at(-1)
    assert.equal(mail?.subject, 'Ihr Konto ist für 15 Minuten vorübergehend gesperrt')
    const restore = setClock(new Date(Date.now() + 16 * 60 * 1000))
    t.after(restore)
    assert.equal((await browser().post('/de/login', { identifier: 'target', password: TEST_PASSWORD })).statusCode, 303)
  })

  test('failures against other accounts and unknown user IDs never lock a bystander', async () => {
    const { app } = testApp()
    await user(app, { userId: 'bystander' })
    await user(app, { userId: 'attacked' })
    for (let i = 0; i < 12; i++) {
      await browser().post('/en/login', { identifier: i % 2 === 0 ? 'attacked' : `nobody-${i}`, password: `wrong-password-${i}` })
    }
    // The bystander's own ninth and tenth failures: nine would be too few to lock it.
    for (let i = 0; i < 9; i++) await browser().post('/en/login', { identifier: 'bystander', password: `wrong-password-${i}` })
    assert.equal((await browser().post('/en/login', { identifier: 'bystander', password: TEST_PASSWORD })).statusCode, 303)
  })
})

describe('per-address limit', () => {
  test('more than 20 sign-in attempts a minute from one address get 429, in the user\'s language', async () => {
    const mario = await user(testApp(), { locale: 'it' })
    const b = browser()
    let last = 0
    for (let i = 0; i < 21; i++) last = (await b.post('/it/login', { identifier: `someone${i}`, password: 'wrong-password-here' })).statusCode
    assert.equal(last, 429)
    const res = await b.post('/it/login', { identifier: mario.userId, password: TEST_PASSWORD })
    assert.equal(res.statusCode, 429)
    assert.match(res.body, /Troppe richieste/)
    assert.equal((await browser().post('/it/login', { identifier: mario.userId, password: TEST_PASSWORD })).statusCode, 303, 'other addresses are not affected')
  })

  test('the limit holds across two servers on one database: one address gets 20 attempts in all, not 20 on each', async () => {
    const { config, database } = testApp()
    // A second node: its own process state, the same database and secrets.
    const nodeB = await buildApp(config, database, { logger: false })
    try {
      let calls = 0
      // Each attempt (the form's page, then its post) goes to the other node than the one before.
      const b = testBrowser(() => (Math.floor(calls++ / 2) % 2 === 0 ? testApp().app : nodeB))
      const answers: number[] = []
      for (let i = 0; i < 21; i++) answers.push((await b.post('/en/login', { identifier: `nobody${i}`, password: 'wrong-password-here' })).statusCode)
      assert.deepEqual(answers.slice(0, 20).filter((status) => status === 429), [], 'the first 20 are answered')
      assert.equal(answers[20], 429)
    } finally {
      await nodeB.close()
    }
  })
})

describe('forgotten password', () => {
  test('the link in the email sets a new password once; every session ends and the owner is told', async () => {
    const { app } = testApp()
    const james = await user(app, { email: 'james@hartley.example', locale: 'en' })
    const signedIn = await signIn(browser(), james)

    const asked = await browser().post('/en/password/forgot', { identifier: james.userId })
    assert.equal(asked.statusCode, 200)
    assert.match(asked.body, /If an active account matches/)
    const unknown = await browser().post('/en/password/forgot', { identifier: 'no-such-user' })
    assert.equal(unknown.statusCode, asked.statusCode)
    assert.equal(comparable(unknown.body), comparable(asked.body))

    await new Promise((r) => setTimeout(r, 200))
    await app.mailer.drain()
    const mail = mailbox().to('james@hartley.example').at(-1)
    assert.equal(mail?.subject, 'Choose a new password')
    const link = mailbox().linkIn(mail, `${testApp().config.publicUrl}/en/password/reset/`)
    const path = new URL(link).pathname

    const reset = browser()
    assert.equal((await reset.get(path)).statusCode, 200)
    const tooShort = await reset.post(path, { password: 'short', confirm: 'short' })
    assert.equal(tooShort.statusCode, 422)
    assert.match(tooShort.body, /at least 12 characters/)
    const common = await reset.post(path, { password: 'password1234', confirm: 'password1234' })
    assert.equal(common.statusCode, 422)
    const differ = await reset.post(path, { password: 'violet tram anchor sky', confirm: 'violet tram anchor skies' })
    assert.equal(differ.statusCode, 422)

    const done = await reset.post(path, { password: 'violet tram anchor sky', confirm: 'violet tram anchor sky' })
    assert.equal(done.statusCode, 200)
    assert.match(done.body, /Your new password is saved/)
    assert.doesNotMatch((await signedIn.get('/en/help')).body, /Signed in as/, 'other sessions ended')
    assert.equal((await browser().post('/en/login', { identifier: james.userId, password: TEST_PASSWORD })).statusCode, 401)
    assert.equal((await browser().post('/en/login', { identifier: james.userId, password: 'violet tram anchor sky' })).statusCode, 303)

    const again = await reset.post(path, { password: 'another fine passphrase', confirm: 'another fine passphrase' }, { fromPage: '/en/password/forgot' })
    assert.equal(again.statusCode, 400)
    assert.match(again.body, /no longer valid/)
    assert.equal((await browser().get(path)).statusCode, 400)

    await app.mailer.drain()
    assert.equal(mailbox().to('james@hartley.example').at(-1)?.subject, 'Your password was changed')
  })
})

describe('outbox', () => {
  test('an email is queued once per key and retried after a temporary failure', async () => {
    const { app } = testApp()
    const now = new Date()
    const mail = { key: 'test:once', to: 'once@example.com', locale: 'it', template: 'password-changed', data: { name: 'Uno Rossi', url: 'https://x.example/' } }
    await app.mailer.repo.enqueue(app.database.db, mail, now)
    await app.mailer.repo.enqueue(app.database.db, mail, now)
    mailbox().failNext(1)
    await app.mailer.drain()
    assert.equal(mailbox().to('once@example.com').length, 0)
    const row = (await app.mailer.repo.to('once@example.com'))[0]
    assert.ok(row)
    assert.equal(row.attempts, 1)
    assert.match(String(row.lastError), /451/)
    const restore = setClock(new Date(now.getTime() + 60_000))
    try {
      await app.mailer.drain()
    } finally {
      restore()
    }
    const received = mailbox().to('once@example.com')
    assert.equal(received.length, 1)
    const first = received[0]
    assert.ok(first)
    assert.equal(first.subject, 'La tua password è stata cambiata')
    assert.match(String(first.html), /<p>Buongiorno Uno Rossi,<\/p>/)
    assert.equal((await app.mailer.repo.to('once@example.com'))[0]?.status, 'sent')
  })
})

describe('identity and access management page', () => {
  test('a guest is sent to sign in; a user sees account, status dates, sessions and recent sign-ins', async () => {
    const guest = await browser().get('/en/account')
    assert.equal(guest.statusCode, 303)
    assert.equal(guest.headers.location, '/en/login?next=/en/account')
    const officina = await company(testApp(), { name: 'Officina Blu S.r.l.', street: 'Via Emilia 120', postalCode: '40133', city: 'Bologna' })
    const giulia = await user(testApp(), { userId: 'giulia.blu', company: officina, locale: 'it', roles: [{ role: 'org_admin', companyId: officina.id }] })
    const b = browser()
    // An organization administrator: the password, then the second step, then where she was going.
    const signedIn = await signInResponse(b, giulia, { locale: 'en', next: '/it/account' })
    assert.equal(signedIn.headers.location, '/it/account')
    const page = await b.get('/it/account')
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /Gestione identità e accessi/)
    assert.match(page.body, /giulia\.blu/)
    assert.match(page.body, /Officina Blu S\.r\.l\., Via Emilia 120, 40133 Bologna/)
    assert.match(page.body, /riceverai un avviso il .+ e sarà bloccato il/)
    assert.match(page.body, /questo dispositivo/)
    assert.match(page.body, /accesso riuscito/)
    assert.match(page.body, /Service Manual/)
  })

  test('changing the password needs the current one, keeps this session and ends the others', async () => {
    const { app } = testApp()
    const carla = await user(app, { email: 'carla@example.com' })
    const here = await signIn(browser(), carla)
    const elsewhere = await signIn(browser(), carla)
    const wrong = await here.post('/en/account/password', { current: 'not-the-current-one', password: 'maple river lantern frost', confirm: 'maple river lantern frost' }, { fromPage: '/en/account' })
    assert.equal(wrong.statusCode, 422)
    assert.match(wrong.body, /current password is not correct/)
    const changed = await here.post('/en/account/password', { current: TEST_PASSWORD, password: 'maple river lantern frost', confirm: 'maple river lantern frost' }, { fromPage: '/en/account' })
    assert.equal(changed.statusCode, 303)
    assert.match((await here.get('/en/account?done=password')).body, /Every other session was signed out/)
    assert.equal((await elsewhere.get('/en/account')).statusCode, 303, 'the other session is gone')
    await app.mailer.drain()
    assert.equal(mailbox().to('carla@example.com').at(-1)?.subject, 'Your password was changed')
  })

  test('a session can be ended from another device', async () => {
    const tom = await user(testApp())
    const phone = await signIn(browser(), tom)
    const desk = await signIn(browser(), tom)
    const page = await desk.get('/en/account')
    const ref = /name="session" value="([0-9a-f]{16})"/.exec(page.body)?.[1]
    assert.ok(ref, 'the other session has a sign-out button')
    const revoked = await desk.post('/en/account/sessions/revoke', { session: ref }, { fromPage: '/en/account' })
    assert.equal(revoked.statusCode, 303)
    assert.equal((await phone.get('/en/account')).statusCode, 303)
    assert.equal((await desk.get('/en/account')).statusCode, 200)
    const bad = await desk.post('/en/account/sessions/revoke', { session: '<script>' }, { fromPage: '/en/account' })
    assert.equal(bad.statusCode, 400)
  })
})
