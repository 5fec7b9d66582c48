/**
 * SCIM as a provisioning client sees it: over real HTTP, every request built and every answer read
 * through SCIMMY's schema and message classes (RFC 7643 / 7644), not through our own idea of the
 * shapes. Where SCIMMY can say what an operation should do (a filter over the resources, a PATCH
 * applied to a resource), the server's answer is compared with the library's.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import SCIMMY from 'scimmy'
import { company, market, system, unique, user, type CompanyRow, type UserRow } from '../../../test/factories.js'
import { useFixture, useTestApp } from '../../../test/helpers.js'

// Our Users carry the enterprise extension (organization: the company number). The library takes
// the schema class here; its typings name an instance.
SCIMMY.Schemas.User.extend(SCIMMY.Schemas.EnterpriseUser as unknown as SCIMMY.Types.Schema, false)

const ENTERPRISE = SCIMMY.Schemas.EnterpriseUser.id

type Json = Record<string, unknown>
type Operation = SCIMMY.Messages.PatchOp.PatchOpOperation

/** A resource as SCIMMY reads it back to plain JSON (what it keeps is what the schema defines). */
function plain(resource: unknown): Json {
  return JSON.parse(JSON.stringify(resource)) as Json
}

/** The answer, read as a SCIM client library reads it; anything the schema does not define, or types otherwise, fails here. */
function readUser(json: unknown): Json {
  const user = plain(new SCIMMY.Schemas.User(json, 'out'))
  assert.deepEqual(user, json, 'the User answer is exactly what the User schema (with the enterprise extension) describes')
  return user
}

function readGroup(json: unknown): Json {
  const group = plain(new SCIMMY.Schemas.Group(json, 'out'))
  assert.deepEqual(group, json, 'the Group answer is exactly what the Group schema describes')
  return group
}

function readList(json: Json, read: (resource: unknown) => Json): { total: number; startIndex: number; resources: Json[] } {
  const list = new SCIMMY.Messages.ListResponse(json as unknown as SCIMMY.Messages.ListResponse)
  assert.equal(list.itemsPerPage, list.Resources.length)
  return { total: list.totalResults, startIndex: list.startIndex, resources: list.Resources.map(read) }
}

/** A SCIM error as the library reads it (it throws the service provider's error), its status and scimType a pair RFC 7644 §3.12 allows. */
function readError(status: number, json: Json): SCIMMY.Types.SCIMError {
  let error: unknown
  try {
    new SCIMMY.Messages.ErrorResponse(json)
  } catch (thrown) {
    error = thrown
  }
  assert.ok(error instanceof SCIMMY.Types.Error, `a SCIM Error message: ${JSON.stringify(json)}`)
  // The library keeps the status as the message spells it (a string).
  assert.equal(String(error.status), String(status))
  assert.equal(typeof error.message, 'string')
  // Validated again as a service provider would send it: throws on a status or pair outside the RFC's table.
  const sent = new SCIMMY.Messages.ErrorResponse({ status: status as SCIMMY.Messages.ErrorResponse.ValidStatusCodes, scimType: error.scimType as SCIMMY.Messages.ErrorResponse.ValidScimTypes, detail: error.message })
  assert.equal(sent.status, String(status))
  return error
}

interface Answer { status: number; etag: string | null; location: string | null; json: Json }

/**
 * A small SCIM client over fetch, as a dealer management system would run one: a base URL and a
 * bearer token; bodies are SCIMMY instances serialised, answers are read back through SCIMMY.
 */
class ScimClient {
  constructor(readonly base: string, readonly token: string) {}

  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, accept: 'application/scim+json', ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    if (text !== '') assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/)
    return { status: res.status, etag: res.headers.get('etag'), location: res.headers.get('location'), json: text === '' ? {} : JSON.parse(text) as Json }
  }

  /** Expects `status`; a SCIM error otherwise is shown whole. */
  async expect(status: number, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> {
    const answer = await this.send(method, path, body, headers)
    assert.equal(answer.status, status, `${method} ${path}: ${JSON.stringify(answer.json)}`)
    return answer
  }

  async createUser(resource: Json): Promise<{ user: Json; etag: string }> {
    // Built as an inbound User: read-only attributes (id, meta) never leave the client.
    const body = new SCIMMY.Schemas.User(resource, 'in')
    const answer = await this.expect(201, 'POST', '/Users', body)
    const user = readUser(answer.json)
    assert.equal(answer.location, (user.meta as Json).location)
    return { user, etag: this.etagOf(answer, user) }
  }

  async getUser(id: string): Promise<{ user: Json; etag: string }> {
    const answer = await this.expect(200, 'GET', `/Users/${id}`)
    const user = readUser(answer.json)
    return { user, etag: this.etagOf(answer, user) }
  }

  async findUsers(expression: string, page: { startIndex?: number; count?: number } = {}) {
    // Parsed by the library first: only a well-formed filter goes out, in its own spelling.
    const filter = new SCIMMY.Types.Filter(expression)
    const query = new URLSearchParams({ filter: filter.expression, ...(page.startIndex ? { startIndex: String(page.startIndex) } : {}), count: String(page.count ?? 200) })
    return { filter, ...readList((await this.expect(200, 'GET', `/Users?${query.toString()}`)).json, readUser) }
  }

  async allUsers(): Promise<Json[]> {
    return readList((await this.expect(200, 'GET', '/Users?count=200')).json, readUser).resources
  }

  async replaceUser(id: string, resource: Json, etag?: string): Promise<{ user: Json; etag: string }> {
    const answer = await this.expect(200, 'PUT', `/Users/${id}`, new SCIMMY.Schemas.User(resource, 'in'), etag ? { 'if-match': etag } : {})
    const user = readUser(answer.json)
    return { user, etag: this.etagOf(answer, user) }
  }

  patch(operations: Operation[]): SCIMMY.Messages.PatchOp {
    return new SCIMMY.Messages.PatchOp({ schemas: [SCIMMY.Messages.PatchOp.id], Operations: operations })
  }

  async patchUser(id: string, operations: Operation[], etag?: string): Promise<{ user: Json; etag: string }> {
    const answer = await this.expect(200, 'PATCH', `/Users/${id}`, this.patch(operations), etag ? { 'if-match': etag } : {})
    const user = readUser(answer.json)
    return { user, etag: this.etagOf(answer, user) }
  }

  async deleteUser(id: string, etag?: string): Promise<void> {
    const answer = await this.expect(204, 'DELETE', `/Users/${id}`, undefined, etag ? { 'if-match': etag } : {})
    assert.deepEqual(answer.json, {})
  }

  async groups(): Promise<Json[]> {
    return readList((await this.expect(200, 'GET', '/Groups?count=200')).json, readGroup).resources
  }

  async getGroup(id: string): Promise<{ group: Json; etag: string }> {
    const answer = await this.expect(200, 'GET', `/Groups/${id}`)
    const group = readGroup(answer.json)
    return { group, etag: this.etagOf(answer, group) }
  }

  async patchGroup(id: string, operations: Operation[], etag?: string): Promise<{ group: Json; etag: string }> {
    const answer = await this.expect(200, 'PATCH', `/Groups/${id}`, this.patch(operations), etag ? { 'if-match': etag } : {})
    const group = readGroup(answer.json)
    return { group, etag: this.etagOf(answer, group) }
  }

  async replaceGroup(id: string, resource: Json, etag?: string): Promise<{ group: Json; etag: string }> {
    const answer = await this.expect(200, 'PUT', `/Groups/${id}`, new SCIMMY.Schemas.Group(resource, 'in'), etag ? { 'if-match': etag } : {})
    const group = readGroup(answer.json)
    return { group, etag: this.etagOf(answer, group) }
  }

  /** The refusal a call meets, read as a SCIM error. */
  async refused(status: number, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<SCIMMY.Types.SCIMError> {
    const answer = await this.expect(status, method, path, body, headers)
    return readError(status, answer.json)
  }

  /** The ETag header and meta.version are one value, a weak entity tag. */
  private etagOf(answer: Answer, resource: Json): string {
    const version = (resource.meta as Json).version
    assert.equal(answer.etag, version)
    assert.match(String(version), /^W\/"[^"]+"$/)
    return String(version)
  }
}

/** The value of the primary address (or the only one) of a User resource. */
function primaryEmail(resource: Json): string | undefined {
  const emails = (resource.emails ?? []) as { value: string; primary?: boolean }[]
  return (emails.find((e) => e.primary === true) ?? emails[0])?.value
}

const ids = (resources: Json[]) => resources.map((r) => String(r.id)).sort()

const testApp = useTestApp()

interface Fixture { a: CompanyRow; b: CompanyRow; colleague: UserRow; client: ScimClient; otherClient: ScimClient }

const fixture = useFixture(testApp, async ({ app }): Promise<Fixture> => {
  const italy = await market(app)
  const a = await company(app, { market: italy })
  const b = await company(app, { market: italy })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${String((app.server.address() as AddressInfo).port)}/scim/v2`
  const token = async (companyNumber: string) => {
    const { client } = await app.services.sso.addClient(system, { realm: 'partner', name: unique('DMS '), kind: 'machine', firstParty: true, redirectUris: [], postLogoutRedirectUris: [] })
    return (await app.services.scim.issueToken(system, { clientId: client.clientId, company: companyNumber })).token
  }
  return { a, b, colleague: await user(app, { company: a }), client: new ScimClient(base, await token(a.companyNumber)), otherClient: new ScimClient(base, await token(b.companyNumber)) }
})

function newUser(overrides: Json = {}): Json {
  const userName = unique('client.')
  return {
    schemas: [SCIMMY.Schemas.User.id], userName, name: { givenName: 'Giulia', familyName: 'Neri' },
    emails: [{ value: `${userName}@dealer.example`, primary: true, type: 'work' }], preferredLanguage: 'it', active: true, ...overrides,
  }
}

test('a SCIM client library creates, reads, replaces and deletes a user; every answer is a valid User', async () => {
  const { client, a } = fixture()
  const resource = newUser()
  const { user: created, etag } = await client.createUser(resource)
  assert.equal(created.userName, resource.userName)
  assert.deepEqual(created[ENTERPRISE], { organization: a.companyNumber })
  assert.deepEqual((created.groups as Json[]).map((g) => g.value), [`company-${String(a.id)}-users`])
  assert.equal(primaryEmail(created), primaryEmail(resource))
  const id = String(created.id)

  const { user: read, etag: readTag } = await client.getUser(id)
  assert.deepEqual(read, created)
  assert.equal(readTag, etag)

  // PUT with the version read: the record is replaced; without emails the address goes.
  const replacement = { ...newUser({ userName: created.userName }), name: { givenName: 'Anna', familyName: 'Verdi' }, emails: undefined, preferredLanguage: 'de' }
  const { user: replaced, etag: replacedTag } = await client.replaceUser(id, replacement, etag)
  assert.deepEqual([(replaced.name as Json).givenName, (replaced.name as Json).familyName, replaced.emails, replaced.preferredLanguage], ['Anna', 'Verdi', undefined, 'de'])
  assert.notEqual(replacedTag, etag)
  // The same PUT on the version before it: 412, and nothing moves.
  const stale = await client.refused(412, 'PUT', `/Users/${id}`, new SCIMMY.Schemas.User({ ...replacement, name: { givenName: 'Old', familyName: 'Version' } }, 'in'), { 'if-match': etag })
  assert.equal(stale.scimType, undefined)
  assert.deepEqual((await client.getUser(id)).user, replaced)

  // A duplicate user ID is a SCIM uniqueness error the library accepts as one.
  const taken = await client.refused(409, 'POST', '/Users', new SCIMMY.Schemas.User(newUser({ userName: created.userName }), 'in'))
  assert.equal(taken.scimType, 'uniqueness')

  await client.refused(412, 'DELETE', `/Users/${id}`, undefined, { 'if-match': etag })
  await client.deleteUser(id, replacedTag)
  await client.refused(404, 'GET', `/Users/${id}`)
  await client.refused(404, 'DELETE', `/Users/${id}`)
})

test('filters built and parsed by the library find what the library itself would match: userName, emails.value, meta.lastModified, and/or', async () => {
  const { client, colleague } = fixture()
  const first = (await client.createUser(newUser())).user
  const second = (await client.createUser(newUser())).user
  const everyone = await client.allUsers()
  assert.ok(ids(everyone).includes(String(colleague.id)))
  const since = new Date(Date.parse(String((first.meta as Json).lastModified)) - 1).toISOString()
  const expressions = [
    `userName eq "${String(first.userName)}"`,
    `emails.value eq "${String(primaryEmail(second))}"`,
    `meta.lastModified gt "${since}"`,
    `userName eq "${String(first.userName)}" or emails.value eq "${String(primaryEmail(second))}"`,
    `userName eq "${String(first.userName)}" and emails.value eq "${String(primaryEmail(first))}"`,
    `userName eq "${String(first.userName)}" and emails.value eq "${String(primaryEmail(second))}"`,
    `meta.lastModified gt "${since}" and (userName eq "${String(second.userName)}" or userName eq "${colleague.userId}")`,
    `emails[value eq "${colleague.email ?? ''}"]`,
  ]
  for (const expression of expressions) {
    const found = await client.findUsers(expression)
    const expected = found.filter.match(everyone) as Json[]
    assert.deepEqual(ids(found.resources), ids(expected), expression)
    assert.equal(found.total, expected.length, expression)
  }
  assert.deepEqual(ids((await client.findUsers(`userName eq "${String(first.userName)}"`)).resources), [String(first.id)], 'not an empty agreement')

  // Pages: the list message the library reads says where the page starts and how long it is.
  const page = await client.findUsers(`meta.lastModified gt "${since}"`, { startIndex: 2, count: 1 })
  assert.deepEqual([page.startIndex, page.resources.length, page.total], [2, 1, 2])
  // A filter the server does not search by is refused as invalidFilter, in SCIM's shape.
  assert.equal((await client.refused(400, 'GET', `/Users?filter=${encodeURIComponent('title eq "Boss"')}`)).scimType, 'invalidFilter')
})

test('PATCH operations built by the library give the resource the library computes, a change of primary address included', async () => {
  const { client } = fixture()
  let { user: current, etag } = await client.createUser(newUser())
  const id = String(current.id)
  const steps: Operation[][] = [
    [{ op: 'replace', path: 'name.givenName', value: 'Paola' }, { op: 'add', path: 'preferredLanguage', value: 'de' }],
    [{ op: 'replace', path: 'emails[primary eq true].value', value: `${id}.changed@dealer.example` }],
    [{ op: 'replace', value: { name: { givenName: 'Paola', familyName: 'Bianchi' }, active: false } }],
    [{ op: 'replace', path: 'emails', value: [{ value: `${id}.replaced@dealer.example`, primary: true, type: 'work' }] }],
  ]
  for (const operations of steps) {
    const expected = plain(await client.patch(operations).apply(new SCIMMY.Schemas.User(current, 'out'), async (patched) => plain(patched)))
    const answer = await client.patchUser(id, operations, etag)
    // What the client wrote; name.formatted and displayName the portal derives from the names.
    const written = (r: Json) => [r.userName, (r.name as Json).givenName, (r.name as Json).familyName, r.preferredLanguage, r.active, primaryEmail(r)]
    assert.deepEqual(written(answer.user), written(expected), `after ${JSON.stringify(operations)}`)
    assert.notEqual(answer.etag, etag)
    ;({ user: current, etag } = answer)
  }

  // A second address added as primary becomes the primary (RFC 7644 §3.5.2: any other value's primary turns false).
  const added = `${id}.new-primary@dealer.example`
  const { user: switched } = await client.patchUser(id, [{ op: 'add', path: 'emails', value: [{ value: added, primary: true, type: 'work' }] }], etag)
  assert.equal(primaryEmail(switched), added)
  assert.deepEqual(((switched.emails ?? []) as { primary: boolean }[]).filter((e) => e.primary).length, 1, 'one primary address')

  // A PATCH on a version that is no longer current: 412 from the library's point of view too.
  await client.refused(412, 'PATCH', `/Users/${id}`, client.patch([{ op: 'replace', path: 'name.familyName', value: 'Stale' }]), { 'if-match': etag })
  assert.equal(((await client.getUser(id)).user.name as Json).familyName, 'Bianchi')
})

test('groups through the library: listed, read, members patched and replaced, never deleted; a company sees only its own', async () => {
  const { client, otherClient, a, colleague } = fixture()
  const listed = await client.groups()
  assert.deepEqual(ids(listed), [`company-${String(a.id)}-org-admins`, `company-${String(a.id)}-users`])
  assert.deepEqual(ids(await otherClient.groups()).some((g) => g.startsWith(`company-${String(a.id)}-`)), false)
  const admins = `company-${String(a.id)}-org-admins`
  const { group: before, etag } = await client.getGroup(admins)
  assert.deepEqual(before.members, [])

  const operations: Operation[] = [{ op: 'add', path: 'members', value: [{ value: String(colleague.id) }] }]
  const expected = plain(await client.patch(operations).apply(new SCIMMY.Schemas.Group(before, 'out'), async (patched) => plain(patched)))
  const { group: added, etag: addedTag } = await client.patchGroup(admins, operations, etag)
  assert.deepEqual((added.members as Json[]).map((m) => m.value), (expected.members as Json[]).map((m) => m.value))
  assert.deepEqual(((await client.getUser(String(colleague.id))).user.groups as Json[]).map((g) => g.value), [`company-${String(a.id)}-users`, admins])
  // The version before the change no longer matches.
  await client.refused(412, 'PATCH', `/Groups/${admins}`, client.patch([{ op: 'remove', path: 'members' }]), { 'if-match': etag })

  const { group: replaced } = await client.replaceGroup(admins, { schemas: [SCIMMY.Schemas.Group.id], displayName: before.displayName, members: [] }, addedTag)
  assert.deepEqual(replaced.members, [])
  await client.refused(412, 'PUT', `/Groups/${admins}`, new SCIMMY.Schemas.Group({ displayName: before.displayName, members: [{ value: String(colleague.id) }] }, 'in'), { 'if-match': addedTag })

  // A company's groups come and go with the company: DELETE is refused, in SCIM's error shape.
  const refused = await client.expect(405, 'DELETE', `/Groups/${admins}`)
  assert.deepEqual((refused.json as { schemas?: unknown }).schemas, [SCIMMY.Messages.ErrorResponse.id])
  await otherClient.refused(404, 'GET', `/Groups/${admins}`)
  await otherClient.refused(404, 'GET', `/Users/${String(colleague.id)}`)
})
