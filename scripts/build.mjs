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
const sourceDir = path.join(root, 'src')
const distDir = path.join(root, 'dist')
const stampFile = path.join(distDir, '.build-stamp')

function sourceFiles() {
  return readdirSync(sourceDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file) && !file.endsWith('.d.ts'))
    .sort()
}

function fingerprint(files) {
  const hash = createHash('sha256')
  hash.update(`${statSync(fileURLToPath(import.meta.url)).mtimeMs}\n`)
  for (const file of files) {
    const { size, mtimeMs } = statSync(path.join(sourceDir, file))
    hash.update(`${file}\0${size}\0${mtimeMs}\n`)
  }
  return hash.digest('hex')
}

function builtStamp() {
  try {
    return readFileSync(stampFile, 'utf8')
  } catch {
    return undefined
  }
}

/** Builds dist/ unless it already holds the current sources; answers whether it built. */
export async function ensureBuilt() {
  const files = sourceFiles()
  const stamp = fingerprint(files)
  if (builtStamp() === stamp) return false
  await build(files, stamp)
  return true
}

async function build(files, stamp) {
  const { build: esbuild } = await import('esbuild')
  // Built beside dist/ and swapped in, so a process starting meanwhile never sees half a build.
  const staging = `${distDir}.${process.pid}.${Date.now()}`
  await esbuild({
    entryPoints: files.map((file) => path.join(sourceDir, file)),
    outbase: sourceDir,
    outdir: staging,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    logLevel: 'warning',
  })
  writeFileSync(path.join(staging, '.build-stamp'), stamp)
  const retired = `${staging}.old`
  try {
    renameSync(distDir, retired)
  } catch (error) {
    if (error.code !== 'ENOENT') throw error
  }
  try {
    renameSync(staging, distDir)
  } catch (error) {
    // Another process swapped in its build of the same sources first.
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
    rmSync(staging, { recursive: true, force: true })
  }
  rmSync(retired, { recursive: true, force: true })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  const built = await ensureBuilt()
  if (process.argv.includes('--verbose')) {
    console.log(built ? `Built dist/ in ${Math.round(performance.now() - started)} ms.` : 'dist/ is up to date.')
  }
}
