import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Role } from '../db/schema/index.js'
import { actions, can, canAnywhere, reachOf, whereCan, type Action, type Target } from './access.js'
import { guest, systemActor, type Actor, type RoleGrant } from './actor.js'

const IT = 1
const DE = 2
const WORKSHOP_IT = 10 // a company in IT
const OTHER_IT = 11 // another company in IT
const WORKSHOP_DE = 20 // a company in DE

function actor(...roles: [Role, { marketId?: number; companyId?: number }?][]): Actor {
  const grants: RoleGrant[] = roles.map(([role, scope]) => ({ role, marketId: scope?.marketId ?? null, companyId: scope?.companyId ?? null }))
  return { kind: 'user', userId: 99, realm: 'partner', displayName: 'Test', companyId: null, emailVerified: true, awaitingApproval: false, roles: [{ role: 'user', marketId: null, companyId: null }, ...grants] }
}

const actors = {
  guest,
  system: systemActor('test'),
  user: actor(),
  orgAdminIt: actor(['org_admin', { companyId: WORKSHOP_IT }]),
  marketAdminIt: actor(['market_admin', { marketId: IT }]),
  agentIt: actor(['support_agent', { marketId: IT }]),
  platform: actor(['platform_admin']),
  // Provisioning clients: one company's, one market's.
  clientWorkshopIt: { kind: 'client', clientId: 'dms-a', companyId: WORKSHOP_IT, marketId: null } as Actor,
  clientIt: { kind: 'client', clientId: 'dms-b', companyId: null, marketId: IT } as Actor,
}
type Who = keyof typeof actors

/** Plain accounts of a company; the action is taken on them. */
const targets = {
  workshopIt: { companyId: WORKSHOP_IT, marketId: IT },
  otherIt: { companyId: OTHER_IT, marketId: IT },
  workshopDe: { companyId: WORKSHOP_DE, marketId: DE },
} satisfies Record<string, Target>
type Where = keyof typeof targets

/** Who may do each action where: the table below is the policy read back, row by row. */
const company: Record<Who, Where[]> = {
  guest: [], system: ['workshopIt', 'otherIt', 'workshopDe'], user: [], orgAdminIt: ['workshopIt'], marketAdminIt: ['workshopIt', 'otherIt'], agentIt: [],
  platform: ['workshopIt', 'otherIt', 'workshopDe'], clientWorkshopIt: ['workshopIt'], clientIt: ['workshopIt', 'otherIt'],
}
const market: Record<Who, Where[]> = { ...company, orgAdminIt: [], clientWorkshopIt: [] }
const platform: Record<Who, Where[]> = { ...company, orgAdminIt: [], marketAdminIt: [], clientWorkshopIt: [], clientIt: [] }
const desk: Record<Who, Where[]> = { ...platform, agentIt: ['workshopIt', 'otherIt'] }
const deskReport: Record<Who, Where[]> = { ...desk, marketAdminIt: ['workshopIt', 'otherIt'] }
const expected: Record<Action, Record<Who, Where[]>> = {
  view: company, invite: company, approve: company, deactivate: company, erase: company, grant_org_admin: company, edit_company: company, forecast_inactivity: company,
  check_identity: market, restore: market, reset_password: market, reset_factors: market, manage_companies: market, import_users: market,
  manage_platform: platform, manage_sso: platform, run_schedules: platform,
  view_tickets: desk, work_tickets: desk, view_ticket_report: deskReport,
}

test('every role × action × scope: the action table says who may act where', () => {
  for (const action of Object.keys(actions) as Action[]) {
    for (const who of Object.keys(actors) as Who[]) {
      for (const where of Object.keys(targets) as Where[]) {
        assert.equal(can(actors[who], action, targets[where]), expected[action][who].includes(where), `${who} ${action} on ${where}`)
      }
      assert.equal(canAnywhere(actors[who], action), expected[action][who].length > 0, `${who} ${action} anywhere`)
    }
  }
})

test('an administrator acts on an account only if their scope covers how far its own roles reach', () => {
  const inWorkshop = { companyId: WORKSHOP_IT, marketId: IT }
  const marketAdminOfIt = { ...inWorkshop, reach: reachOf([{ role: 'market_admin', marketId: IT }]) }
  const agentOfDe = { ...inWorkshop, reach: reachOf([{ role: 'support_agent', marketId: DE }]) }
  const platformAdmin = { ...inWorkshop, reach: reachOf([{ role: 'platform_admin', marketId: null }]) }
  const orgAdmin = { ...inWorkshop, reach: reachOf([{ role: 'org_admin', marketId: null }]) }
  // The organization administrator of the company: its users and org admins, never wider roles.
  for (const action of ['view', 'deactivate', 'grant_org_admin'] as const) {
    assert.equal(can(actors.orgAdminIt, action, orgAdmin), true, action)
    assert.equal(can(actors.orgAdminIt, action, marketAdminOfIt), false, action)
    assert.equal(can(actors.orgAdminIt, action, agentOfDe), false, action)
    assert.equal(can(actors.orgAdminIt, action, platformAdmin), false, action)
  }
  // The market administrator: roles inside the market, not another market's or the platform's.
  assert.equal(can(actors.marketAdminIt, 'deactivate', marketAdminOfIt), true)
  assert.equal(can(actors.marketAdminIt, 'restore', agentOfDe), false)
  assert.equal(can(actors.marketAdminIt, 'reset_password', platformAdmin), false)
  assert.equal(can(actors.platform, 'reset_password', platformAdmin), true)
})

test('where an action may be taken, for lists: null is everywhere', () => {
  assert.equal(whereCan(actors.platform, 'view'), null)
  assert.deepEqual(whereCan(actors.marketAdminIt, 'view'), { marketIds: [IT], companyIds: [] })
  assert.deepEqual(whereCan(actors.orgAdminIt, 'view'), { marketIds: [], companyIds: [WORKSHOP_IT] })
  assert.deepEqual(whereCan(actors.agentIt, 'view_tickets'), { marketIds: [IT], companyIds: [] })
  assert.deepEqual(whereCan(actors.marketAdminIt, 'view_tickets'), { marketIds: [], companyIds: [] })
  assert.deepEqual(whereCan(actors.marketAdminIt, 'view_ticket_report'), { marketIds: [IT], companyIds: [] })
  assert.deepEqual(whereCan(actors.user, 'view'), { marketIds: [], companyIds: [] })
})
