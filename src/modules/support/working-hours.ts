import type { BusinessHours } from '../../db/schema/index.js'

const HOUR_MS = 60 * 60 * 1000
const DAY_MS = 24 * HOUR_MS

/** Building an Intl formatter costs far more than using one: one per time zone, kept. */
const offsetFormats = new Map<string, Intl.DateTimeFormat>()

/** Minutes east of UTC that `timeZone` is at `at` (from Intl, so daylight saving time is right). */
function offsetMinutes(timeZone: string, at: Date): number {
  let format = offsetFormats.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    offsetFormats.set(timeZone, format)
  }
  const name = format.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT'
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name)
  if (!match) return 0
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]))
}

/** The local calendar day (y, m, d) and ISO weekday of an instant in a time zone. */
function localDay(timeZone: string, at: Date): { y: number; m: number; d: number; weekday: number } {
  const local = new Date(at.getTime() + offsetMinutes(timeZone, at) * 60_000)
  return { y: local.getUTCFullYear(), m: local.getUTCMonth(), d: local.getUTCDate(), weekday: ((local.getUTCDay() + 6) % 7) + 1 }
}

/** The instant of a local wall-clock time on a local day. */
function instant(timeZone: string, day: { y: number; m: number; d: number }, hhmm: string): Date {
  const [h = 0, min = 0] = hhmm.split(':').map(Number)
  const guess = Date.UTC(day.y, day.m, day.d, h, min)
  return new Date(guess - offsetMinutes(timeZone, new Date(guess)) * 60_000)
}

/** The opening intervals of the market, day by day, from the local day of `from` on. */
function* openIntervals(hours: BusinessHours, timeZone: string, from: Date): Generator<[Date, Date]> {
  const start = localDay(timeZone, from)
  for (let i = 0; i < 3660; i++) {
    const noon = new Date(Date.UTC(start.y, start.m, start.d + i, 12))
    const day = { y: noon.getUTCFullYear(), m: noon.getUTCMonth(), d: noon.getUTCDate() }
    const weekday = ((noon.getUTCDay() + 6) % 7) + 1
    const range = hours[String(weekday) as keyof BusinessHours]
    if (range) yield [instant(timeZone, day, range[0]), instant(timeZone, day, range[1])]
  }
}

/** Working hours (the market's business hours) between two instants. */
export function workingHoursBetween(hours: BusinessHours, timeZone: string, start: Date, end: Date): number {
  if (end <= start || Object.keys(hours).length === 0) return 0
  let ms = 0
  for (const [open, close] of openIntervals(hours, timeZone, start)) {
    if (open >= end) break
    const from = Math.max(open.getTime(), start.getTime())
    const to = Math.min(close.getTime(), end.getTime())
    if (to > from) ms += to - from
  }
  return ms / HOUR_MS
}

/** The instant `workingHours` of business time after `start` (an SLA due time). */
export function addWorkingHours(hours: BusinessHours, timeZone: string, start: Date, workingHours: number): Date {
  let left = workingHours * HOUR_MS
  if (Object.keys(hours).length === 0) return new Date(start.getTime() + left)
  for (const [open, close] of openIntervals(hours, timeZone, start)) {
    const from = Math.max(open.getTime(), start.getTime())
    if (close.getTime() <= from) continue
    const available = close.getTime() - from
    if (available >= left) return new Date(from + left)
    left -= available
  }
  return new Date(start.getTime() + 3660 * DAY_MS)
}

/** Whether the market is open at `at`. */
export function isOpen(hours: BusinessHours, timeZone: string, at: Date): boolean {
  const day = localDay(timeZone, at)
  const range = hours[String(day.weekday) as keyof BusinessHours]
  return range !== undefined && at >= instant(timeZone, day, range[0]) && at < instant(timeZone, day, range[1])
}
