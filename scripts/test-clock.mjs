// Loaded into every test process (`--import`, by scripts/run-tests.ts): when the process exits it
// appends how long it ran (wall time since the process started, and CPU time) to the file named by
// SPORTELLO_TEST_TIMES, so the runner can say where the suite's time goes. (node's reporters get a
// file's events in order, after earlier files finished, so their timestamps cannot tell this.)
import { appendFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

const out = process.env.SPORTELLO_TEST_TIMES
const file = process.argv[1]
if (out && file && /\.test\.js$/.test(file)) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage()
    appendFileSync(out, `${JSON.stringify({ file, seconds: performance.now() / 1000, cpuSeconds: (user + system) / 1e6 })}\n`)
  })
}
