// Loaded into every test process (`--import`, by scripts/run-tests.ts): records how long each test file ran
// (wall and CPU time) in the file named by SPORTELLO_TEST_TIMES, so the runner can say where the suite's time
// goes. (node's reporters get a file's events in order, after earlier files finished, so their timestamps
// cannot tell this.) A file run in a process of its own is timed from the process's start to its exit; a file
// of a group (scripts/test-group.mjs) from its first hook to its last.
import { appendFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

const out = process.env.SPORTELLO_TEST_TIMES

/** Appends one test file's times to the run's record (nothing when the runner did not ask for it). */
export function recordFileTime(file, seconds, cpuSeconds) {
  if (out) appendFileSync(out, `${JSON.stringify({ file, seconds, cpuSeconds })}\n`)
}

/** CPU time of this process so far, in seconds. */
export function cpuSeconds() {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

const file = process.argv[1]
if (file && /\.test\.js$/.test(file)) {
  process.on('exit', () => { recordFileTime(file, performance.now() / 1000, cpuSeconds()) })
}
