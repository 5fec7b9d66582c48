import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { sourceDir } from '../../paths.js'

/** The files served under /assets (stylesheet, the few scripts, icons). */
export const publicDir = path.join(sourceDir, 'public')

/**
 * An asset's URL carrying a hash of its content: /assets is cached for a year, so a changed file
 * must get a new URL. Read once, when the page module or the app is loaded.
 */
export function versionedAssetUrl(name: string): string {
  const content = readFileSync(path.join(publicDir, name))
  return `/assets/${name}?v=${createHash('sha256').update(content).digest('hex').slice(0, 12)}`
}
