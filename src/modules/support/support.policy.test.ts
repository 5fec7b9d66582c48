import assert from 'node:assert/strict'
import { test } from 'node:test'
import { guest } from '../../shared/actor.js'
import { actorOf, company, market, user, type UserRow } from '../../../test/factories.js'
import { rolesOf } from '../../../test/desk-factories.js'
import { useTestApp } from '../../../test/helpers.js'
import { agentTransitions, deskActions, deskScopeFromRoles, marketsFor, type DeskAction } from './support.policy.js'

const testApp = useTestApp()

/** The desk scope of an account, from its actor and the roles stored for it. */
async function scopeOf(account: UserRow) {
  return deskScopeFromRoles(await actorOf(testApp(), account), await rolesOf(testApp(), account))
}

test('every desk action: agents of a market, its market administrators for the report only, platform administrators everywhere', async () => {
  const it = await market(testApp())
  const de = await market(testApp())
  const IT = it.id
  const DE = de.id
  const workshop = await company(testApp(), { market: it })
  const agentIt = await scopeOf(await user(testApp(), { roles: [{ role: 'support_agent', marketId: IT }] }))
  const adminIt = await scopeOf(await user(testApp(), { roles: [{ role: 'market_admin', marketId: IT }] }))
  const platform = await scopeOf(await user(testApp(), { roles: [{ role: 'platform_admin' }] }))
  const nobody = await scopeOf(await user(testApp(), { company: workshop, roles: [{ role: 'org_admin', companyId: workshop.id }] }))
  const expected: Record<DeskAction, [boolean, boolean, boolean, boolean, boolean]> = {
    // agent IT on IT, agent IT on DE, admin IT on IT, platform on DE, plain user on IT
    'ticket.view': [true, false, false, true, false],
    'ticket.work': [true, false, false, true, false],
    'report.view': [true, false, true, true, false],
  }
  for (const [action, rule] of Object.entries(deskActions) as [DeskAction, (typeof deskActions)[DeskAction]][]) {
    assert.deepEqual([rule(agentIt, IT), rule(agentIt, DE), rule(adminIt, IT), rule(platform, DE), rule(nobody, IT)], expected[action], action)
  }
  assert.deepEqual(marketsFor(agentIt, 'ticket.view'), [IT])
  assert.deepEqual(marketsFor(adminIt, 'ticket.view'), [])
  assert.deepEqual(marketsFor(adminIt, 'report.view'), [IT])
  assert.equal(marketsFor(platform, 'ticket.view'), null)
  assert.equal(deskScopeFromRoles(guest, []).all, false)
})

test('states move forward, can go back to open, and closed is final', () => {
  assert.deepEqual(agentTransitions.closed, [])
  for (const [from, to] of Object.entries(agentTransitions)) {
    assert.ok(!to.includes(from as keyof typeof agentTransitions), `${from} does not move to itself`)
    if (from !== 'closed') assert.ok(to.includes('closed'), `${from} can be closed`)
  }
  assert.ok(!agentTransitions.solved.includes('new'), 'nothing goes back to new')
})
