#!/usr/bin/env node
// Runs the compiled CLI; builds dist/ first when the sources changed since the last build
// (a fraction of a second), so the command always runs the code as it is in src/.
import module from 'node:module'
import { setFlagsFromString } from 'node:v8'
import { ensureBuilt } from '../scripts/build.mjs'

// A command is a short process: V8 runs the embedded database's WebAssembly with its baseline
// compiler only, instead of spending CPU optimizing code the process exits before reusing
// (`content report` on PGlite: 7.4 s of CPU by default, 4.4 s with it; docs/benchmarks.md).
// Set before anything loads PGlite; the server keeps V8's default, which pays off over its life.
setFlagsFromString('--liftoff-only')

// Node 22 and later keep the compiled code of every module on disk for the next start (Node 20 has no such cache).
module.enableCompileCache?.()

await ensureBuilt()
const { runCli, processContext } = await import('../dist/cli.js')
process.exit(await runCli(process.argv.slice(2), processContext()))
