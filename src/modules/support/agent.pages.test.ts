import assert from 'node:assert/strict'
import { test } from 'node:test'
import { age } from './agent.pages.js'

test('a request\'s age never reads "0 h ago": minutes under an hour, "now" under one', () => {
  const now = new Date('2026-12-02T12:00:00Z')
  const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000)
  assert.doesNotMatch(age('en', ago(10), now), /\b0\b/)
  assert.equal(age('en', ago(10), now), '10 min. ago')
  assert.equal(age('it', ago(0), now), 'ora')
  assert.equal(age('de', ago(0), now), 'jetzt')
  assert.equal(age('en', ago(150), now), '2 hr. ago')
  assert.equal(age('en', ago(3 * 24 * 60), now), '3 days ago')
})
