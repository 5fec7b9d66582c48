// Compiles src/ to dist/ (JavaScript, one file per source file, no bundling) so that the server
// and the CLI start without compiling TypeScript at every run. Types are checked by `npm run
// typecheck`, not here: this only strips them, which takes a fraction of a second.
//
// `ensureBuilt()` rebuilds only when the sources changed since the last build (a fingerprint of
// every source file's path, size and modification time), so `npm start` and `sportello` always
// run the code in src/ as it is now. Plain JavaScript on purpose: it runs before anything is built.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * What a build compiles and where to: `dist/` holds the application (src/ without its tests);
 * `.test-build/` holds src/, test/ and examples/ with the tests, for the test runner (scripts/run-tests.ts),
 * which so loads plain JavaScript instead of compiling TypeScript in every test process.
 */
const targets = {
  app: { roots: ['src'], outbase: path.join(root, 'src'), outdir: path.join(root, 'dist'), tests: false, sourcemap: false },
  tests: { roots: ['src', 'test', 'examples'], outbase: root, outdir: path.join(root, '.test-build'), tests: true, sourcemap: 'linked', bundle: true },
}

/**
 * Packages a bundled test build leaves to be loaded from node_modules: WebAssembly and native code,
 * packages that find their own files or start workers by path, the browser and its tools, and the
 * few the code loads on first use (bundling those would make every process pay for them).
 */
const unbundled = [
  '@electric-sql/*', '@node-rs/*', 'playwright-core', 'axe-core', 'esbuild', 'tsx', 'pino', 'pino-*', 'thread-stream',
  '@simplewebauthn/*', 'qrcode', 'mailparser',
  // It import()s the CommonJS package cookie, whose named exports a bundle's import() would not give.
  '@fastify/cookie',
]

/** Source files of a target, as paths relative to the package root. */
function sourceFiles(target) {
  return target.roots
    .flatMap((dir) => readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' }).map((file) => path.join(dir, file)))
    .filter((file) => /\.tsx?$/.test(file) && !file.endsWith('.d.ts') && (target.tests || !/\.test\.tsx?$/.test(file)))
    .sort()
}

function fingerprint(files) {
  const hash = createHash('sha256')
  hash.update(`${statSync(fileURLToPath(import.meta.url)).mtimeMs}\n`)
  for (const file of files) {
    const { size, mtimeMs } = statSync(path.join(root, file))
    hash.update(`${file}\0${size}\0${mtimeMs}\n`)
  }
  return hash.digest('hex')
}

function builtStamp(target) {
  try {
    return readFileSync(path.join(target.outdir, '.build-stamp'), 'utf8')
  } catch {
    return undefined
  }
}

/** Builds dist/ unless it already holds the current sources; answers whether it built. */
export function ensureBuilt() {
  return ensureTarget(targets.app)
}

/** Builds .test-build/ (sources and tests) unless it holds the current ones; answers whether it built. */
export function ensureTestsBuilt() {
  return ensureTarget(targets.tests)
}

async function ensureTarget(target) {
  const files = sourceFiles(target)
  const stamp = fingerprint(files)
  if (builtStamp(target) === stamp) return false
  await build(target, files, stamp)
  return true
}

async function build(target, files, stamp) {
  const { build: esbuild } = await import('esbuild')
  // Built beside the output folder and swapped in, so a process starting meanwhile never sees half a build.
  const staging = `${target.outdir}.${process.pid}.${Date.now()}`
  await esbuild({
    // The tests are bundled, each test file with what it imports, shared code split into chunks: a
    // test process then loads a few files instead of about 1,300 modules (importing the application
    // took about 1.3 s of CPU, bundled about 0.7 s; the suite starts some 80 such processes).
    entryPoints: (target.bundle ? files.filter((file) => /\.test\.tsx?$/.test(file)) : files).map((file) => path.join(root, file)),
    ...(target.bundle ? {
      bundle: true, splitting: true, external: unbundled, chunkNames: 'chunks/[name]-[hash]',
      // Bundled CommonJS packages call require() for Node's own modules.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    } : {}),
    outbase: target.outbase,
    outdir: staging,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    sourcemap: target.sourcemap,
    logLevel: 'warning',
  })
  writeFileSync(path.join(staging, '.build-stamp'), stamp)
  const retired = `${staging}.old`
  try {
    renameSync(target.outdir, retired)
  } catch (error) {
    if (error.code !== 'ENOENT') throw error
  }
  try {
    renameSync(staging, target.outdir)
  } catch (error) {
    // Another process swapped in its build of the same sources first.
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
    rmSync(staging, { recursive: true, force: true })
  }
  rmSync(retired, { recursive: true, force: true })
}

/**
 * Makes the migrated template a new embedded database starts from (src/db/embedded-template.ts):
 * `npm ci` pays initdb and the migrations once, so the first `npm start` does not. Where it cannot
 * be made (a read-only install), a first start simply creates its database itself.
 */
async function ensureEmbeddedTemplate() {
  try {
    const { ensureEmbeddedTemplate: ensure } = await import('../dist/db/client.js')
    return await ensure()
  } catch (error) {
    console.warn(`The embedded database template was not made (${error instanceof Error ? error.message : String(error)}); a first start will create its database itself.`)
    return undefined
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  const built = await ensureBuilt()
  if (process.argv.includes('--verbose')) {
    console.log(built ? `Built dist/ in ${Math.round(performance.now() - started)} ms.` : 'dist/ is up to date.')
  }
  if (process.argv.includes('--template')) await ensureEmbeddedTemplate()
}
