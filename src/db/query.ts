import type { SQL } from 'drizzle-orm'
import type { Db, Tx } from './client.js'

/**
 * Runs raw SQL and returns its rows. The postgres-js driver answers with an
 * array and PGlite with { rows }: this hides the difference.
 */
export async function rows<T extends Record<string, unknown>>(db: Db | Tx, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query)
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows
}

export async function firstRow<T extends Record<string, unknown>>(db: Db | Tx, query: SQL): Promise<T | undefined> {
  return (await rows<T>(db, query))[0]
}
