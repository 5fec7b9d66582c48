/**
 * What a database error means for the request, whichever driver raised it (postgres-js and PGlite
 * both carry PostgreSQL's SQLSTATE in `code`; drizzle wraps them in an error whose `cause` is the
 * driver's). Reading an error needs no Drizzle, so services and the error handler may use this.
 */

interface DriverError { code?: unknown; constraint?: unknown; constraint_name?: unknown; cause?: unknown }

/** The driver's error inside whatever wrapped it, if it carries a SQLSTATE. */
function driverError(error: unknown): DriverError | undefined {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; current = (current as DriverError).cause, depth++) {
    const code = (current as DriverError).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return current
  }
  return undefined
}

/** The SQLSTATE of a database error (e.g. 23505), or undefined for anything else. */
export function sqlState(error: unknown): string | undefined {
  const code = driverError(error)?.code
  return typeof code === 'string' ? code : undefined
}

/** The unique index a write ran into, or undefined when the error is no unique violation. */
export function uniqueViolation(error: unknown): string | undefined {
  const found = driverError(error)
  if (found?.code !== '23505') return undefined
  const name = found.constraint ?? found.constraint_name
  return typeof name === 'string' ? name : ''
}
