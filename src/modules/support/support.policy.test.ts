import assert from 'node:assert/strict'
import { test } from 'node:test'
import { agentTransitions, deskActions, deskScopeFromRoles, marketsFor, type DeskAction } from './support.policy.js'

const user = { kind: 'user', userId: 1, realm: 'partner', displayName: 'A', companyId: null, emailVerified: true } as const
const IT = 1
const DE = 2

test('every desk action: agents of a market, its market administrators for the report only, platform administrators everywhere', () => {
  const agentIt = deskScopeFromRoles(user, [{ role: 'support_agent', marketId: IT }])
  const adminIt = deskScopeFromRoles(user, [{ role: 'market_admin', marketId: IT }])
  const platform = deskScopeFromRoles(user, [{ role: 'platform_admin', marketId: null }])
  const nobody = deskScopeFromRoles(user, [{ role: 'user', marketId: null }, { role: 'org_admin', marketId: null }])
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
  assert.equal(deskScopeFromRoles({ kind: 'guest' }, []).all, false)
})

test('states move forward, can go back to open, and closed is final', () => {
  assert.deepEqual(agentTransitions.closed, [])
  for (const [from, to] of Object.entries(agentTransitions)) {
    assert.ok(!to.includes(from as keyof typeof agentTransitions), `${from} does not move to itself`)
    if (from !== 'closed') assert.ok(to.includes('closed'), `${from} can be closed`)
  }
  assert.ok(!agentTransitions.solved.includes('new'), 'nothing goes back to new')
})
