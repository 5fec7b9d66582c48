/**
 * drizzle-kit generate, then unqualify `"public".` in the new SQL: drizzle-kit
 * writes schema-qualified foreign keys, but the same migrations must run in
 * whatever schema search_path names (tests use one schema per file).
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

const dir = path.resolve('src/db/migrations')
execFileSync('npx', ['drizzle-kit', 'generate', ...process.argv.slice(2)], { stdio: 'inherit' })
for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
  const full = path.join(dir, file)
  const sql = readFileSync(full, 'utf8')
  const fixed = sql.replaceAll('"public".', '')
  if (fixed !== sql) {
    writeFileSync(full, fixed)
    console.log(`unqualified public schema in ${file}`)
  }
}
