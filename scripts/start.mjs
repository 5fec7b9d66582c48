// `npm start`: builds dist/ when the sources changed, then runs the compiled server.
import { ensureBuilt } from './build.mjs'

await ensureBuilt()
await import('../dist/server.js')
