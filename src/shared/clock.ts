/**
 * The one source of "now". Lifecycle and expiry logic read time here so tests
 * (and `sportello lifecycle sweep --now`) can move it without touching the OS.
 */
export interface Clock {
  now(): Date
}

const systemClock: Clock = { now: () => new Date() }
let current: Clock = systemClock

export const clock: Clock = { now: () => current.now() }

/** Pins time to a fixed instant (tests, CLI --now). Returns a function that undoes it. */
export function setClock(at: Date | Clock): () => void {
  const previous = current
  current = at instanceof Date ? { now: () => new Date(at.getTime()) } : at
  return () => {
    current = previous
  }
}

/**
 * Gives time back to the system clock; answers whether something had left it pinned. The tests check it after
 * each file: several files share a process, and a clock left set would move the next file's "now".
 */
export function resetClock(): boolean {
  const pinned = current !== systemClock
  current = systemClock
  return pinned
}

/** Runs `work` with time pinned to `at` (when given), and gives time back however it ends. */
export async function withClock<T>(at: Date | undefined, work: () => Promise<T>): Promise<T> {
  if (!at) return work()
  const restore = setClock(at)
  try {
    return await work()
  } finally {
    restore()
  }
}
