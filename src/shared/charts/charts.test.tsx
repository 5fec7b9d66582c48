import assert from 'node:assert/strict'
import { test } from 'node:test'
import { renderToString } from 'preact-render-to-string'
import { Chart, labelLines, type ChartData } from './charts.js'

const article = 'Riesco ad accedere, ma un\'app dice che non ho accesso al servizio richiesto'

test('a long category name is broken between words over lines that fit the drawing, nothing cut off', () => {
  const chart: ChartData = {
    id: 'avoided', layout: 'bars', title: 'Articoli', summary: 'Tre articoli.', categoryLabel: 'Articolo',
    categories: [article, 'Corto'], series: [{ label: 'Aperti', values: [2, 1] }, { label: 'Evitata', values: [2, 0] }],
  }
  const html = renderToString(<Chart chart={chart} locale="it" csvHref="/x.csv" csvLabel="CSV" tableLabel="Tabella" empty="Nessun dato" />)
  const svg = /<svg class="chart"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? ''
  const lines = [...svg.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) => (m[1] ?? '').replaceAll('&#39;', '\''))
  assert.deepEqual(lines, [...labelLines(article), 'Corto'])
  assert.ok(labelLines(article).length > 1 && labelLines(article).every((l) => l.length <= 38), 'each line fits 320 units at 14 units per character height')
  assert.equal(labelLines(article).join(' '), article, 'every word is there, in order')
  // The bars of the second category start below the first one's taller label: nothing overlaps.
  const tops = [...svg.matchAll(/<g transform="translate\(0 (\d+)\)"><text/g)].map((m) => Number(m[1]))
  assert.deepEqual(tops.length, 2)
  assert.ok((tops[1] ?? 0) >= 22 + (labelLines(article).length - 1) * 17 + 2 * 20, String(tops))
  assert.ok(html.includes(`<th scope="row">${article}</th>`), 'the table beside it has the whole name on one row')
})

test('labelLines: short names stay on one line, a word longer than a line is split', () => {
  assert.deepEqual(labelLines('Gesperrt'), ['Gesperrt'])
  assert.deepEqual(labelLines('x'.repeat(50), 20), ['x'.repeat(20), 'x'.repeat(20), 'x'.repeat(10)])
  assert.deepEqual(labelLines(''), [''])
})
