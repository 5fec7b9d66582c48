import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { clock, setClock } from '../../shared/clock.js'
import { actorOf, company, mailsTo, market, reload, setAccount, signIn, signInResponse, TEST_PASSWORD, user } from '../../../test/factories.js'
import { testBrowser, useTestApp, type Browser } from '../../../test/helpers.js'
import { totpCode } from './second-factor.js'

const testApp = useTestApp()
const browser = () => testBrowser(() => testApp().app)
const STEP = 30_000

/** The page body without what legitimately differs between two answers (form tokens). */
function comparable(body: string): string {
  return body.replace(/name="_csrf" value="[^"]+"/g, '').replace(/ value="[^"]*"/g, '')
}

/** A moment 5 s into a time step, so that "one step later" is never ambiguous. */
function stepStart(): number {
  return Math.floor(Date.now() / STEP) * STEP + 5_000
}

/** Adds an authenticator app on the account page the way a person does; returns its secret and the recovery codes shown. */
async function enrol(b: Browser, name = 'Work phone'): Promise<{ secret: string; codes: string[] }> {
  const started = await b.post('/en/account/second-factor/totp', {}, { fromPage: '/en/account/second-factor' })
  assert.equal(started.statusCode, 200)
  assert.match(started.body, /<img src="data:image\/svg\+xml;base64,[\w+/=]+"/)
  const secret = (/<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(started.body)?.[1] ?? '').replace(/ /g, '')
  const factorId = /action="\/en\/account\/second-factor\/totp\/(\d+)"/.exec(started.body)?.[1] ?? ''
  assert.ok(secret.length >= 32, 'the secret is shown to type in')
  const wrong = await b.post(`/en/account/second-factor/totp/${factorId}`, { name, code: '000000' }, { fromPage: '/en/account/second-factor' })
  assert.equal(wrong.statusCode, 422, 'a wrong first code does not enrol')
  const confirmed = await b.post(`/en/account/second-factor/totp/${factorId}`, { name, code: totpCode(secret, clock.now()) }, { fromPage: '/en/account/second-factor' })
  assert.equal(confirmed.statusCode, 200)
  const codes = [...confirmed.body.matchAll(/<code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})<\/code>/g)].map((m) => m[1] ?? '')
  return { secret, codes }
}

/** The password step: answered with the second step's page (not stored by caches), and no session yet. */
async function password(b: Browser, row: { userId: string }): Promise<void> {
  const res = await b.post('/en/login', { identifier: row.userId, password: TEST_PASSWORD })
  assert.equal(res.statusCode, 200)
  assert.match(res.body, /<form[^>]+action="\/en\/login\/code"/, 'the code form posts to the step')
  assert.match(res.body, /data-step-address="\/en\/login\/code"/, 'the browser is to show the step\'s own address')
  assert.equal(res.headers['cache-control'], 'no-store')
  assert.match(String(res.headers['set-cookie']), /sp_second_step=[\w-]/)
  assert.doesNotMatch(String(res.headers['set-cookie']), /sp_session=[\w-]/, 'no session before the second step')
}

const code = (b: Browser, value: string) => b.post('/en/login/code', { code: value }, { fromPage: '/en/login/code' })
const signedIn = async (b: Browser) => (await b.get('/en/account')).statusCode === 200

describe('second factor: authenticator codes', () => {
  test('a person adds an authenticator app, then signs in with a code; a code is accepted once, one step of clock skew is accepted, two are not', async (t) => {
    const t0 = stepStart()
    let at = t0
    t.after(setClock({ now: () => new Date(at) }))

    const giulia = await user(testApp(), { firstName: 'Giulia' })
    const { secret, codes } = await enrol(await signIn(browser(), giulia))
    assert.equal(codes.length, 10)
    assert.equal(new Set(codes).size, 10)
    const passwordOnly = browser()
    await password(passwordOnly, giulia)
    assert.equal(await signedIn(passwordOnly), false, 'the password alone no longer opens a session')

    at = t0 + 2 * STEP
    const b = browser()
    await password(b, giulia)
    const behind = await code(b, totpCode(secret, new Date(at - STEP)))
    assert.equal(behind.statusCode, 303, 'a phone one step behind is accepted')
    assert.equal(behind.headers.location, '/en/help')
    assert.ok(await signedIn(b))
    const list = await b.get('/en/account/second-factor')
    assert.match(list.body, /Work phone/)
    assert.match(list.body, /last used/)

    const replay = browser()
    await password(replay, giulia)
    const reused = await code(replay, totpCode(secret, new Date(at - STEP)))
    assert.equal(reused.statusCode, 401, 'the same code again is refused')
    assert.match(reused.body, /already used/)
    assert.equal(await signedIn(replay), false)

    const ahead = await code(replay, totpCode(secret, new Date(at + STEP)))
    assert.equal(ahead.statusCode, 303, 'a phone one step ahead is accepted')

    const far = browser()
    at = t0 + 10 * STEP
    await password(far, giulia)
    assert.equal((await code(far, totpCode(secret, new Date(at - 2 * STEP)))).statusCode, 401, 'two steps off is refused')
    assert.equal((await code(far, totpCode(secret, new Date(at + 2 * STEP)))).statusCode, 401)
    assert.equal((await code(far, totpCode(secret, new Date(at)))).statusCode, 303)
  })

  test('recovery codes sign in once each, typed in any case and without dashes', async () => {
    const marco = await user(testApp())
    const { codes } = await enrol(await signIn(browser(), marco))
    const [first = '', second = ''] = codes
    const b = browser()
    await password(b, marco)
    assert.equal((await code(b, first.replace(/-/g, '').toLowerCase())).statusCode, 303)
    const again = browser()
    await password(again, marco)
    assert.equal((await code(again, first)).statusCode, 401, 'a used recovery code is refused')
    assert.equal((await code(again, second)).statusCode, 303)
    assert.match((await again.get('/en/account/second-factor')).body, /8 recovery codes left/)
  })

  test('unknown user, wrong password and an account with a factor get the same first answer; the second step belongs to its browser and is used once', async () => {
    const anna = await user(testApp())
    const { secret } = await enrol(await signIn(browser(), anna))
    const unknown = await browser().post('/en/login', { identifier: 'nobody-at-all', password: 'whatever-password-1' })
    const wrong = await browser().post('/en/login', { identifier: anna.userId, password: 'not-the-password-1' })
    assert.equal(unknown.statusCode, 401)
    assert.equal(wrong.statusCode, 401)
    assert.equal(comparable(wrong.body), comparable(unknown.body))

    const b = browser()
    await password(b, anna)
    const other = browser()
    assert.equal((await other.get('/en/login/code')).headers.location, '/en/login', 'another browser has no second step')

    const now = Date.now()
    let at = now + STEP
    const restore = setClock({ now: () => new Date(at) })
    try {
      const challenge = b.jar.sp_second_step ?? ''
      assert.equal((await code(b, totpCode(secret, new Date(at)))).statusCode, 303)
      // The same pending step again (a copied cookie), with the next valid code: it is gone.
      at += STEP
      other.jar.sp_second_step = challenge
      const replayed = await other.post('/en/login/code', { code: totpCode(secret, new Date(at)) }, { fromPage: '/en/login' })
      assert.equal(replayed.statusCode, 400)
      assert.match(replayed.body, /Sign in again with your password/)
      assert.equal(await signedIn(other), false)
    } finally {
      restore()
    }
  })

  test('the password is answered with the second step; reopening it, going back to it or sending the password again is harmless; where the person was going is kept', async () => {
    const sara = await user(testApp())
    const { secret } = await enrol(await signIn(browser(), sara))
    const b = browser()
    const next = '/en/help/articles/forgot-password'
    const first = await b.post('/en/login', { identifier: sara.userId, password: TEST_PASSWORD, next })
    assert.equal(first.statusCode, 200)
    assert.match(first.body, /<input type="hidden" name="next" value="\/en\/help\/articles\/forgot-password"\/>/)
    const address = `/en/login/code?next=${encodeURIComponent(next)}`
    assert.ok(first.body.includes(`data-step-address="${address.replace(/&/g, '&amp;')}"`), 'the browser shows the step\'s own address')
    const script = /<script src="(\/assets\/second-step\.js\?v=\w+)" defer><\/script>/.exec(first.body)?.[1] ?? ''
    assert.equal((await b.get(script)).statusCode, 200, 'the script that sets the address is served')
    assert.ok(first.body.includes(`hreflang="de" href="/de/login/code?next=${encodeURIComponent(next)}"`), 'the other languages link to the step')
    const oldStep = b.jar.sp_second_step ?? ''

    // A reload of that address (or going back to it): the same step's page.
    const reopened = await b.get(address)
    assert.equal(reopened.statusCode, 200)
    assert.equal(reopened.headers['cache-control'], 'no-store')
    assert.doesNotMatch(reopened.body, /data-step-address/, 'a page at its own address changes nothing')

    // The password sent again (a reload of the answer without its script): a new step; the older one ends.
    const again = await b.post('/en/login', { identifier: sara.userId, password: TEST_PASSWORD, next })
    assert.equal(again.statusCode, 200)
    assert.notEqual(b.jar.sp_second_step, oldStep)
    const stale = browser()
    stale.jar.sp_second_step = oldStep
    assert.equal((await stale.get('/en/login/code')).headers.location, '/en/login', 'the older step is gone')

    const at = stepStart() + STEP
    const restore = setClock({ now: () => new Date(at) })
    try {
      const done = await b.post('/en/login/code', { code: totpCode(secret, new Date(at)), next }, { fromPage: address })
      assert.equal(done.statusCode, 303)
      assert.equal(done.headers.location, next)
      // Back to the step's address once signed in: the step is over, the sign-in sends the person on.
      const back = await b.get(address)
      assert.equal(back.headers.location, '/en/login')
      assert.equal((await b.get('/en/login')).headers.location, '/en/help')
    } finally {
      restore()
    }
  })

  test('wrong codes count toward the lockout: the tenth locks the account and ends the step', async () => {
    const it = await market(testApp(), { code: 'IT' })
    const luca = await user(testApp(), { company: await company(testApp(), { market: it }), email: 'luca.neri@officina.example' })
    const { secret } = await enrol(await signIn(browser(), luca))
    const b = browser()
    await password(b, luca)
    for (let i = 1; i < 10; i++) assert.equal((await code(b, '123456')).statusCode, 401, `wrong code ${String(i)}`)
    const tenth = await code(b, '123456')
    assert.equal(tenth.statusCode, 400, 'the tenth failure ends the second step')
    assert.ok((await reload(testApp(), luca)).lockedUntil, 'the account is locked')
    assert.equal((await mailsTo(testApp(), 'luca.neri@officina.example', 'account-locked')).length, 1)
    const later = browser()
    const refused = await later.post('/en/login', { identifier: luca.userId, password: TEST_PASSWORD })
    assert.equal(refused.statusCode, 401, 'while locked, even the right password gets the generic answer')
    assert.notEqual(secret, '')
  })

  test('passing the step writes the session, the activity, the attempt and the audit event; an administrator lands on the workspace', async () => {
    const { app } = testApp()
    const admin = await user(app, { roles: [{ role: 'org_admin', companyId: (await company(app, { market: await market(app) })).id }] })
    await setAccount(app, admin, { status: 'block_warned', lastActivityAt: new Date(Date.now() - 200 * 86_400_000) })
    const b = browser()
    const landed = await signInResponse(b, admin)
    assert.equal(landed.headers.location, '/en/workspace', 'the roles read with the step decide the landing')
    assert.ok(await signedIn(b))
    const row = await reload(app, admin)
    assert.equal(row.status, 'active', 'a warned account is active again')
    assert.ok(row.lastActivityAt && Date.now() - row.lastActivityAt.getTime() < 60_000)
    const platform = await actorOf(app, await user(app, { roles: [{ role: 'platform_admin' }] }))
    const events = await app.services.administration.timeline(platform, admin.id)
    const signedInEvents = events.filter((e) => e.action === 'sign_in')
    assert.equal(signedInEvents.length, 1)
    assert.deepEqual(signedInEvents[0]?.data, { realm: 'partner', factor: 'totp' })
    const overview = await app.services.account.overview(await actorOf(app, admin))
    assert.equal(overview.sessions.length, 1, 'one session')
  })

  test('removing a factor needs the password; an administrator cannot remove the last one, a user can', async () => {
    const admin = await user(testApp(), { roles: [{ role: 'org_admin', companyId: (await company(testApp())).id }], factor: false })
    const a = await signIn(browser(), admin)
    await enrol(a)
    const page = (await a.get('/en/account/second-factor')).body
    const factorId = /second-factor\/(\d+)\/remove/.exec(page)?.[1] ?? ''
    const wrong = await a.post(`/en/account/second-factor/${factorId}/remove`, { password: 'not-the-password-1' }, { fromPage: '/en/account/second-factor' })
    assert.equal(wrong.statusCode, 422)
    const last = await a.post(`/en/account/second-factor/${factorId}/remove`, { password: TEST_PASSWORD }, { fromPage: '/en/account/second-factor' })
    assert.equal(last.statusCode, 409)
    assert.match(last.body, /cannot remove the last one/)

    const plain = await user(testApp())
    const p = await signIn(browser(), plain)
    await enrol(p)
    const id = /second-factor\/(\d+)\/remove/.exec((await p.get('/en/account/second-factor')).body)?.[1] ?? ''
    const removed = await p.post(`/en/account/second-factor/${id}/remove`, { password: TEST_PASSWORD }, { fromPage: '/en/account/second-factor' })
    assert.equal(removed.statusCode, 303)
    assert.match((await p.get('/en/account/second-factor?done=removed')).body, /You have not added a second factor yet/)
    await signIn(browser(), plain)
  })
})
