import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Role } from '../../db/schema/index.js'
import { actorOf, storedFactorSecrets, company, enrolFactor, identityOf, loginPath, mailsTo, market, reload, signIn, system, TEST_PASSWORD, user } from '../../../test/factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'
import { FACTOR_GRACE_SIGN_INS, factorRequirement, graceAfter } from './second-factor.js'

const testApp = useTestApp()
const app = () => testApp().app
const browser = () => testBrowser(app)

const roles: Role[] = ['user', 'org_admin', 'market_admin', 'support_agent', 'platform_admin']
const realms = ['partner', 'shop'] as const

/**
 * The policy, row by row: role × realm × whether the person's market requires a factor of
 * everyone. Administrators and agents always; others only in the partner realm of a market that
 * requires it; an app's own realm (shop) ignores the market rule.
 */
const expected = (role: Role, realm: string, marketRequires: boolean): 'role' | 'market' | null =>
  role !== 'user' ? 'role' : realm === 'partner' && marketRequires ? 'market' : null

describe('second-factor policy', () => {
  test('who must have a second factor: every role in every realm, with and without the market rule', () => {
    for (const role of roles) {
      for (const realm of realms) {
        for (const marketRequires of [false, true]) {
          const grants = role === 'user' ? [{ role }] : [{ role: 'user' as const }, { role }]
          assert.equal(factorRequirement({ realm, roles: grants, marketRequires }), expected(role, realm, marketRequires), `${role} in ${realm}, market rule ${String(marketRequires)}`)
        }
      }
    }
  })

  test('the grace: a few sign-ins to enrol, counted, then only the enrolment page', () => {
    const rows = Array.from({ length: FACTOR_GRACE_SIGN_INS + 2 }, (_, i) => i + 1)
    assert.deepEqual(rows.map(graceAfter), rows.map((used) => ({ left: Math.max(0, FACTOR_GRACE_SIGN_INS - used), mustEnrol: used > FACTOR_GRACE_SIGN_INS })))
  })

  // The same table through the sign-in form, on a real database: what the person notices at the first sign-in.
  const cases = roles.flatMap((role) => realms.flatMap((realm) => [false, true].map((marketRequires) => ({ role, realm, marketRequires }))))
  for (const { role, realm, marketRequires } of cases) {
    const requirement = expected(role, realm, marketRequires)
    test(`${role} in ${realm}, market rule ${marketRequires ? 'on' : 'off'}: ${requirement ? 'asked to enrol, with the sign-ins left' : 'no factor asked'}`, async () => {
      const place = await market(app(), { secondFactorRequired: marketRequires })
      const workshop = await company(app(), { market: place })
      const grants = role === 'user' ? [] : [{ role, ...(role === 'org_admin' ? { companyId: workshop.id } : {}), ...(role === 'market_admin' || role === 'support_agent' ? { marketId: place.id } : {}) }]
      const person = await user(app(), { realm, company: workshop, roles: grants, factor: false })
      const b = browser()
      const res = await b.post(loginPath(person), { identifier: person.userId, password: TEST_PASSWORD })
      assert.equal(res.statusCode, 303)
      const location = String(res.headers.location)
      if (!requirement) {
        assert.doesNotMatch(location, /second-factor/, 'the person goes where they would')
        assert.equal((await reload(app(), person)).factorGraceUsed, 0, 'nothing counted')
        return
      }
      assert.match(location, /^\/en\/account\/second-factor\?next=/, 'the enrolment comes first')
      const page = await b.get(location)
      assert.match(page.body, new RegExp(`You can sign in ${String(FACTOR_GRACE_SIGN_INS - 1)} more times without a second factor`))
      assert.match(page.body, requirement === 'market' ? /Your market asks everyone for a second factor/ : /Your role needs a second factor/)
      assert.match(page.body, /Not now: continue/)
    })
  }

  test('the grace, counted: the last sign-in says so, the next one reaches only the enrolment', async () => {
    const admin = await user(app(), { roles: [{ role: 'support_agent', marketId: (await market(app())).id }], factor: false })
    const notices = [/You can sign in 2 more times/, /You can sign in once more/, /This is the last time you can sign in without a second factor/, /Add a second factor to continue using the portal/]
    for (const [n, notice] of notices.entries()) {
      const b = browser()
      const res = await b.post('/en/login', { identifier: admin.userId, password: TEST_PASSWORD })
      const page = await b.get(String(res.headers.location))
      assert.match(page.body, notice, `sign-in ${String(n + 1)}`)
      const elsewhere = await b.get('/en/account')
      if (n < FACTOR_GRACE_SIGN_INS) {
        assert.match(page.body, /Not now: continue/)
        assert.equal(elsewhere.statusCode, 200, 'during the grace every page opens')
      } else {
        assert.doesNotMatch(page.body, /Not now: continue/)
        assert.equal(elsewhere.statusCode, 303, 'past the grace only the enrolment opens')
        assert.equal(elsewhere.headers.location, '/en/account/second-factor')
      }
    }
  })

  test('past the grace, enrolling opens the portal again; the next sign-in asks for the code', async () => {
    const admin = await user(app(), { roles: [{ role: 'platform_admin' }], factor: false })
    for (let n = 0; n <= FACTOR_GRACE_SIGN_INS; n++) await signIn(browser(), admin)
    const b = await signIn(browser(), admin)
    assert.equal((await b.get('/en/admin')).headers.location, '/en/account/second-factor')
    await enrolFactor(app(), admin)
    assert.equal((await b.get('/en/admin')).statusCode, 200, 'the session reaches every page once a factor is there')
    const next = await browser().post('/en/login', { identifier: admin.userId, password: TEST_PASSWORD })
    assert.equal(next.statusCode, 200)
    assert.match(next.body, /<form[^>]+action="\/en\/login\/code"/, 'the answer is the second step\'s page')
  })

  test('other languages count the sign-ins left with their own plural rules', async () => {
    const admin = await user(app(), { roles: [{ role: 'market_admin', marketId: (await market(app())).id }], factor: false, locale: 'de' })
    const b = browser()
    await b.post('/de/login', { identifier: admin.userId, password: TEST_PASSWORD })
    assert.match((await b.get('/de/account/second-factor')).body, /Sie können sich noch 2-mal ohne zweiten Faktor anmelden/)
    const it = browser()
    await it.post('/it/login', { identifier: admin.userId, password: TEST_PASSWORD })
    assert.match((await it.get('/it/account/second-factor')).body, /Puoi accedere ancora una volta senza secondo fattore/)
  })

  test('an authenticator secret is stored encrypted, never as the key the person typed', async () => {
    const person = await user(app())
    const { secret } = await enrolFactor(app(), person)
    const [stored] = await storedFactorSecrets(app(), person)
    assert.ok(stored)
    assert.match(stored, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/)
    assert.ok(!stored.includes(secret), 'the base32 key is not in the column')
  })
})

describe('a platform administrator requires a second factor for a whole market', () => {
  test('the setting on the platform page, audited; the people of that market are asked at their next sign-in; market administrators may not change it', async () => {
    const place = await market(app())
    const person = await user(app(), { company: await company(app(), { market: place }) })
    assert.doesNotMatch(String((await browser().post('/en/login', { identifier: person.userId, password: TEST_PASSWORD })).headers.location), /second-factor/)

    const platform = await signIn(browser(), await user(app(), { roles: [{ role: 'platform_admin' }] }))
    const page = await platform.get('/en/admin/platform')
    assert.match(page.body, /Second factor by market/)
    const saved = await platform.post(`/en/admin/platform/markets/${place.code}/second-factor`, { required: 'true' }, { fromPage: '/en/admin/platform' })
    assert.equal(saved.statusCode, 303)
    assert.match((await platform.get(String(saved.headers.location))).body, /The market&#39;s second-factor rule is saved|The market's second-factor rule is saved/)
    const [event] = await app().services.admin.auditTrail(system, { action: 'market.second_factor_changed' })
    assert.ok(event, 'audited')

    const b = browser()
    const next = await b.post('/en/login', { identifier: person.userId, password: TEST_PASSWORD })
    assert.match(String(next.headers.location), /^\/en\/account\/second-factor/)
    assert.match((await b.get(String(next.headers.location))).body, /Your market asks everyone for a second factor/)

    const marketAdmin = await signIn(browser(), await user(app(), { roles: [{ role: 'market_admin', marketId: place.id }] }))
    const refused = await marketAdmin.post(`/en/admin/platform/markets/${place.code}/second-factor`, { required: 'false' }, { fromPage: '/en/account' })
    assert.equal(refused.statusCode, 403)
    assert.equal((await app().services.organizations.market(system, place.code))?.secondFactorRequired, true, 'nothing changed')
    const bad = await platform.post(`/en/admin/platform/markets/${place.code}/second-factor`, { required: 'maybe' }, { fromPage: '/en/admin/platform' })
    assert.equal(bad.statusCode, 400)
  })
})

describe('a lost phone: the market administrator removes the factors after the identity check', () => {
  test('only after a passed check, only in their market; audited, the person emailed in their language, and the grace starts again', async () => {
    const it = await market(app())
    const de = await market(app())
    const workshop = await company(app(), { market: it })
    const person = await user(app(), { company: workshop, locale: 'de', roles: [{ role: 'org_admin', companyId: workshop.id }] })
    const outside = await user(app(), { company: await company(app(), { market: de }), factor: true })
    const admin = await signIn(browser(), await user(app(), { roles: [{ role: 'market_admin', marketId: it.id }] }))
    const record = `/en/admin/users/${String(person.id)}`

    const early = await admin.post(`${record}/factors/reset`, {}, { fromPage: record })
    assert.equal(early.statusCode, 422, 'no identity check yet')
    assert.match(early.body, /First check the requester&#39;s identity|First check the requester's identity/)
    assert.equal(await factorCount(person.id), 1, 'nothing removed')

    await admin.post(`${record}/check`, identityOf(person, workshop), { fromPage: record })
    const done = await admin.post(`${record}/factors/reset`, {}, { fromPage: record })
    assert.equal(done.statusCode, 303)
    assert.match((await admin.get(String(done.headers.location))).body, /The second factors were removed; the person was told by email/)
    assert.equal(await factorCount(person.id), 0)
    const [mail] = await mailsTo(app(), person.email ?? '', 'factors-reset')
    assert.equal(mail?.locale, 'de', 'in the person’s language')
    const [event] = await app().services.admin.auditTrail(system, { action: 'factors.reset' })
    assert.equal(event?.target_id, person.id)

    const again = await admin.post(`${record}/factors/reset`, {}, { fromPage: record })
    assert.equal(again.statusCode, 409, 'nothing left to remove')

    const b = browser()
    const signedIn = await b.post('/de/login', { identifier: person.userId, password: TEST_PASSWORD })
    assert.match(String(signedIn.headers.location), /^\/de\/account\/second-factor/, 'password only, then asked to add a new factor')
    assert.match((await b.get(String(signedIn.headers.location))).body, /Sie können sich noch 2-mal ohne zweiten Faktor anmelden/)

    const other = await admin.post(`/en/admin/users/${String(outside.id)}/factors/reset`, {}, { fromPage: record })
    assert.equal(other.statusCode, 403, 'another market')
    assert.equal(await factorCount(outside.id), 1)
  })

  test('the one-click check and act removes them too, in one transaction with the check', async () => {
    const place = await market(app())
    const workshop = await company(app(), { market: place })
    const person = await user(app(), { company: workshop, factor: true })
    const actor = await actorOf(app(), await user(app(), { roles: [{ role: 'market_admin', marketId: place.id }] }))
    const ctx = { publicUrl: testApp().config.publicUrl }
    const wrong = await app().services.administration.checkAndAct(actor, person.id, { ...identityOf(person, workshop), lastName: 'Someone Else' }, 'factors', ctx, async () => undefined)
    assert.equal(wrong.passed, false)
    assert.equal(await factorCount(person.id), 1, 'a failed check removes nothing')
    const right = await app().services.administration.checkAndAct(actor, person.id, identityOf(person, workshop), 'factors', ctx, async () => undefined)
    assert.equal(right.passed, true)
    assert.equal(await factorCount(person.id), 0)
    assert.equal((await mailsTo(app(), person.email ?? '', 'factors-reset')).length, 1)
  })
})

async function factorCount(userId: number): Promise<number> {
  return (await app().services.administration.userRecord(system, userId)).factorCount
}
