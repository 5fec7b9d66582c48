// `npm start`: builds dist/ when the sources changed, then runs the compiled server.
import module from 'node:module'
import { ensureBuilt } from './build.mjs'

// Node 22 and later keep the compiled code of every module on disk for the next start (Node 20 has no such cache).
module.enableCompileCache?.()

await ensureBuilt()
await import('../dist/server.js')
