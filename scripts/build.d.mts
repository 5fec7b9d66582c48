/** Builds dist/ unless it already holds the current sources; answers whether it built. */
export function ensureBuilt(): Promise<boolean>
/** Builds .test-build/ (sources and tests, with source maps) unless it holds the current ones; answers whether it built. */
export function ensureTestsBuilt(): Promise<boolean>
