/**
 * SCIM 2.0 (RFC 7643, RFC 7644) shapes: accounts and company roles as SCIM resources, filters
 * translated to identity's account query, PATCH applied with scim-patch. Pure functions: no
 * database, no HTTP.
 */
import { createHash } from 'node:crypto'
import { parse, type Filter } from 'scim2-parse-filter'
import { patchBodyValidation, scimPatch, ScimError, type ScimPatchOperation, type ScimResource } from 'scim-patch'
import { AppError } from '../../shared/errors.js'
import type { AccountChange, AccountFilter, CompanyGroups, NewProvisionedAccount, ProvisionedAccount } from '../identity/index.js'

export const SCHEMA = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  config: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const

/** Pages are at most this long (ServiceProviderConfig's filter.maxResults). */
export const MAX_RESULTS = 200
const MAX_FILTER_LENGTH = 1000
const MAX_FILTER_TERMS = 20

/** A SCIM problem: the error (status, message in the request's language) and SCIM's `scimType`. */
export class ScimProblem extends Error {
  constructor(readonly error: AppError, readonly scimType: string | undefined) {
    super(error.code)
  }
}

export function invalid(scimType: 'invalidFilter' | 'invalidPath' | 'invalidValue' | 'invalidSyntax' | 'mutability' | 'noTarget', field: string, reason: string): ScimProblem {
  return new ScimProblem(new AppError('INVALID_INPUT', { field, reason: reason.slice(0, 120) }), scimType)
}

export interface ScimUser extends ScimResource {
  id: string
  userName: string
  name: { givenName: string; familyName: string; formatted: string }
  displayName: string
  emails?: { value: string; primary: boolean; type: string }[]
  preferredLanguage: string
  active: boolean
  groups: { value: string; display: string; $ref: string }[]
  [SCHEMA.enterprise]: { organization: string | null }
  meta: { resourceType: 'User'; created: Date; lastModified: Date; location: string; version: string }
}

export function etag(version: string): string {
  return `W/"${version}"`
}

/**
 * The If-Match check of every SCIM write, users and groups, PUT, PATCH and DELETE (RFC 7644 §3.14,
 * RFC 9110 §13.1.1): absent or `*`, anything goes; otherwise one of the entity tags it lists must
 * be the resource's current one (`current`, as sent in ETag), else 412 and nothing changes. Our
 * tags are weak, and clients echo them with or without `W/`: the opaque part is compared.
 */
export function assertIfMatch(header: string | string[] | undefined, current: string): void {
  const value = (Array.isArray(header) ? header.join(',') : header)?.trim()
  if (value === undefined || value === '*') return
  const opaque = (tag: string) => /^(?:W\/)?"([^"]{0,200})"$/.exec(tag.trim())?.[1]
  const wanted = opaque(current)
  const listed = value.slice(0, 2000).match(/(?:W\/)?"[^"]*"/g) ?? []
  if (wanted === undefined || !listed.some((tag) => opaque(tag) === wanted)) throw new AppError('PRECONDITION_FAILED')
}

export function groupIds(companyId: number): { users: string; orgAdmins: string } {
  return { users: `company-${String(companyId)}-users`, orgAdmins: `company-${String(companyId)}-org-admins` }
}

export function parseGroupId(id: string): { companyId: number; kind: 'users' | 'orgAdmins' } | undefined {
  const match = /^company-(\d{1,9})-(users|org-admins)$/.exec(id)
  if (!match) return undefined
  return { companyId: Number(match[1]), kind: match[2] === 'users' ? 'users' : 'orgAdmins' }
}

function groupName(companyNumber: string, kind: 'users' | 'orgAdmins'): string {
  return `${companyNumber} ${kind === 'users' ? 'users' : 'organization administrators'}`
}

export function userResource(account: ProvisionedAccount, base: string): ScimUser {
  const groups = account.companyId === null || account.companyNumber === null ? [] : [
    { value: groupIds(account.companyId).users, display: groupName(account.companyNumber, 'users'), $ref: `${base}/Groups/${groupIds(account.companyId).users}` },
    ...(account.orgAdmin ? [{ value: groupIds(account.companyId).orgAdmins, display: groupName(account.companyNumber, 'orgAdmins'), $ref: `${base}/Groups/${groupIds(account.companyId).orgAdmins}` }] : []),
  ]
  return {
    schemas: [SCHEMA.user, SCHEMA.enterprise],
    id: String(account.id),
    userName: account.userId,
    name: { givenName: account.firstName, familyName: account.lastName, formatted: `${account.firstName} ${account.lastName}`.trim() },
    displayName: `${account.firstName} ${account.lastName}`.trim(),
    ...(account.email ? { emails: [{ value: account.email, primary: true, type: 'work' }] } : {}),
    preferredLanguage: account.locale,
    active: account.active,
    groups,
    [SCHEMA.enterprise]: { organization: account.companyNumber },
    meta: { resourceType: 'User', created: account.createdAt, lastModified: account.updatedAt, location: `${base}/Users/${String(account.id)}`, version: etag(account.version) },
  }
}

export interface ScimGroup {
  schemas: [typeof SCHEMA.group]
  id: string
  displayName: string
  members?: { value: string; display: string; $ref: string; type: 'User' }[]
  meta: { resourceType: 'Group'; location: string; version: string }
}

export function groupResources(group: CompanyGroups, base: string): ScimGroup[] {
  return (['users', 'orgAdmins'] as const).map((kind) => groupResource(group, kind, base))
}

export function groupResource(group: CompanyGroups, kind: 'users' | 'orgAdmins', base: string): ScimGroup {
  const id = groupIds(group.companyId)[kind]
  const members = group.members?.filter((m) => kind === 'users' || m.orgAdmin).map((m) => ({ value: String(m.id), display: m.userId, $ref: `${base}/Users/${String(m.id)}`, type: 'User' as const }))
  const version = createHash('sha256').update(JSON.stringify([id, group.companyNumber, members?.map((m) => m.value) ?? null])).digest('base64url').slice(0, 22)
  return {
    schemas: [SCHEMA.group], id, displayName: groupName(group.companyNumber, kind),
    ...(members ? { members } : {}),
    meta: { resourceType: 'Group', location: `${base}/Groups/${id}`, version: etag(version) },
  }
}

/** The company number a group's display name names, and which of its groups. */
export function groupByName(displayName: string): { companyNumber: string; kind: 'users' | 'orgAdmins' } | undefined {
  const match = /^(\S{1,40}) (users|organization administrators)$/.exec(displayName)
  if (!match?.[1]) return undefined
  return { companyNumber: match[1], kind: match[2] === 'users' ? 'users' : 'orgAdmins' }
}

/** An attribute path without its schema URN, lower case (SCIM attribute names ignore case). */
function attributeOf(path: string): string {
  const lower = path.toLowerCase()
  for (const urn of [SCHEMA.user, SCHEMA.enterprise]) if (lower.startsWith(`${urn.toLowerCase()}:`)) return lower.slice(urn.length + 1)
  return lower
}

/** A SCIM filter parsed (scim2-parse-filter), refused with invalidFilter when it is not one or names what cannot be searched. */
export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw invalid('invalidFilter', 'filter', `≤ ${String(MAX_FILTER_LENGTH)}`)
  try {
    return parse(text)
  } catch {
    throw invalid('invalidFilter', 'filter', text)
  }
}

/**
 * A Users filter in identity's terms: `userName eq`, `emails.value eq` (or `emails[value eq …]`,
 * `emails eq`), `meta.lastModified` compared with a date and time, joined by `and` / `or`. Anything
 * else is refused (400 invalidFilter) rather than answered by reading every account.
 */
export function userFilter(text: string): AccountFilter {
  let terms = 0
  const walk = (f: Filter): AccountFilter => {
    if (++terms > MAX_FILTER_TERMS) throw invalid('invalidFilter', 'filter', `≤ ${String(MAX_FILTER_TERMS)}`)
    if (f.op === 'and' || f.op === 'or') return { op: f.op, filters: f.filters.map(walk) }
    if (f.op === '[]') {
      const inner = f.valFilter
      if (attributeOf(f.attrPath) === 'emails' && inner.op === 'eq' && attributeOf(inner.attrPath) === 'value' && typeof inner.compValue === 'string') {
        return { op: 'eq', field: 'email', value: inner.compValue }
      }
      throw invalid('invalidFilter', 'filter', f.attrPath)
    }
    if (f.op === 'not' || f.op === 'pr') throw invalid('invalidFilter', 'filter', f.op)
    if (!('compValue' in f)) throw invalid('invalidFilter', 'filter', f.op)
    const attribute = attributeOf(f.attrPath)
    const value = f.compValue
    if ((attribute === 'username' || attribute === 'emails.value' || attribute === 'emails') && f.op === 'eq') {
      if (typeof value !== 'string') throw invalid('invalidFilter', 'filter', String(value))
      return { op: 'eq', field: attribute === 'username' ? 'userId' : 'email', value }
    }
    if (attribute === 'meta.lastmodified' && (f.op === 'eq' || f.op === 'gt' || f.op === 'ge' || f.op === 'lt' || f.op === 'le')) {
      const at = typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) ? new Date(value) : null
      if (!at || Number.isNaN(at.getTime())) throw invalid('invalidFilter', 'filter', String(value))
      return { op: f.op, field: 'updatedAt', value: at }
    }
    throw invalid('invalidFilter', 'filter', f.attrPath)
  }
  return walk(parseFilter(text))
}

/** A Groups filter: `displayName eq` or `id eq` (what provisioning clients ask before creating a group). */
export function groupFilter(text: string): { companyNumber?: string; groupId?: string; kind?: 'users' | 'orgAdmins' } {
  const f = parseFilter(text)
  if (f.op === 'eq' && 'compValue' in f && typeof f.compValue === 'string') {
    const attribute = f.attrPath.toLowerCase()
    if (attribute === 'displayname') {
      const named = groupByName(f.compValue)
      return named ?? { companyNumber: '' }
    }
    if (attribute === 'id') return { groupId: f.compValue }
  }
  throw invalid('invalidFilter', 'filter', text)
}

type Json = Record<string, unknown>

/** A value as text for a comparison or a message. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value)
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringAt(value: unknown, field: string, options: { required?: boolean } = {}): string | undefined {
  if (value === undefined || value === null) {
    if (options.required) throw invalid('invalidValue', field, '')
    return undefined
  }
  if (typeof value !== 'string') throw invalid('invalidValue', field, JSON.stringify(value))
  return value
}

/** Keys of a resource compared without case, as SCIM wants. */
function field(resource: Json, name: string): unknown {
  const key = Object.keys(resource).find((k) => k.toLowerCase() === name.toLowerCase())
  return key === undefined ? undefined : resource[key]
}

/**
 * The primary address (or the only one) of `emails`; null for none. After a PATCH that marked
 * another value primary, two are: the one that was not the address before wins (RFC 7644 §3.5.2,
 * setting `primary` on one value turns it off on the others).
 */
function primaryEmail(emails: unknown, before: string | null = null): string | null {
  if (emails === undefined || emails === null) return null
  if (!Array.isArray(emails)) throw invalid('invalidValue', 'emails', JSON.stringify(emails))
  const list = emails.filter(isObject)
  if (list.length !== emails.length) throw invalid('invalidValue', 'emails', JSON.stringify(emails))
  const primaries = list.filter((e) => field(e, 'primary') === true)
  const newly = primaries.length > 1 ? primaries.find((e) => textOf(field(e, 'value')).toLowerCase() !== (before ?? '').toLowerCase()) : undefined
  const chosen = newly ?? primaries[0] ?? list[0]
  if (!chosen) return null
  return stringAt(field(chosen, 'value'), 'emails', { required: true }) ?? null
}

/** The fields of a User body (POST, PUT, or a patched resource) in identity's terms. */
function accountFields(body: Json, before: ProvisionedAccount | null = null): { userId: string; firstName: string; lastName: string; email: string | null; locale: string | undefined; active: boolean | undefined; organization: string | undefined } {
  const name = field(body, 'name')
  if (name !== undefined && !isObject(name)) throw invalid('invalidValue', 'name', JSON.stringify(name))
  const active = field(body, 'active')
  if (active !== undefined && typeof active !== 'boolean') throw invalid('invalidValue', 'active', JSON.stringify(active))
  const enterprise = field(body, SCHEMA.enterprise)
  if (enterprise !== undefined && !isObject(enterprise)) throw invalid('invalidValue', SCHEMA.enterprise, JSON.stringify(enterprise))
  return {
    userId: stringAt(field(body, 'userName'), 'userName', { required: true }) ?? '',
    firstName: stringAt(name && field(name, 'givenName'), 'name.givenName', { required: true }) ?? '',
    lastName: stringAt(name && field(name, 'familyName'), 'name.familyName', { required: true }) ?? '',
    email: primaryEmail(field(body, 'emails'), before?.email ?? null),
    locale: stringAt(field(body, 'preferredLanguage'), 'preferredLanguage')?.slice(0, 20).toLowerCase().split(/[-_]/)[0],
    active,
    organization: enterprise ? stringAt(field(enterprise, 'organization'), 'organization') : undefined,
  }
}

/** POST /Users: a new account; its company is `organization` (a company number) or the client's own. */
export function newAccount(body: unknown): NewProvisionedAccount {
  if (!isObject(body)) throw invalid('invalidSyntax', 'body', typeof body)
  const f = accountFields(body)
  return { userId: f.userId, firstName: f.firstName, lastName: f.lastName, email: f.email, locale: f.locale ?? 'en', orgAdmin: false, active: f.active ?? true, companyNumber: f.organization }
}

/** What a resource asks to change compared with the account as it is; read-only attributes must not move. */
function changeTo(current: ProvisionedAccount, wanted: ReturnType<typeof accountFields>): AccountChange {
  if (wanted.organization !== undefined && wanted.organization.toUpperCase() !== (current.companyNumber ?? '').toUpperCase()) {
    throw invalid('mutability', 'organization', wanted.organization)
  }
  return {
    ...(wanted.userId !== current.userId ? { userId: wanted.userId } : {}),
    ...(wanted.firstName !== current.firstName ? { firstName: wanted.firstName } : {}),
    ...(wanted.lastName !== current.lastName ? { lastName: wanted.lastName } : {}),
    ...((wanted.email ?? '').toLowerCase() !== (current.email ?? '').toLowerCase() ? { email: wanted.email } : {}),
    ...(wanted.locale !== undefined && wanted.locale !== current.locale ? { locale: wanted.locale } : {}),
    ...(wanted.active !== undefined && wanted.active !== current.active ? { active: wanted.active } : {}),
  }
}

/** PUT /Users/{id}: the resource replaced; `id` and `groups` are read-only, absent addresses are removed. */
export function replacement(body: unknown, current: ProvisionedAccount): AccountChange {
  if (!isObject(body)) throw invalid('invalidSyntax', 'body', typeof body)
  const id = field(body, 'id')
  if (id !== undefined && textOf(id) !== String(current.id)) throw invalid('mutability', 'id', textOf(id))
  return changeTo(current, accountFields(body))
}

/** The Operations of a PatchOp body, checked by scim-patch. */
export function patchOperations(body: unknown): ScimPatchOperation[] {
  if (!isObject(body) || !Array.isArray(field(body, 'Operations')) || !Array.isArray(body.schemas)) throw invalid('invalidSyntax', 'Operations', '')
  const operations = (field(body, 'Operations') as unknown[]).map((op) => {
    if (!isObject(op) || typeof op.op !== 'string') throw invalid('invalidSyntax', 'Operations', JSON.stringify(op).slice(0, 100))
    // Operation names ignore case (Azure sends "Replace"); scim-patch knows the two spellings it lists.
    return { ...op, op: op.op.toLowerCase() } as unknown as ScimPatchOperation
  })
  if (operations.length === 0 || operations.length > 100) throw invalid('invalidSyntax', 'Operations', String(operations.length))
  try {
    patchBodyValidation({ schemas: [SCHEMA.patch], Operations: operations })
  } catch (error) {
    throw patchProblem(error)
  }
  return operations
}

function patchProblem(error: unknown): ScimProblem {
  if (error instanceof ScimProblem) return error
  if (error instanceof ScimError) {
    const code = (error as ScimError & { scimCode?: string }).scimCode
    const scimType = code === 'noTarget' ? 'noTarget' : code === 'invalidPath' ? 'invalidPath' : code === 'invalidValue' ? 'invalidValue' : 'invalidSyntax'
    return invalid(scimType, 'Operations', error.message)
  }
  if (error instanceof Error) return invalid('invalidSyntax', 'Operations', error.message)
  return invalid('invalidSyntax', 'Operations', '')
}

/** Applies a PATCH to the account's resource and says what changed (add, replace, remove; paths and value filters by scim-patch). */
export function patchedChange(operations: ScimPatchOperation[], current: ProvisionedAccount, base: string): AccountChange {
  const resource = userResource(current, base)
  let patched: ScimUser
  try {
    patched = scimPatch(structuredClone(resource), operations, { mutateDocument: false, treatMissingAsAdd: true })
  } catch (error) {
    throw patchProblem(error)
  }
  if (JSON.stringify(patched.groups) !== JSON.stringify(resource.groups)) throw invalid('mutability', 'groups', '')
  const id: unknown = patched.id
  if (textOf(id) !== resource.id) throw invalid('mutability', 'id', textOf(id))
  return changeTo(current, accountFields(patched as unknown as Json, current))
}

/** A group's members after a PATCH (scim-patch over `members`), as account numbers. */
export function patchedMembers(operations: ScimPatchOperation[], group: ScimGroup): number[] {
  let patched: ScimGroup
  try {
    patched = scimPatch(structuredClone({ ...group, members: group.members ?? [] }) as unknown as ScimResource & ScimGroup, operations, { mutateDocument: false, treatMissingAsAdd: true })
  } catch (error) {
    throw patchProblem(error)
  }
  const displayName: unknown = patched.displayName
  if (displayName !== group.displayName) throw invalid('mutability', 'displayName', textOf(displayName))
  return memberIds(patched.members)
}

/** Member references as account numbers. */
export function memberIds(members: unknown): number[] {
  if (members === undefined || members === null) return []
  if (!Array.isArray(members)) throw invalid('invalidValue', 'members', JSON.stringify(members).slice(0, 100))
  return [...new Set(members.map((m) => {
    const value = isObject(m) ? field(m, 'value') : undefined
    const id = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : typeof value === 'number' && Number.isSafeInteger(value) ? value : NaN
    if (!Number.isSafeInteger(id) || id <= 0) throw invalid('invalidValue', 'members', JSON.stringify(m).slice(0, 100))
    return id
  }))]
}
