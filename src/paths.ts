import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The package's own directory, found from this file whether it runs as TypeScript under src/ or
 * compiled under dist/. Files that are not code (migrations, locale catalogues, public assets,
 * the demo content) are read from the sources in place, so the build copies nothing.
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) throw new Error(`No package.json above ${from}`)
  }
}

export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)))
export const sourceDir = path.join(packageRoot, 'src')
