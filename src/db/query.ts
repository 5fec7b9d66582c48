import type { SQL } from 'drizzle-orm'
import type { Db, Tx } from './client.js'

/**
 * Runs raw SQL and returns its rows. The postgres-js driver answers with an
 * array and PGlite with { rows }: this hides the difference. A plain string is
 * for statements without parameters (tests, which may not import Drizzle).
 */
export async function rows<T extends Record<string, unknown>>(db: Db | Tx, query: SQL | string): Promise<T[]> {
  const result: unknown = await db.execute(query)
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows
}

export async function firstRow<T extends Record<string, unknown>>(db: Db | Tx, query: SQL | string): Promise<T | undefined> {
  return (await rows<T>(db, query))[0]
}
