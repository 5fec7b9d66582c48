import type { BusinessHours } from '../../db/schema/index.js'
import { workingHoursBetween } from './working-hours.js'

/** How long a new ticket will likely wait for a first answer, in the market's working hours. */
export type WaitEstimate = { kind: 'range'; low: number; high: number; ahead: number } | { kind: 'unknown'; ahead: number }

/** Fewer answered tickets than this in the window, and any figure would be a guess: we say so instead. */
export const MIN_SAMPLES = 5
export const WINDOW_DAYS = 30

function quantile(sorted: number[], q: number): number {
  const index = (sorted.length - 1) * q
  const lower = Math.floor(index)
  const upper = Math.ceil(index)
  return (sorted[lower] ?? 0) + ((sorted[upper] ?? 0) - (sorted[lower] ?? 0)) * (index - lower)
}

/**
 * From live data only: the middle half of recent first-response times (in working hours), scaled
 * by how much longer the queue is now than it typically was when those tickets arrived.
 */
export function estimateWait(input: {
  hours: BusinessHours; timeZone: string; now: Date; ahead: number; recent: { createdAt: Date; firstRespondedAt: Date; aheadAtArrival: number }[]
}): WaitEstimate {
  const { hours, timeZone, ahead, recent } = input
  if (recent.length < MIN_SAMPLES) return { kind: 'unknown', ahead }
  const durations = recent.map((r) => workingHoursBetween(hours, timeZone, r.createdAt, r.firstRespondedAt)).sort((a, b) => a - b)
  const typicalAhead = quantile(recent.map((r) => r.aheadAtArrival).sort((a, b) => a - b), 0.5)
  const factor = Math.max(1, (ahead + 1) / (typicalAhead + 1))
  const low = Math.max(1, Math.floor(quantile(durations, 0.25) * factor))
  const high = Math.max(low + 1, Math.ceil(quantile(durations, 0.75) * factor))
  return { kind: 'range', low, high, ahead }
}
