import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { BusinessHours } from '../../db/schema/index.js'
import { addWorkingHours, isOpen, workingHoursBetween } from './working-hours.js'

const office: BusinessHours = { 1: ['09:00', '18:00'], 2: ['09:00', '18:00'], 3: ['09:00', '18:00'], 4: ['09:00', '18:00'], 5: ['09:00', '17:00'] }

test('working hours count only the market\'s opening hours, in its own time zone, across daylight saving time', () => {
  // Friday 2026-11-27 16:00 in Rome (15:00 UTC) to Monday 10:00: 1 hour on Friday, 1 on Monday.
  assert.equal(workingHoursBetween(office, 'Europe/Rome', new Date('2026-11-27T15:00:00Z'), new Date('2026-11-30T09:00:00Z')), 2)
  // Across the switch to summer time (Sunday 2026-03-29): Friday 17:00 → Monday 10:00 local is 1 working hour.
  assert.equal(workingHoursBetween(office, 'Europe/Rome', new Date('2026-03-27T16:00:00Z'), new Date('2026-03-30T08:00:00Z')), 1)
  assert.equal(workingHoursBetween(office, 'Europe/London', new Date('2026-11-28T10:00:00Z'), new Date('2026-11-29T10:00:00Z')), 0, 'a weekend has none')
})

test('an SLA due time skips nights and weekends; opening status follows local time', () => {
  // 4 working hours from Friday 16:00 Rome: 1 hour on Friday, then Monday 09:00 + 3 h = 12:00 Rome (11:00 UTC).
  assert.equal(addWorkingHours(office, 'Europe/Rome', new Date('2026-11-27T15:00:00Z'), 4).toISOString(), '2026-11-30T11:00:00.000Z')
  assert.equal(isOpen(office, 'Europe/Rome', new Date('2026-11-27T15:00:00Z')), true)
  assert.equal(isOpen(office, 'Europe/Rome', new Date('2026-11-27T16:30:00Z')), false, '17:30 on a Friday is after closing')
  assert.equal(isOpen(office, 'Europe/Berlin', new Date('2026-11-28T10:00:00Z')), false)
})
