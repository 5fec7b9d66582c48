/** Builds dist/ unless it already holds the current sources; answers whether it built. */
export function ensureBuilt(): Promise<boolean>
