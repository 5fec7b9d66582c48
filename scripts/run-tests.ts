/**
 * Runs every *.test.ts(x) under src/ and test/ with node's test runner. The sources and tests are
 * compiled to .test-build/ first (esbuild, about a second, only when they changed), so each test
 * process loads plain JavaScript instead of compiling TypeScript through a loader: that was a
 * third of a test file's fixed cost. Source maps keep stack traces pointing at the .ts lines.
 * Node 20 has no glob support for --test, hence this list.
 * The migrated template database every test file copies is made first, once
 * (test/template.ts), so the test processes never race to make it.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { ensureTemplate } from '../test/template.js'
import { ensureBuilt, ensureTestsBuilt } from './build.mjs'

const testClock = new URL('./test-clock.mjs', import.meta.url).href
/** Test files per process, apart from the browser files (see processes()). */
const GROUP_SIZE = 5

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
await ensureTestsBuilt()
const compiled = files.map((file) => path.resolve('.test-build', file.replace(/\.tsx?$/, '.js')))
// --liftoff-only: V8 runs PGlite's WebAssembly with its baseline compiler and never spends CPU
// optimizing it. A test process is short and busy: optimizing took more CPU than it saved (a migrated
// database opened and queried 500 times: 6.5 s of CPU by default, 4.1 s with the flag).
// test-clock.mjs records each test process's wall and CPU time for the table printed at the end.
const nodeFlags = ['--liftoff-only', '--enable-source-maps', `--import=${testClock}`]
const runDir = mkdtempSync(path.join(tmpdir(), 'sportello-test-run-'))
const timesFile = path.join(runDir, 'times.ndjson')
const scratch = memoryScratch()
// Ctrl-C reaches the test processes too (one process group): the runner outlives them and still removes its
// folders, the one in memory above all, which would otherwise hold database copies until the machine restarts.
process.on('SIGINT', () => undefined)
const started = performance.now()
const result = spawnSync(process.execPath, [...nodeFlags, '--test', '--test-concurrency=2', ...processes(compiled, runDir)], {
  stdio: 'inherit', env: { ...process.env, SPORTELLO_TEST_TIMES: timesFile, ...(scratch ? { TMPDIR: scratch } : {}) },
})
if (scratch) rmSync(scratch, { recursive: true, force: true })
printFileTimes(timesFile, (performance.now() - started) / 1000)
rmSync(runDir, { recursive: true, force: true })
process.exit(result.status ?? 1)

/**
 * What each test process runs. A browser file (test/e2e/) runs in a process of its own. The other files run
 * GROUP_SIZE to a process (scripts/test-group.mjs), which spares each of them after the first the cost of
 * starting node and loading the application (about 0.7 s of CPU). Groups keep neighbouring files together
 * (one feature's files share most of their code). A group is a two-line module written into `dir`.
 */
function processes(testFiles: string[], dir: string): string[] {
  const browser = testFiles.filter((file) => file.includes(`${path.sep}e2e${path.sep}`))
  const rest = testFiles.filter((file) => !browser.includes(file))
  const runner = pathToFileURL(path.resolve('scripts/test-group.mjs')).href
  const groups: string[] = []
  for (let start = 0; start < rest.length; start += GROUP_SIZE) {
    const group = path.join(dir, `group-${String(groups.length + 1).padStart(2, '0')}.mjs`)
    writeFileSync(group, `import { runGroup } from ${JSON.stringify(runner)}\nrunGroup(${JSON.stringify(rest.slice(start, start + GROUP_SIZE))})\n`)
    groups.push(group)
  }
  // Each browser file beside a group: two browser files side by side wait on each other's Chromium.
  return Array.from({ length: Math.max(browser.length, groups.length) }, (_, i) => [browser[i], groups[i]])
    .flat().filter((entry): entry is string => entry !== undefined)
}

/**
 * A folder in memory (/dev/shm) for the test processes' temporary files, when the machine has one with room
 * and TMPDIR is not set: each test file copies the 41 MB database template and Chromium writes its
 * profiles there. On the disk a copy took 0.38 s of CPU, in memory 0.08 s (the whole suite: 576 → 529 s
 * of machine CPU, docs/benchmarks.md).
 */
function memoryScratch(): string | undefined {
  if (process.env.TMPDIR) return undefined
  try {
    const { bavail, bsize } = statfsSync('/dev/shm')
    // Two files at a time, each a database copy and a browser profile or two: 2 GB leaves a wide margin.
    if (bavail * bsize < 2 * 1024 ** 3) return undefined
    return mkdtempSync('/dev/shm/sportello-test-')
  } catch {
    return undefined
  }
}

/** The slowest test files, after the run: where the suite's time goes. TEST_TIMES_JSON=<path> also keeps all of them. */
function printFileTimes(file: string, wallSeconds: number): void {
  let lines: string[]
  try {
    lines = readFileSync(file, 'utf8').trim().split('\n')
  } catch {
    return
  }
  const rows = lines.map((line) => JSON.parse(line) as { file: string; seconds: number; cpuSeconds: number })
    .map((row) => ({ ...row, file: path.relative(path.join(process.cwd(), '.test-build'), row.file) }))
    .sort((a, b) => b.seconds - a.seconds)
  if (process.env.TEST_TIMES_JSON) writeFileSync(process.env.TEST_TIMES_JSON, JSON.stringify({ wallSeconds, files: rows }, null, 2))
  const cpu = rows.reduce((sum, row) => sum + row.cpuSeconds, 0)
  console.log(`\n${String(rows.length)} test files in ${wallSeconds.toFixed(0)} s (${cpu.toFixed(0)} s of CPU in the test processes). Slowest:`)
  for (const row of rows.slice(0, 12)) console.log(`${row.seconds.toFixed(1).padStart(8)} s  ${row.cpuSeconds.toFixed(1).padStart(6)} s CPU  ${row.file}`)
}
