#!/usr/bin/env node
// Runs the compiled CLI; builds dist/ first when the sources changed since the last build
// (a fraction of a second), so the command always runs the code as it is in src/.
import { ensureBuilt } from '../scripts/build.mjs'

await ensureBuilt()
await import('../dist/cli.js')
