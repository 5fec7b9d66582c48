// Runs several test files in one process, each as a suite of its own (scripts/run-tests.ts writes a
// two-line module per group that calls runGroup). A process of its own costs a test file about 0.7 s of
// CPU before its first test (starting node, loading the application's code and warming it up); in a group
// the files after the first skip that (8 identity files: 21.9 → 16.3 s of CPU).
//
// Each file is loaded with require() inside its describe(), so that the tests and hooks it declares at
// its top level belong to that suite: its before/after hooks run around its own tests, not the group's.
// require() of an ES module is synchronous (Node 20.19+), which is also why a test file must not use
// top-level await.
import { createRequire } from 'node:module'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { after, before, describe } from 'node:test'
import { cpuSeconds, recordFileTime } from './test-clock.mjs'

const require = createRequire(import.meta.url)

/** Declares one suite per file (absolute paths of compiled test files), run one after the other. */
export function runGroup(files) {
  for (const file of files) {
    describe(path.relative(path.join(process.cwd(), '.test-build'), file), () => {
      const started = { wall: 0, cpu: 0 }
      before(() => {
        started.wall = performance.now()
        started.cpu = cpuSeconds()
      })
      require(file)
      // Registered after the file's own hooks, so it runs after its cleanup too.
      after(() => { recordFileTime(file, (performance.now() - started.wall) / 1000, cpuSeconds() - started.cpu) })
    })
  }
}
