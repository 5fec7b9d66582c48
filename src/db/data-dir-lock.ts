import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'

/**
 * An embedded database directory has one writer: PGlite runs the whole database inside the process
 * that opened the directory, so a second process opening it (the CLI beside a running server)
 * loses its own writes or the server's and can leave files that no longer open. The lock is a file
 * beside the directory naming the process that holds it and, when that process serves the database
 * to others (the server does), the Unix socket to reach it through; a lock whose process is gone
 * (killed, machine restarted) is taken over.
 */
export class DataDirInUseError extends Error {
  constructor(readonly dataDir: string, readonly holder: LockHolder) {
    super(
      `The embedded database in ${dataDir} is in use by ${holder.what} (process ${String(holder.pid)}, since ${holder.since}). ` +
      'Wait until it has finished and run the command again; while the Sportello server runs, commands reach the database through it. ' +
      `If no such process exists, delete ${lockFileOf(dataDir)}.`,
    )
    this.name = 'DataDirInUseError'
  }
}

export interface LockHolder {
  pid: number
  what: string
  since: string
  /** The Unix socket the holder serves the database on; absent when it serves no one else. */
  socket?: string | undefined
}

export function lockFileOf(dataDir: string): string {
  return `${dataDir}.lock`
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Lines: process ID, since, who, and the socket (empty when none). */
function readHolder(file: string): LockHolder | undefined {
  try {
    const [pid, since, what, socket] = readFileSync(file, 'utf8').split('\n')
    const number = Number(pid)
    if (!Number.isInteger(number) || number <= 0) return undefined
    return { pid: number, since: since ?? '', what: what?.trim() || 'another process', ...(socket?.trim() ? { socket: socket.trim() } : {}) }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The live process holding `dataDir`, if any (a lock left by a process that is gone counts as none). */
export function holderOf(dataDir: string): LockHolder | undefined {
  const holder = readHolder(lockFileOf(dataDir))
  return holder && isRunning(holder.pid) ? holder : undefined
}

/**
 * Takes `file` for this process; answers its release, or the live holder when another process has it.
 * A lock whose process is gone is taken over.
 */
export function tryLockFile(file: string, what: string, socket?: string): (() => void) | LockHolder {
  const content = `${String(process.pid)}\n${new Date().toISOString()}\n${what.replaceAll('\n', ' ')}\n${socket ?? ''}\n`
  for (let attempt = 0; attempt < 3; attempt++) {
    // Written whole under a name of its own, then linked into place: link() fails if the lock
    // exists, and a reader never sees a half-written holder.
    const draft = `${file}.${String(process.pid)}`
    writeFileSync(draft, content, { mode: 0o644 })
    try {
      linkSync(draft, file)
      let released = false
      const release = () => {
        if (released) return
        released = true
        process.removeListener('exit', release)
        try {
          if (readHolder(file)?.pid === process.pid) unlinkSync(file)
        } catch {
          // Already gone: nothing to release.
        }
      }
      // A process that exits without closing the database still gives the file back.
      process.once('exit', release)
      return release
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    } finally {
      unlinkSync(draft)
    }
    const holder = readHolder(file)
    if (holder && isRunning(holder.pid)) return holder
    // The holder is gone, or the file is not a lock this code wrote: take it over.
    try {
      unlinkSync(file)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  return readHolder(file) ?? { pid: 0, what: 'another process', since: '' }
}

/** Takes the directory for this process, or throws DataDirInUseError; answers the release. */
export function lockDataDir(dataDir: string, what: string, socket?: string): () => void {
  const taken = tryLockFile(lockFileOf(dataDir), what, socket)
  if (typeof taken === 'function') return taken
  throw new DataDirInUseError(dataDir, taken)
}
