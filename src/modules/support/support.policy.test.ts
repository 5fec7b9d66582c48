import assert from 'node:assert/strict'
import { test } from 'node:test'
import { agentTransitions } from './support.policy.js'

test('states move forward, can go back to open, and closed is final', () => {
  assert.deepEqual(agentTransitions.closed, [])
  for (const [from, to] of Object.entries(agentTransitions)) {
    assert.ok(!to.includes(from as keyof typeof agentTransitions), `${from} does not move to itself`)
    if (from !== 'closed') assert.ok(to.includes('closed'), `${from} can be closed`)
  }
  assert.ok(!agentTransitions.solved.includes('new'), 'nothing goes back to new')
})
