import type { VNode } from 'preact'
import { stringify } from 'csv-stringify/sync'

/**
 * Charts for the reports: server-rendered SVG, no script. A chart is data first (`ChartData`):
 * the same object draws the SVG, fills the table beside it and is the CSV, so the three can never
 * disagree. Labels arrive already written in the viewer's language; numbers are formatted here with
 * Intl in the viewer's locale.
 */
export interface ChartSeries {
  label: string
  values: (number | null)[]
}

export interface ChartData {
  /** Unique on the page; also the CSV's name. */
  id: string
  title: string
  /** The text alternative: what the chart shows, in a sentence or two with its main figures. */
  summary: string
  /** Header of the first column of the table: "Day", "Topic". */
  categoryLabel: string
  /** The rows of the table and the bars or columns, already in the viewer's language. */
  categories: string[]
  /** One or more values per category; each series is a column of the table. */
  series: ChartSeries[]
  /** Columns over time (days), or horizontal bars for named categories. */
  layout: 'columns' | 'bars'
  /** Columns: the series stacked on each other (parts of one whole), not side by side. */
  stacked?: boolean
  /** Number formatting: counts, or hours with one decimal. */
  unit?: 'count' | 'hours'
  /** A target drawn as a dashed line (the service level), with its label. */
  reference?: { label: string; value: number } | undefined
}

/** Palette with at least 4.5:1 contrast on white; series are also told apart by the table and the legend. */
const colours = ['#0b4f8a', '#a4451a', '#1d6b35', '#6a3d9a']
/** Narrow on purpose: on a phone the drawing is shown near its own size, so its text stays readable. */
const WIDTH = 320

function formatter(locale: string, unit: ChartData['unit']): Intl.NumberFormat {
  return new Intl.NumberFormat(locale, unit === 'hours' ? { maximumFractionDigits: 1 } : { maximumFractionDigits: 0 })
}

function Legend({ chart }: { chart: ChartData }): VNode | null {
  if (chart.series.length < 2 && !chart.reference) return null
  return (
    <ul class="chart-legend">
      {chart.series.map((s, i) => (
        <li key={s.label}><svg width="12" height="12" aria-hidden="true" focusable="false"><rect width="12" height="12" fill={colours[i % colours.length]} /></svg> {s.label}</li>
      ))}
      {chart.reference ? <li><svg width="16" height="12" aria-hidden="true" focusable="false"><line x1="0" x2="16" y1="6" y2="6" stroke="#a4451a" stroke-width="2" stroke-dasharray="4 2" /></svg> {chart.reference.label}</li> : null}
    </ul>
  )
}

/** About this many characters of a 14-unit label fit on one line of the drawing. */
const LINE_CHARS = 38
const LINE_HEIGHT = 17

/**
 * A category's label in lines that fit the drawing's width, broken between words (a word longer
 * than a line is cut in it): the whole label stays readable at 390 px instead of running off the edge.
 */
export function labelLines(label: string, max = LINE_CHARS): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of label.split(/\s+/).filter(Boolean)) {
    for (let rest = word; rest.length > 0;) {
      const room = line === '' ? max : max - line.length - 1
      if (rest.length <= room) {
        line = line === '' ? rest : `${line} ${rest}`
        rest = ''
      } else if (line === '') {
        lines.push(rest.slice(0, max))
        rest = rest.slice(max)
      } else {
        lines.push(line)
        line = ''
      }
    }
  }
  if (line !== '') lines.push(line)
  return lines.length > 0 ? lines : ['']
}

/** Horizontal bars: each category's label on its own lines, its bars under it (readable at 390 px). */
function Bars({ chart, locale }: { chart: ChartData; locale: string }): VNode {
  const format = formatter(locale, chart.unit)
  const max = Math.max(1, ...chart.series.flatMap((s) => s.values.map((v) => v ?? 0)))
  const bar = 16
  const labels = chart.categories.map((category) => labelLines(category))
  const groups = labels.map((lines) => 22 + (lines.length - 1) * LINE_HEIGHT + chart.series.length * (bar + 4))
  const tops = groups.map((_, c) => groups.slice(0, c).reduce((sum, g) => sum + g, 0))
  const height = Math.max(groups.reduce((sum, g) => sum + g, 0), 24)
  const room = WIDTH - 50
  return (
    <svg class="chart" viewBox={`0 0 ${String(WIDTH)} ${String(height)}`} width="100%" role="img" aria-labelledby={`${chart.id}-title ${chart.id}-summary`}>
      {chart.categories.map((category, c) => {
        const lines = labels[c] ?? ['']
        const barsAt = 22 + (lines.length - 1) * LINE_HEIGHT
        return (
          <g key={category} transform={`translate(0 ${String(tops[c] ?? 0)})`}>
            <text x="0" y="15" font-size="14">
              {lines.map((line, l) => <tspan key={l} x="0" dy={l === 0 ? '0' : String(LINE_HEIGHT)}>{line}</tspan>)}
            </text>
            {chart.series.map((s, i) => {
              const value = s.values[c] ?? 0
              const w = value > 0 ? Math.max(2, (value / max) * room) : 0
              return (
                <g key={s.label} transform={`translate(0 ${String(barsAt + i * (bar + 4))})`}>
                  <rect x="0" y="0" height={bar} width={w} fill={colours[i % colours.length]} />
                  <text x={w + 6} y="13" font-size="13">{format.format(value)}</text>
                </g>
              )
            })}
          </g>
        )
      })}
    </svg>
  )
}

/** Columns over days, a few dates on the axis, and the reference as a dashed line. */
function Columns({ chart, locale }: { chart: ChartData; locale: string }): VNode {
  const format = formatter(locale, chart.unit)
  const top = 12
  const plot = 150
  const left = 34
  const height = top + plot + 28
  const sums = chart.categories.map((_, c) => chart.series.reduce((sum, s) => sum + (s.values[c] ?? 0), 0))
  const values = chart.stacked ? sums : chart.series.flatMap((s) => s.values.map((v) => v ?? 0))
  const max = Math.max(1, ...values, chart.reference?.value ?? 0)
  const n = Math.max(1, chart.categories.length)
  const slot = (WIDTH - left) / n
  const width = Math.max(1, chart.stacked ? slot * 0.8 : (slot * 0.8) / chart.series.length)
  const y = (v: number) => top + plot - (v / max) * plot
  const below = (i: number, c: number) => (chart.stacked ? chart.series.slice(0, i).reduce((sum, s) => sum + (s.values[c] ?? 0), 0) : 0)
  // At most four dates under the axis: the first, the last and two between.
  const ticks = [...new Set([0, Math.round((n - 1) / 3), Math.round((2 * (n - 1)) / 3), n - 1])].filter((i) => i >= 0 && i < chart.categories.length)
  return (
    <svg class="chart" viewBox={`0 0 ${String(WIDTH)} ${String(height)}`} width="100%" role="img" aria-labelledby={`${chart.id}-title ${chart.id}-summary`}>
      <line x1={left} x2={WIDTH} y1={top + plot} y2={top + plot} stroke="#737b87" />
      <text x={left - 6} y={top + 5} font-size="12" text-anchor="end">{format.format(max)}</text>
      <text x={left - 6} y={top + plot} font-size="12" text-anchor="end">{format.format(0)}</text>
      {chart.series.map((s, i) => s.values.map((v, c) => (v ? (
        <rect key={`${String(i)}-${String(c)}`} x={left + c * slot + slot * 0.1 + (chart.stacked ? 0 : i * width)} y={y(v + below(i, c))} width={width}
          height={y(below(i, c)) - y(v + below(i, c))} fill={colours[i % colours.length]} />
      ) : null)))}
      {chart.reference ? (
        <line x1={left} x2={WIDTH} y1={y(chart.reference.value)} y2={y(chart.reference.value)} stroke="#a4451a" stroke-width="2" stroke-dasharray="6 3" />
      ) : null}
      {ticks.map((i) => (
        <text key={i} x={Math.min(WIDTH - 2, Math.max(left, left + i * slot + slot / 2))} y={top + plot + 18} font-size="12"
          text-anchor={i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle'}>{chart.categories[i]}</text>
      ))}
    </svg>
  )
}

/**
 * A chart with its title, its text alternative, its legend, its data as a table beside it (a
 * scrollable region a keyboard can reach) and a link to the same data as CSV.
 */
export function Chart({ chart, locale, csvHref, csvLabel, tableLabel, empty }: {
  chart: ChartData; locale: string; csvHref: string; csvLabel: string; tableLabel: string; empty: string
}): VNode {
  const format = formatter(locale, chart.unit)
  const hasData = chart.categories.length > 0 && chart.series.some((s) => s.values.some((v) => v !== null && v !== 0))
  // Beside the drawing a table has about a third of the page: enough for a label and one figure, not for
  // three or four columns of long German headings, which then go under the drawing at full width.
  const tableColumns = 1 + chart.series.length + (chart.reference ? 1 : 0)
  return (
    <figure class="chart-figure" aria-labelledby={`${chart.id}-title`} id={chart.id}>
      <figcaption>
        <h2 id={`${chart.id}-title`}>{chart.title}</h2>
        <p id={`${chart.id}-summary`} class="chart-summary">{hasData ? chart.summary : empty}</p>
      </figcaption>
      <div class={tableColumns > 2 ? 'chart-body table-below' : 'chart-body'}>
        <div class="chart-drawing">
          {hasData ? (chart.layout === 'bars' ? <Bars chart={chart} locale={locale} /> : <Columns chart={chart} locale={locale} />) : null}
          {hasData ? <Legend chart={chart} /> : null}
          <p><a href={csvHref} download={`${chart.id}.csv`}>{csvLabel}</a></p>
        </div>
        {chart.categories.length > 0 ? (
          <div class="table-scroll" role="region" aria-label={`${tableLabel}: ${chart.title}`} tabIndex={0}>
            <table>
              <caption class="visually-hidden">{`${tableLabel}: ${chart.title}`}</caption>
              <thead>
                <tr>
                  <th scope="col">{chart.categoryLabel}</th>
                  {chart.series.map((s) => <th key={s.label} scope="col">{s.label}</th>)}
                  {chart.reference ? <th scope="col">{chart.reference.label}</th> : null}
                </tr>
              </thead>
              <tbody>
                {chart.categories.map((category, c) => (
                  <tr key={category}>
                    <th scope="row" class={chart.layout === 'columns' ? 'nowrap' : undefined}>{category}</th>
                    {chart.series.map((s) => <td key={s.label} class="number">{s.values[c] === null || s.values[c] === undefined ? '—' : format.format(s.values[c])}</td>)}
                    {chart.reference ? <td class="number">{format.format(chart.reference.value)}</td> : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </div>
    </figure>
  )
}

/** A spreadsheet runs cells starting with these as formulas; a leading apostrophe makes them text (as the admin exports do). */
function neutralise(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
}

/** The chart's table as CSV: the same header and rows the page shows, numbers unformatted. */
export function chartCsv(chart: ChartData): string {
  const header = [chart.categoryLabel, ...chart.series.map((s) => s.label), ...(chart.reference ? [chart.reference.label] : [])]
  const body = chart.categories.map((category, c) => [
    category, ...chart.series.map((s) => (s.values[c] === null || s.values[c] === undefined ? '' : String(s.values[c]))),
    ...(chart.reference ? [String(chart.reference.value)] : []),
  ])
  return stringify([header, ...body].map((cells) => cells.map(neutralise)), { bom: true })
}

/** The report's period: links to the same page over 7, 30 or 90 days, the current one marked. */
export function PeriodNav({ label, periods, current, href, text }: {
  label: string; periods: readonly number[]; current: number; href: (days: number) => string; text: (days: number) => string
}): VNode {
  return (
    <nav class="period-nav" aria-label={label}>
      <ul>
        {periods.map((days) => (
          <li key={days}>{days === current ? <a href={href(days)} aria-current="page">{text(days)}</a> : <a href={href(days)}>{text(days)}</a>}</li>
        ))}
      </ul>
    </nav>
  )
}
