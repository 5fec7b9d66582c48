import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'

/**
 * An embedded database directory has one writer: PGlite keeps its pages in the process's memory
 * and writes them back on close, so a second process opening the same directory (the CLI beside a
 * running server) silently loses its own writes or the server's, and can leave files that no
 * longer open. The lock is a file beside the directory naming the process that holds it; a lock
 * whose process is gone (killed, machine restarted) is taken over.
 */
export class DataDirInUseError extends Error {
  constructor(readonly dataDir: string, readonly holder: LockHolder) {
    super(
      `The embedded database in ${dataDir} is in use by ${holder.what} (process ${String(holder.pid)}, since ${holder.since}). ` +
      'Stop it first and run the command again; a server with DATABASE_URL (PostgreSQL) can serve the CLI while it runs. ' +
      `If no such process exists, delete ${lockFileOf(dataDir)}.`,
    )
    this.name = 'DataDirInUseError'
  }
}

interface LockHolder {
  pid: number
  what: string
  since: string
}

function lockFileOf(dataDir: string): string {
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

function readHolder(file: string): LockHolder | undefined {
  try {
    const [pid, since, ...what] = readFileSync(file, 'utf8').split('\n')
    const number = Number(pid)
    return Number.isInteger(number) && number > 0 ? { pid: number, since: since ?? '', what: what.join(' ').trim() || 'another process' } : undefined
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** Takes the directory for this process, or throws DataDirInUseError; answers the release. */
export function lockDataDir(dataDir: string, what: string): () => void {
  const file = lockFileOf(dataDir)
  const content = `${String(process.pid)}\n${new Date().toISOString()}\n${what}\n`
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
        try {
          if (readHolder(file)?.pid === process.pid) unlinkSync(file)
        } catch {
          // Already gone: nothing to release.
        }
      }
      // A process that exits without closing the database still gives the directory back.
      process.once('exit', release)
      return release
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    } finally {
      unlinkSync(draft)
    }
    const holder = readHolder(file)
    if (holder && isRunning(holder.pid)) throw new DataDirInUseError(dataDir, holder)
    // The holder is gone, or the file is not a lock this code wrote: take it over.
    try {
      unlinkSync(file)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  const holder = readHolder(file)
  throw new DataDirInUseError(dataDir, holder ?? { pid: 0, what: 'another process', since: '' })
}
