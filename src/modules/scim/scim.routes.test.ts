import assert from 'node:assert/strict'
import { test } from 'node:test'
import { actorOf, company, mailsTo, market, reload, signIn, system, unique, user, type CompanyRow, type MarketRow, type UserRow } from '../../../test/factories.js'
import { testBrowser, useFixture, useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp()
const app = () => testApp().app

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

/** The newest audit event of an action on an account. */
async function audited(target: { id: number }, action: string) {
  return (await app().services.administration.timeline(system, target.id, 50)).find((e) => e.action === action)
}

interface Fixture {
  italy: MarketRow
  germany: MarketRow
  a: CompanyRow
  b: CompanyRow
  c: CompanyRow
  /** Tokens: company A's dealer system, company B's, the Italian market's. */
  tokenA: string
  tokenB: string
  tokenIt: string
  alice: UserRow
  bob: UserRow
  carla: UserRow
  marketAdmin: UserRow
}

const fixture = useFixture(testApp, async ({ app }): Promise<Fixture> => {
  const italy = await market(app)
  const germany = await market(app)
  const a = await company(app, { market: italy })
  const b = await company(app, { market: italy })
  const c = await company(app, { market: germany })
  const token = async (scope: { company?: string; market?: string }) => {
    const { client } = await app.services.sso.addClient(system, { realm: 'partner', name: unique('DMS '), kind: 'machine', firstParty: true, redirectUris: [], postLogoutRedirectUris: [] })
    return (await app.services.scim.issueToken(system, { clientId: client.clientId, ...scope })).token
  }
  return {
    italy, germany, a, b, c,
    tokenA: await token({ company: a.companyNumber }), tokenB: await token({ company: b.companyNumber }), tokenIt: await token({ market: italy.code }),
    alice: await user(app, { company: a }), bob: await user(app, { company: b }), carla: await user(app, { company: c }),
    // An account of company A with a market role: beyond what company A's client may touch.
    marketAdmin: await user(app, { company: a, roles: [{ role: 'market_admin', marketId: italy.id }] }),
  }
})

interface Answer { statusCode: number; headers: Record<string, unknown>; json: Record<string, unknown> & { Resources?: Record<string, unknown>[] } }

async function scim(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await app().inject({
    method, url: `/scim/v2${url}`,
    headers: {
      ...(options.token === null ? {} : { authorization: `Bearer ${options.token ?? fixture().tokenA}` }),
      ...(options.body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { payload: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  })
  return { statusCode: res.statusCode, headers: res.headers, json: res.body ? JSON.parse(res.body) as Answer['json'] : {} }
}

function assertScimError(res: Answer, status: number, scimType?: string) {
  assert.equal(res.statusCode, status, JSON.stringify(res.json))
  assert.match(String(res.headers['content-type']), /^application\/scim\+json/)
  assert.deepEqual(res.json.schemas, [ERROR])
  assert.equal(res.json.status, String(status))
  if (scimType) assert.equal(res.json.scimType, scimType)
  assert.equal(typeof res.json.detail, 'string')
}

function newUser(overrides: Record<string, unknown> = {}) {
  const userName = unique('scim.')
  return { schemas: [USER], userName, name: { givenName: 'Giulia', familyName: 'Neri' }, emails: [{ value: `${userName}@dealer.example`, primary: true }], preferredLanguage: 'it', ...overrides }
}

const ids = (res: Answer) => (res.json.Resources ?? []).map((r) => r.id)

test('discovery: ServiceProviderConfig, Schemas and ResourceTypes in SCIM JSON', async () => {
  const config = await scim('GET', '/ServiceProviderConfig', { token: null })
  assert.equal(config.statusCode, 200)
  assert.match(String(config.headers['content-type']), /^application\/scim\+json/)
  assert.deepEqual([config.json.patch, config.json.etag, config.json.bulk], [{ supported: true }, { supported: true }, { supported: false, maxOperations: 0, maxPayloadSize: 0 }])
  const schemas = await scim('GET', '/Schemas', { token: null })
  assert.deepEqual(ids(schemas), [USER, 'urn:ietf:params:scim:schemas:core:2.0:Group', ENTERPRISE])
  const userName = ((schemas.json.Resources?.[0]?.attributes ?? []) as { name: string; uniqueness: string }[]).find((a) => a.name === 'userName')
  assert.equal(userName?.uniqueness, 'server')
  const types = await scim('GET', '/ResourceTypes', { token: null })
  assert.deepEqual((types.json.Resources ?? []).map((r) => r.endpoint), ['/Users', '/Groups'])
  assert.equal((await scim('GET', '/ResourceTypes/User', { token: null })).json.schema, USER)
  assertScimError(await scim('GET', '/Schemas/urn:nope', { token: null }), 404)
})

test('create: the account is invited (email with a link), audited, and answered with its location and version', async () => {
  const body = newUser()
  const created = await scim('POST', '/Users', { body })
  assert.equal(created.statusCode, 201, JSON.stringify(created.json))
  assert.equal(created.json.userName, body.userName)
  assert.equal(created.json.active, true)
  assert.deepEqual(created.json[ENTERPRISE], { organization: fixture().a.companyNumber })
  const meta = created.json.meta as { location: string; version: string }
  assert.equal(created.headers.location, meta.location)
  assert.equal(created.headers.etag, meta.version)
  assert.match(meta.version, /^W\/"[\w-]+"$/)
  const mails = await mailsTo(app(), body.emails[0]?.value ?? '', 'invitation')
  assert.equal(mails.length, 1, 'the invitation is queued')
  assert.equal(mails[0]?.locale, 'it')
  const event = await audited({ id: Number(created.json.id) }, 'account.invited')
  assert.ok(event, 'the invitation is audited')
  assert.equal(event.actorType, 'client')
  assert.equal((event.data as { via?: string } | null)?.via, 'scim')

  // The same user ID (any case) or address again: 409 uniqueness, nothing created.
  assertScimError(await scim('POST', '/Users', { body: newUser({ userName: body.userName.toUpperCase() }) }), 409, 'uniqueness')
  assertScimError(await scim('POST', '/Users', { body: newUser({ emails: body.emails }) }), 409, 'uniqueness')
  // A user ID the portal does not accept, a missing name: 400 invalidValue.
  assertScimError(await scim('POST', '/Users', { body: newUser({ userName: 'giulia neri@dealer' }) }), 400, 'invalidValue')
  assertScimError(await scim('POST', '/Users', { body: { schemas: [USER], userName: unique('x.') } }), 400, 'invalidValue')
  assertScimError(await scim('POST', '/Users', { body: newUser({ active: 'yes' }) }), 400, 'invalidValue')
})

test('get: an account of the scope with its ETag; anything else is 404', async () => {
  const { alice, bob, marketAdmin } = fixture()
  const got = await scim('GET', `/Users/${String(alice.id)}`)
  assert.equal(got.statusCode, 200)
  assert.equal(got.json.userName, alice.userId)
  assert.deepEqual(got.json.emails, [{ value: alice.email, primary: true, type: 'work' }])
  assert.equal(got.headers.etag, (got.json.meta as { version: string }).version)
  assertScimError(await scim('GET', `/Users/${String(bob.id)}`), 404)
  assertScimError(await scim('GET', `/Users/${String(marketAdmin.id)}`), 404)
  assertScimError(await scim('GET', '/Users/999999999'), 404)
  assertScimError(await scim('GET', '/Users/not-a-number'), 404)
})

test('list and filter: userName, emails.value, meta.lastModified, and/or, translated to queries', async () => {
  const { alice } = fixture()
  const byName = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${alice.userId.toUpperCase()}"`)}`)
  assert.equal(byName.statusCode, 200)
  assert.deepEqual(byName.json.schemas, ['urn:ietf:params:scim:api:messages:2.0:ListResponse'])
  assert.deepEqual([byName.json.totalResults, ids(byName)], [1, [String(alice.id)]])
  const byEmail = await scim('GET', `/Users?filter=${encodeURIComponent(`emails.value eq "${alice.email ?? ''}"`)}`)
  assert.deepEqual(ids(byEmail), [String(alice.id)])
  const byEmailPath = await scim('GET', `/Users?filter=${encodeURIComponent(`emails[value eq "${alice.email ?? ''}"]`)}`)
  assert.deepEqual(ids(byEmailPath), [String(alice.id)])

  const created = await scim('POST', '/Users', { body: newUser() })
  const since = new Date(Date.parse((created.json.meta as { lastModified: string }).lastModified) - 1).toISOString()
  const recent = await scim('GET', `/Users?filter=${encodeURIComponent(`meta.lastModified gt "${since}"`)}`)
  assert.ok(ids(recent).includes(created.json.id), 'the new account changed after `since`')
  assert.ok(!ids(recent).includes(String(alice.id)) || alice.updatedAt.toISOString() > since)
  const either = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${alice.userId}" or userName eq "${String(created.json.userName)}"`)}`)
  assert.deepEqual(ids(either).sort(), [String(alice.id), String(created.json.id)].sort())
  const both = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${alice.userId}" and emails.value eq "nobody@example.test"`)}`)
  assert.deepEqual([both.json.totalResults, ids(both)], [0, []])

  // Another company's account is not found by any filter.
  const bob = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${fixture().bob.userId}"`)}`)
  assert.equal(bob.json.totalResults, 0)
  // What cannot be searched, or is not a filter: 400 invalidFilter.
  assertScimError(await scim('GET', `/Users?filter=${encodeURIComponent('title eq "Boss"')}`), 400, 'invalidFilter')
  assertScimError(await scim('GET', `/Users?filter=${encodeURIComponent('userName co "a"')}`), 400, 'invalidFilter')
  assertScimError(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq')}`), 400, 'invalidFilter')
  assertScimError(await scim('GET', `/Users?filter=${encodeURIComponent('meta.lastModified gt "yesterday"')}`), 400, 'invalidFilter')
  assertScimError(await scim('GET', `/Users?filter=${encodeURIComponent(Array.from({ length: 30 }, (_, i) => `userName eq "u${String(i)}"`).join(' or '))}`), 400, 'invalidFilter')
})

test('pagination: startIndex and count over the scope, with the total', async () => {
  const { b } = fixture()
  const tokenB = fixture().tokenB
  for (let i = 0; i < 4; i++) await user(app(), { company: b })
  const all = await scim('GET', '/Users', { token: tokenB })
  const total = Number(all.json.totalResults)
  assert.ok(total >= 5)
  const first = await scim('GET', '/Users?startIndex=1&count=2', { token: tokenB })
  const second = await scim('GET', '/Users?startIndex=3&count=2', { token: tokenB })
  assert.deepEqual([first.json.totalResults, first.json.startIndex, first.json.itemsPerPage], [total, 1, 2])
  assert.deepEqual([second.json.startIndex, second.json.itemsPerPage], [3, 2])
  assert.deepEqual([...ids(first), ...ids(second)], ids(all).slice(0, 4))
  const past = await scim('GET', `/Users?startIndex=${String(total + 5)}`, { token: tokenB })
  assert.deepEqual([past.json.totalResults, past.json.itemsPerPage], [total, 0])
  const none = await scim('GET', '/Users?count=0', { token: tokenB })
  assert.deepEqual([none.json.totalResults, none.json.itemsPerPage], [total, 0])
  // Out-of-range values are clamped (RFC 7644 §3.4.2.4); text is refused.
  assert.equal((await scim('GET', '/Users?startIndex=-4&count=1', { token: tokenB })).json.startIndex, 1)
  assertScimError(await scim('GET', '/Users?count=many', { token: tokenB }), 400, 'invalidValue')
})

test('PUT replaces the record: names, address (unverified again), language; organization cannot move', async () => {
  const target = await user(app(), { company: fixture().a })
  const put = await scim('PUT', `/Users/${String(target.id)}`, {
    body: { schemas: [USER], userName: target.userId, name: { givenName: 'Anna', familyName: 'Verdi' }, emails: [{ value: 'anna.verdi@dealer.example', primary: true }], preferredLanguage: 'de' },
  })
  assert.equal(put.statusCode, 200, JSON.stringify(put.json))
  const row = await reload(app(), target)
  assert.deepEqual([row.firstName, row.lastName, row.email, row.locale, row.emailVerifiedAt], ['Anna', 'Verdi', 'anna.verdi@dealer.example', 'de', null])
  assert.notEqual(put.headers.etag, undefined)
  // Without emails, the address goes.
  const bare = await scim('PUT', `/Users/${String(target.id)}`, { body: { schemas: [USER], userName: target.userId, name: { givenName: 'Anna', familyName: 'Verdi' } } })
  assert.equal(bare.statusCode, 200)
  assert.equal((await reload(app(), target)).email, null)
  assertScimError(await scim('PUT', `/Users/${String(target.id)}`, {
    body: { schemas: [USER], userName: target.userId, name: { givenName: 'Anna', familyName: 'Verdi' }, [ENTERPRISE]: { organization: fixture().b.companyNumber } },
  }), 400, 'mutability')
  assertScimError(await scim('PUT', `/Users/${String(target.id)}`, { body: { schemas: [USER], userName: fixture().alice.userId, name: { givenName: 'A', familyName: 'V' } } }), 409, 'uniqueness')
  assert.equal((await reload(app(), target)).userId, target.userId, 'nothing changed')
})

test('PATCH: replace, add and remove; active false switches the account off through the account core', async () => {
  const target = await user(app(), { company: fixture().a })
  const browser = await signIn(testBrowser(app), target)
  assert.equal((await browser.get('/en/account')).statusCode, 200)
  const patched = await scim('PATCH', `/Users/${String(target.id)}`, {
    body: { schemas: [PATCH], Operations: [
      { op: 'Replace', path: 'name.givenName', value: 'Paola' },
      { op: 'add', path: 'preferredLanguage', value: 'de' },
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'paola@dealer.example' },
    ] },
  })
  assert.equal(patched.statusCode, 200, JSON.stringify(patched.json))
  let row = await reload(app(), target)
  assert.deepEqual([row.firstName, row.locale, row.email], ['Paola', 'de', 'paola@dealer.example'])

  const off = await scim('PATCH', `/Users/${String(target.id)}`, { body: { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] } })
  assert.equal(off.statusCode, 200, JSON.stringify(off.json))
  assert.equal(off.json.active, false)
  row = await reload(app(), target)
  assert.equal(row.status, 'deactivated')
  assert.notEqual((await browser.get('/en/account')).statusCode, 200, 'the portal session ended')
  const event = await audited(target, 'account.provisioned')
  assert.deepEqual((event?.data as { after?: unknown } | undefined)?.after, { status: 'deactivated' })

  const removed = await scim('PATCH', `/Users/${String(target.id)}`, { body: { schemas: [PATCH], Operations: [{ op: 'remove', path: 'emails' }] } })
  assert.equal(removed.statusCode, 200)
  assert.equal((await reload(app(), target)).email, null)

  // Broken operations: 400 with nothing changed.
  assertScimError(await scim('PATCH', `/Users/${String(target.id)}`, { body: { schemas: [PATCH], Operations: [{ op: 'explode', path: 'userName' }] } }), 400)
  assertScimError(await scim('PATCH', `/Users/${String(target.id)}`, { body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'groups', value: [] }] } }), 400, 'mutability')
  assertScimError(await scim('PATCH', `/Users/${String(target.id)}`, { body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: 'no spaces allowed' }] } }), 400, 'invalidValue')
  assertScimError(await scim('PATCH', `/Users/${String(target.id)}`, { body: { Operations: 'all' } }), 400, 'invalidSyntax')
  assert.equal((await reload(app(), target)).userId, target.userId)

  // Access back is a market's decision: company A's client may not, the Italian market's may.
  assertScimError(await scim('PATCH', `/Users/${String(target.id)}`, { body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: true }] } }), 403)
  const back = await scim('PATCH', `/Users/${String(target.id)}`, { token: fixture().tokenIt, body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: true }] } })
  assert.equal(back.statusCode, 200, JSON.stringify(back.json))
  assert.equal((await reload(app(), target)).status, 'active')
})

test('ETag and If-Match: a change made on an old version is refused with 412 and changes nothing', async () => {
  const target = await user(app(), { company: fixture().a })
  const read = await scim('GET', `/Users/${String(target.id)}`)
  const version = String(read.headers.etag)
  const first = await scim('PATCH', `/Users/${String(target.id)}`, { headers: { 'if-match': version }, body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'name.familyName', value: 'Primo' }] } })
  assert.equal(first.statusCode, 200)
  assert.notEqual(first.headers.etag, version)
  assertScimError(await scim('PATCH', `/Users/${String(target.id)}`, { headers: { 'if-match': version }, body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'name.familyName', value: 'Secondo' }] } }), 412)
  assertScimError(await scim('PUT', `/Users/${String(target.id)}`, { headers: { 'if-match': version }, body: { schemas: [USER], userName: target.userId, name: { givenName: 'X', familyName: 'Terzo' } } }), 412)
  assertScimError(await scim('DELETE', `/Users/${String(target.id)}`, { headers: { 'if-match': version } }), 412)
  assert.equal((await reload(app(), target)).lastName, 'Primo')
  const star = await scim('PATCH', `/Users/${String(target.id)}`, { headers: { 'if-match': '*' }, body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'name.familyName', value: 'Quarto' }] } })
  assert.equal(star.statusCode, 200)
  // The current tag without its W/, or in a list beside others, matches; a list of old ones does not.
  const strong = await scim('PATCH', `/Users/${String(target.id)}`, { headers: { 'if-match': String(star.headers.etag).replace(/^W\//, '') }, body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'name.familyName', value: 'Quinto' }] } })
  assert.equal(strong.statusCode, 200, JSON.stringify(strong.json))
  assertScimError(await scim('DELETE', `/Users/${String(target.id)}`, { headers: { 'if-match': `${version}, ${String(star.headers.etag)}` } }), 412)
  assertScimError(await scim('DELETE', `/Users/${String(target.id)}`, { headers: { 'if-match': 'not a tag' } }), 412)
  const listed = await app().inject({ method: 'DELETE', url: `/scim/v2/Users/${String(target.id)}`, headers: { authorization: `Bearer ${fixture().tokenA}`, 'if-match': `W/"older", ${String(strong.headers.etag)}` } })
  assert.equal(listed.statusCode, 204)
})

test('DELETE erases the account (tombstone), after which it is 404 everywhere', async () => {
  const target = await user(app(), { company: fixture().a })
  assertScimError(await scim('DELETE', `/Users/${String(target.id)}`, { token: fixture().tokenB }), 404)
  const res = await app().inject({ method: 'DELETE', url: `/scim/v2/Users/${String(target.id)}`, headers: { authorization: `Bearer ${fixture().tokenA}` } })
  assert.equal(res.statusCode, 204)
  const row = await reload(app(), target)
  assert.equal(row.status, 'deleted')
  assert.notEqual(row.userId, target.userId, 'the user ID is erased')
  assertScimError(await scim('GET', `/Users/${String(target.id)}`), 404)
  assertScimError(await scim('DELETE', `/Users/${String(target.id)}`), 404)
  const trail = await app().services.admin.accountTimeline(system, target.id)
  assert.ok(trail.some((e) => e.action === 'account.erased'), 'the erasure is audited')
})

test('errors in SCIM JSON, never a 500: no token, wrong token, broken JSON, wrong media type, unknown path, in the request language', async () => {
  const none = await scim('GET', '/Users', { token: null })
  assertScimError(none, 401)
  assert.match(String(none.headers['www-authenticate']), /^Bearer/)
  assertScimError(await scim('GET', '/Users', { token: 'scim_wrong-token-of-the-right-length' }), 401)
  assertScimError(await scim('POST', '/Users', { body: '{"userName": ' }), 400)
  assertScimError(await scim('POST', '/Users', { body: '[1, 2]' }), 400, 'invalidSyntax')
  assertScimError(await scim('POST', '/Users', { body: JSON.stringify({ userName: 'a\u0000b' }) }), 400)
  assertScimError(await scim('POST', '/Users', { body: 'userName=x', headers: { 'content-type': 'text/plain' } }), 415)
  assertScimError(await scim('GET', '/Nope'), 404)
  assertScimError(await scim('POST', '/Groups', { body: { displayName: 'x' } }), 405)
  const german = await scim('GET', '/Users', { token: null, headers: { 'accept-language': 'de' } })
  assert.match(String(german.json.detail), /Token/)
  assert.match(String((await scim('GET', '/Users', { token: null, headers: { 'accept-language': 'en' } })).json.detail), /token/)
})

test('Groups: a company\'s users and organization administrators; membership of the second is the role', async () => {
  const { a, b, alice, bob } = fixture()
  const listed = await scim('GET', '/Groups')
  assert.equal(listed.statusCode, 200)
  assert.deepEqual(ids(listed), [`company-${String(a.id)}-users`, `company-${String(a.id)}-org-admins`])
  assert.equal(listed.json.totalResults, 2)
  const admins = `/Groups/company-${String(a.id)}-org-admins`
  const before = await scim('GET', admins)
  assert.equal(before.json.displayName, `${a.companyNumber} organization administrators`)
  assert.deepEqual(before.json.members, [])
  const byName = await scim('GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${a.companyNumber} organization administrators"`)}`)
  assert.deepEqual(ids(byName), [`company-${String(a.id)}-org-admins`])

  const added = await scim('PATCH', admins, { body: { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: String(alice.id) }] }] } })
  assert.equal(added.statusCode, 200, JSON.stringify(added.json))
  assert.deepEqual((added.json.members as { value: string }[]).map((m) => m.value), [String(alice.id)])
  const actor = await actorOf(app(), alice)
  assert.deepEqual(actor.kind === 'user' ? actor.roles.filter((r) => r.role === 'org_admin').map((r) => r.companyId) : [], [a.id])
  const aliceNow = await scim('GET', `/Users/${String(alice.id)}`)
  assert.deepEqual((aliceNow.json.groups as { value: string }[]).map((g) => g.value), [`company-${String(a.id)}-users`, `company-${String(a.id)}-org-admins`])

  // Stale version, another company's account, the users group, another company's group.
  assertScimError(await scim('PATCH', admins, { headers: { 'if-match': String(before.headers.etag) }, body: { schemas: [PATCH], Operations: [{ op: 'remove', path: 'members' }] } }), 412)
  assertScimError(await scim('PATCH', admins, { body: { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: String(bob.id) }] }] } }), 400, 'invalidValue')
  assertScimError(await scim('PATCH', `/Groups/company-${String(a.id)}-users`, { body: { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${String(alice.id)}"]` }] } }), 400, 'mutability')
  assertScimError(await scim('GET', `/Groups/company-${String(b.id)}-org-admins`), 404)
  assertScimError(await scim('PATCH', `/Groups/company-${String(b.id)}-org-admins`, { body: { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: String(bob.id) }] }] } }), 404)

  const removed = await scim('PATCH', admins, { body: { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${String(alice.id)}"]` }] } })
  assert.equal(removed.statusCode, 200, JSON.stringify(removed.json))
  assert.deepEqual(removed.json.members, [])
  const put = await scim('PUT', admins, { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: before.json.displayName, members: [{ value: String(alice.id) }] } })
  assert.deepEqual((put.json.members as { value: string }[]).map((m) => m.value), [String(alice.id)])
  const excluded = await scim('GET', `/Groups?excludedAttributes=members`)
  assert.equal(excluded.json.Resources?.[0]?.members, undefined)
})

test('scope: a company\'s token never sees or changes another company; a market\'s sees its companies only', async () => {
  const { a, b, c, alice, bob, carla, marketAdmin, tokenIt } = fixture()
  for (const [method, body] of [['GET', undefined], ['PUT', { schemas: [USER], userName: bob.userId, name: { givenName: 'X', familyName: 'Y' } }], ['PATCH', { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] }], ['DELETE', undefined]] as const) {
    assertScimError(await scim(method, `/Users/${String(bob.id)}`, { body }), 404)
  }
  const untouched = await reload(app(), bob)
  assert.deepEqual([untouched.status, untouched.firstName], [bob.status, bob.firstName])
  // Creating in a company outside the scope: the company is unknown to this client.
  assertScimError(await scim('POST', '/Users', { body: newUser({ [ENTERPRISE]: { organization: b.companyNumber } }) }), 400, 'invalidValue')
  assertScimError(await scim('POST', '/Users', { token: tokenIt, body: newUser({ [ENTERPRISE]: { organization: c.companyNumber } }) }), 400, 'invalidValue')
  assertScimError(await scim('POST', '/Users', { token: tokenIt, body: newUser() }), 400, 'invalidValue')
  const inB = await scim('POST', '/Users', { token: tokenIt, body: newUser({ [ENTERPRISE]: { organization: b.companyNumber } }) })
  assert.equal(inB.statusCode, 201)

  const market = await scim('GET', '/Users?count=200', { token: tokenIt })
  const seen = ids(market)
  assert.ok(seen.includes(String(alice.id)) && seen.includes(String(bob.id)) && seen.includes(String(marketAdmin.id)))
  assert.ok(!seen.includes(String(carla.id)), 'another market is out of reach')
  const mine = ids(await scim('GET', '/Users?count=200'))
  assert.ok(mine.includes(String(alice.id)) && !mine.includes(String(bob.id)) && !mine.includes(String(marketAdmin.id)))
  assertScimError(await scim('GET', `/Users/${String(carla.id)}`, { token: tokenIt }), 404)
  const groups = ids(await scim('GET', '/Groups?count=200', { token: tokenIt }))
  assert.ok(groups.includes(`company-${String(a.id)}-users`) && groups.includes(`company-${String(b.id)}-org-admins`) && !groups.includes(`company-${String(c.id)}-users`))
})

test('tokens: only for machine clients of the partner realm, scoped to one company or one market; a new one replaces the old', async () => {
  const { a, italy } = fixture()
  const web = await app().services.sso.addClient(system, { realm: 'partner', name: 'Web', kind: 'web', firstParty: true, redirectUris: ['https://web.example/cb'], postLogoutRedirectUris: [] })
  await assert.rejects(app().services.scim.issueToken(system, { clientId: web.client.clientId, company: a.companyNumber }), { code: 'INVALID_INPUT' })
  const machine = await app().services.sso.addClient(system, { realm: 'partner', name: 'DMS', kind: 'machine', firstParty: true, redirectUris: [], postLogoutRedirectUris: [] })
  await assert.rejects(app().services.scim.issueToken(system, { clientId: machine.client.clientId, company: a.companyNumber, market: italy.code }), { code: 'INVALID_INPUT' })
  await assert.rejects(app().services.scim.issueToken(system, { clientId: machine.client.clientId }), { code: 'INVALID_INPUT' })
  const old = await app().services.scim.issueToken(system, { clientId: machine.client.clientId, company: a.companyNumber })
  const fresh = await app().services.scim.issueToken(system, { clientId: machine.client.clientId, market: italy.code })
  assertScimError(await scim('GET', '/Users', { token: old.token }), 401)
  assert.equal((await scim('GET', '/Users', { token: fresh.token })).statusCode, 200)
  await app().services.sso.removeClient(system, machine.client.clientId)
  assertScimError(await scim('GET', '/Users', { token: fresh.token }), 401)
})
