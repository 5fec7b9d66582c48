/**
 * oidc-provider prints "Unsupported runtime" at import on any Node.js older than 22. Sportello still runs on
 * Node 20, the machines' own, and CI runs the whole suite on it and on Node 24 (README, "Node versions"), so on
 * Node 20 that notice is noise at every start and every CLI call. This module, imported just before
 * oidc-provider, silences that one line on Node 20 only; any other runtime the library does not support still
 * gets its warning, and every other console.warn goes through untouched.
 */
const silenced = /^oidc-provider WARNING: Unsupported runtime\b/
const original = console.warn
const onNode20 = process.versions.node.split('.')[0] === '20'

if (onNode20) {
  console.warn = (...args: unknown[]) => {
    // The library colours the line on a terminal: compare the text without escape codes.
    if (typeof args[0] === 'string' && silenced.test(args[0].replace(/\x1b\[[0-9;]*m/g, ''))) return
    original(...args)
  }
}

/** Called once oidc-provider has been evaluated: console.warn is the runtime's own again. */
export function endRuntimeNoticeFilter(): void {
  console.warn = original
}
