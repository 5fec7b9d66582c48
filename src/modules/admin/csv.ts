import { CsvError, parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import { importColumns, type ImportProblem } from '../identity/index.js'

/** Largest import file accepted, by the console upload and the CLI alike. */
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024

/**
 * Reads an import file: UTF-8 (a BOM is fine), comma or semicolon separated (spreadsheets in
 * Italy and Germany save with semicolons), a header with exactly the known columns in any order.
 */
export function parseUsersCsv(text: string): { records: Record<string, string>[]; problems: ImportProblem[] } {
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? ''
  const delimiter = (firstLine.match(/;/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? ';' : ','
  let table: string[][]
  try {
    table = parse(text, { bom: true, delimiter, skip_empty_lines: true, relax_quotes: false, max_record_size: 10_000 })
  } catch (error) {
    if (error instanceof CsvError) return { records: [], problems: [{ line: typeof error.lines === 'number' ? error.lines : 1, field: '', code: 'syntax' }] }
    throw error
  }
  const [header, ...rows] = table
  const columns = (header ?? []).map((c) => c.trim().toLowerCase())
  const known = new Set<string>(importColumns)
  const missing = importColumns.filter((c) => !columns.includes(c))
  const unknown = columns.filter((c) => !known.has(c))
  if (missing.length > 0 || unknown.length > 0 || new Set(columns).size !== columns.length) {
    return { records: [], problems: [{ line: 1, field: [...missing, ...unknown].join(', '), code: 'columns' }] }
  }
  return { records: rows.map((cells) => Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']))), problems: [] }
}

/** A spreadsheet runs cells starting with these as formulas; a leading apostrophe makes them text. */
function neutralise(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
}

/** CSV for spreadsheets: a header, every cell neutralised against formula injection. */
export function toCsv(header: string[], rows: (string | number | null | undefined)[][]): string {
  return stringify([header, ...rows].map((cells) => cells.map((c) => neutralise(c === null || c === undefined ? '' : String(c)))))
}
