import { createHash, randomBytes } from 'node:crypto'
import { assertCan } from '../../shared/access.js'
import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import type { Precondition, ProvisionedAccount, ProvisioningService } from '../identity/index.js'
import type { ScimRepo } from './scim.repo.js'
import {
  assertIfMatch, etag, groupFilter, groupIds, groupResource, groupResources, invalid, MAX_RESULTS, memberIds, newAccount, parseGroupId, patchedChange,
  patchedMembers, patchOperations, replacement, userFilter, userResource, type ScimGroup, type ScimUser,
} from './scim.resources.js'

/** A provisioning token: a recognisable prefix (secret scanners), then 32 random bytes. */
const TOKEN_PREFIX = 'scim_'

export interface ScimDeps {
  company(companyNumber: string): Promise<{ id: number; marketId: number; status: string } | undefined>
  market(code: string): Promise<{ id: number } | undefined>
  client(clientId: string): Promise<{ clientId: string; realm: string; kind: string } | undefined>
}

export interface ScimContext { requestId?: string | undefined; ip?: string | undefined; publicUrl: string }

/** Page arguments as SCIM sends them: startIndex counts from 1 (less is 1), count is clamped to 0…MAX_RESULTS. */
export function pageOf(query: { startIndex?: string | undefined; count?: string | undefined }): { startIndex: number; count: number } {
  const start = query.startIndex === undefined ? 1 : Number(query.startIndex)
  const count = query.count === undefined ? 100 : Number(query.count)
  if (!Number.isFinite(start) || !Number.isFinite(count)) throw invalid('invalidValue', Number.isFinite(start) ? 'count' : 'startIndex', String(Number.isFinite(start) ? query.count : query.startIndex))
  return { startIndex: Math.max(1, Math.min(Math.floor(start), 1_000_000_000)), count: Math.max(0, Math.min(Math.floor(count), MAX_RESULTS)) }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

function accountId(id: string): number {
  return /^\d{1,9}$/.test(id) ? Number(id) : 0
}

/** A user write's If-Match, checked by identity against the version the change is made on, inside its transaction. */
function ifMatch(header: string | string[] | undefined): Precondition {
  return (version) => { assertIfMatch(header, etag(version)) }
}

/**
 * SCIM 2.0 provisioning: bearer tokens of machine clients, each scoped to one company or one
 * market, and the Users and Groups resources over identity's provisioning use cases.
 */
export function createScimService(repo: ScimRepo, provisioning: ProvisioningService, deps: ScimDeps) {
  async function group(actor: Actor, id: string, members: boolean, base: string): Promise<ScimGroup> {
    const parsed = parseGroupId(id)
    if (!parsed) throw new AppError('NOT_FOUND')
    const { groups } = await provisioning.companyGroups(actor, { offset: 0, limit: 1, companyId: parsed.companyId, members })
    const found = groups[0]
    if (!found) throw new AppError('NOT_FOUND')
    return groupResource(found, parsed.kind, base)
  }

  /** Group membership is the organization administrator role; everyone of a company is in its users group by being of the company. */
  async function setMembers(actor: Actor, id: string, ids: (current: ScimGroup) => number[], ifMatchHeader: string | string[] | undefined, ctx: ScimContext, base: string): Promise<ScimGroup> {
    const parsed = parseGroupId(id)
    const current = await group(actor, id, true, base)
    assertIfMatch(ifMatchHeader, current.meta.version)
    const wanted = ids(current)
    if (parsed?.kind !== 'orgAdmins') {
      if (JSON.stringify([...wanted].sort()) !== JSON.stringify((current.members ?? []).map((m) => Number(m.value)).sort())) throw invalid('mutability', 'members', '')
      return current
    }
    await provisioning.setOrgAdmins(actor, parsed.companyId, { set: wanted }, ctx)
    return group(actor, id, true, base)
  }

  return {
    /**
     * Issues a provisioning token for a machine client of the partner realm, scoped to one company
     * (by number) or one market (by code); a new token replaces the previous one. Shown once.
     */
    async issueToken(actor: Actor, input: { clientId: string; company?: string | undefined; market?: string | undefined }, ctx: Omit<ScimContext, 'publicUrl'> = {}): Promise<{ token: string; companyId: number | null; marketId: number | null }> {
      assertCan(actor, 'manage_sso')
      const client = input.clientId.length <= 100 ? await deps.client(input.clientId) : undefined
      if (!client) throw new AppError('SSO_CLIENT_NOT_FOUND')
      if (client.kind !== 'machine' || client.realm !== 'partner') throw new AppError('INVALID_INPUT', { field: 'client', reason: `${client.kind}, ${client.realm}` })
      if ((input.company === undefined) === (input.market === undefined)) throw new AppError('INVALID_INPUT', { field: 'scope', reason: '--company or --market' })
      let companyId: number | null = null
      let marketId: number | null = null
      if (input.company !== undefined) {
        const company = await deps.company(input.company)
        if (!company || company.status === 'refused') throw new AppError('COMPANY_NOT_FOUND')
        companyId = company.id
      } else {
        const market = await deps.market((input.market ?? '').toUpperCase())
        if (!market) throw new AppError('NOT_FOUND')
        marketId = market.id
      }
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
      const now = clock.now()
      await repo.issue({ clientId: client.clientId, tokenHash: sha256(token), companyId, marketId, createdAt: now }, {
        at: now, actor: actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }, action: 'scim.token_issued',
        scope: companyId !== null ? { companyId } : { marketId }, data: { clientId: client.clientId }, requestId: ctx.requestId, ip: ctx.ip,
      })
      return { token, companyId, marketId }
    },

    async revokeToken(actor: Actor, clientId: string, ctx: Omit<ScimContext, 'publicUrl'> = {}): Promise<void> {
      assertCan(actor, 'manage_sso')
      const now = clock.now()
      const removed = clientId.length <= 100 && await repo.revoke(clientId, {
        at: now, actor: actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }, action: 'scim.token_revoked',
        data: { clientId }, requestId: ctx.requestId, ip: ctx.ip,
      })
      if (!removed) throw new AppError('SSO_CLIENT_NOT_FOUND')
    },

    /** The machine client a bearer token belongs to, as an actor scoped to its company or market. */
    async authenticate(authorization: string | undefined): Promise<Actor> {
      const match = authorization ? /^Bearer ([\w-]{10,200})$/i.exec(authorization.trim()) : null
      const found = match?.[1] ? await repo.findByHash(sha256(match[1])) : undefined
      if (!found) throw new AppError('PROVISIONING_TOKEN_INVALID')
      return { kind: 'client', clientId: found.clientId, companyId: found.companyId, marketId: found.marketId }
    },

    async listUsers(actor: Actor, query: { filter?: string | undefined; startIndex?: string | undefined; count?: string | undefined }, base: string) {
      const page = pageOf(query)
      const filter = query.filter === undefined || query.filter.trim() === '' ? undefined : userFilter(query.filter)
      const { total, accounts } = await provisioning.list(actor, { filter, offset: page.startIndex - 1, limit: page.count })
      return { total, startIndex: page.startIndex, resources: accounts.map((a) => userResource(a, base)) }
    },

    async getUser(actor: Actor, id: string, base: string): Promise<ScimUser> {
      return userResource(await provisioning.get(actor, accountId(id)), base)
    },

    async createUser(actor: Actor, body: unknown, ctx: ScimContext, base: string): Promise<ScimUser> {
      return userResource(await provisioning.create(actor, newAccount(body), ctx), base)
    },

    async replaceUser(actor: Actor, id: string, body: unknown, ifMatchHeader: string | string[] | undefined, ctx: ScimContext, base: string): Promise<ScimUser> {
      return userResource(await provisioning.update(actor, accountId(id), (current: ProvisionedAccount) => replacement(body, current), { precondition: ifMatch(ifMatchHeader) }, ctx), base)
    },

    async patchUser(actor: Actor, id: string, body: unknown, ifMatchHeader: string | string[] | undefined, ctx: ScimContext, base: string): Promise<ScimUser> {
      const operations = patchOperations(body)
      return userResource(await provisioning.update(actor, accountId(id), (current) => patchedChange(operations, current, base), { precondition: ifMatch(ifMatchHeader) }, ctx), base)
    },

    async deleteUser(actor: Actor, id: string, ifMatchHeader: string | string[] | undefined, ctx: ScimContext): Promise<void> {
      await provisioning.erase(actor, accountId(id), { precondition: ifMatch(ifMatchHeader) }, ctx)
    },

    /** Two groups per company (its users, its organization administrators), a page of them. */
    async listGroups(actor: Actor, query: { filter?: string | undefined; startIndex?: string | undefined; count?: string | undefined; excludedAttributes?: string | undefined }, base: string) {
      const page = pageOf(query)
      const members = !(query.excludedAttributes ?? '').toLowerCase().split(',').map((a) => a.trim()).includes('members')
      if (query.filter !== undefined && query.filter.trim() !== '') {
        const wanted = groupFilter(query.filter)
        const company = wanted.companyNumber !== undefined ? await deps.company(wanted.companyNumber) : undefined
        const id = wanted.groupId ?? (company && wanted.kind ? groupIds(company.id)[wanted.kind] : '')
        const found = await group(actor, id, members, base).catch((error: unknown) => {
          if (error instanceof AppError && error.code === 'NOT_FOUND') return undefined
          throw error
        })
        const resources = found && page.startIndex === 1 && page.count > 0 ? [found] : []
        return { total: found ? 1 : 0, startIndex: page.startIndex, resources }
      }
      // Groups come two per company: the page of companies that covers the page of groups.
      const first = page.startIndex - 1
      const companies = await provisioning.companyGroups(actor, { offset: Math.floor(first / 2), limit: page.count === 0 ? 0 : Math.ceil((page.count + 1) / 2), members })
      const resources = companies.groups.flatMap((g) => groupResources(g, base)).slice(first % 2, (first % 2) + page.count)
      return { total: companies.total * 2, startIndex: page.startIndex, resources }
    },

    getGroup: (actor: Actor, id: string, query: { excludedAttributes?: string | undefined }, base: string) =>
      group(actor, id, !(query.excludedAttributes ?? '').toLowerCase().includes('members'), base),

    async patchGroup(actor: Actor, id: string, body: unknown, ifMatchHeader: string | string[] | undefined, ctx: ScimContext, base: string): Promise<ScimGroup> {
      const operations = patchOperations(body)
      return setMembers(actor, id, (current) => patchedMembers(operations, current), ifMatchHeader, ctx, base)
    },

    async replaceGroup(actor: Actor, id: string, body: unknown, ifMatchHeader: string | string[] | undefined, ctx: ScimContext, base: string): Promise<ScimGroup> {
      const members = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).members : undefined
      return setMembers(actor, id, () => memberIds(members), ifMatchHeader, ctx, base)
    },
  }
}

export type ScimService = ReturnType<typeof createScimService>
