/**
 * Runs every *.test.ts(x) under src/ and test/ with node's test runner
 * (through tsx). Node 20 has no glob support for --test, hence this list.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'

const roots = ['src', 'test']
const only = process.argv.slice(2)
const files = roots.flatMap((root) =>
  readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.test\.tsx?$/.test(f))
    .map((f) => path.join(root, f)),
).filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort()

if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' })
process.exit(result.status ?? 1)
