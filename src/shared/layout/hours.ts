import type { BusinessHours } from '../../db/schema/index.js'

const DAYS = ['1', '2', '3', '4', '5', '6', '7'] as const

const weekdayNames = new Map<string, string>()

function weekdayName(locale: string, isoDay: number): string {
  const key = `${locale}:${String(isoDay)}`
  let name = weekdayNames.get(key)
  if (name === undefined) {
    // 2024-01-01 was a Monday.
    name = new Intl.DateTimeFormat(locale, { weekday: 'short', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, isoDay)))
    if (weekdayNames.size < 1000) weekdayNames.set(key, name)
  }
  return name
}

/** "Mon–Fri 08:30–17:30" style lines, grouping consecutive days with the same hours. */
export function formatBusinessHours(locale: string, hours: BusinessHours): string[] {
  const lines: string[] = []
  let start = 0
  while (start < DAYS.length) {
    const range = hours[DAYS[start] ?? '1']
    let end = start
    while (end + 1 < DAYS.length && JSON.stringify(hours[DAYS[end + 1] ?? '1']) === JSON.stringify(range)) end++
    if (range) {
      const days = start === end ? weekdayName(locale, start + 1) : `${weekdayName(locale, start + 1)}–${weekdayName(locale, end + 1)}`
      lines.push(`${days} ${range[0]}–${range[1]}`)
    }
    start = end + 1
  }
  return lines
}
