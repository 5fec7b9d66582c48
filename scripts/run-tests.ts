/**
 * Runs every *.test.ts(x) under src/ and test/ with node's test runner
 * (through tsx). Node 20 has no glob support for --test, hence this list.
 * The migrated template database every test file copies is made first, once
 * (test/template.ts), so the test processes never race to make it.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { ensureTemplate } from '../test/template.js'
import { ensureBuilt } from './build.mjs'

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
await ensureTemplate()
// The CLI and server tests run the compiled code, as `sportello` and `npm start` do: built once here,
// so that parallel test files never race to build it.
await ensureBuilt()
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' })
process.exit(result.status ?? 1)
