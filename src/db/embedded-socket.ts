import { chmodSync, mkdirSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import path from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket'

/**
 * Serves an open PGlite to other processes (the `sportello` CLI beside the running server) as a
 * PostgreSQL server on a Unix socket, through pglite-socket's protocol handler.
 *
 * PGlite is one PostgreSQL session. pglite-socket's own queue takes turns per protocol message and
 * only keeps a client's explicit transaction together; it knows nothing of the process's own
 * queries, which take PGlite's transaction mutex and not the query mutex it uses. So its queue is
 * replaced by the gate below: a client takes PGlite's transaction mutex — the one every in-process
 * `query`, `exec` and `transaction` takes — from its first message until PostgreSQL says it is idle
 * again (ReadyForQuery "I", sent only after a Sync or a simple query and outside a transaction). A
 * client's transaction, or its Parse … Sync of one statement, never interleaves with the server's
 * work or another client's, and the server's transactions never see a client's statement inside.
 */

/** What a served database needs to hear of: a NOTIFY a client's statement raised (PGlite delivers it into that client's stream). */
export type NotifyRelay = (channel: string, payload: string) => void

interface Turn {
  handlerId: number
  release: () => void
}

const SYNC = new Uint8Array([0x53, 0, 0, 0, 4])

function simpleQuery(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`, 'utf8')
  const message = Buffer.alloc(5 + body.length)
  message.write('Q', 0, 'latin1')
  message.writeInt32BE(4 + body.length, 1)
  body.copy(message, 5)
  return message
}

/**
 * Follows the backend's messages across chunks: the status of the last ReadyForQuery, and each
 * NotificationResponse. Other messages are skipped without being copied.
 */
class BackendReader {
  status: string | undefined
  private header = Buffer.alloc(0)
  private remaining = 0
  private type = 0
  private body: Buffer[] = []
  constructor(private readonly onNotify: NotifyRelay) {}

  /** Before a client's next message: its answer tells the status anew. */
  forgetStatus(): void {
    this.status = undefined
  }

  read(chunk: Uint8Array): void {
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    while (data.length > 0) {
      if (this.remaining === 0) {
        const need = 5 - this.header.length
        this.header = Buffer.concat([this.header, data.subarray(0, need)])
        data = data.subarray(need)
        if (this.header.length < 5) return
        this.type = this.header[0] ?? 0
        this.remaining = this.header.readInt32BE(1) - 4
        this.header = Buffer.alloc(0)
        this.body = []
        if (this.remaining === 0) this.finish()
        continue
      }
      const take = Math.min(this.remaining, data.length)
      // Only ReadyForQuery ('Z') and NotificationResponse ('A') are read; the rest only counted.
      if (this.type === 0x5a || this.type === 0x41) this.body.push(data.subarray(0, take))
      this.remaining -= take
      data = data.subarray(take)
      if (this.remaining === 0) this.finish()
    }
  }

  private finish(): void {
    if (this.type === 0x5a) this.status = String.fromCharCode(Buffer.concat(this.body)[0] ?? 0)
    if (this.type === 0x41) {
      const body = Buffer.concat(this.body)
      const channelEnd = body.indexOf(0, 4)
      const payloadEnd = body.indexOf(0, channelEnd + 1)
      this.onNotify(body.toString('utf8', 4, channelEnd), body.toString('utf8', channelEnd + 1, payloadEnd))
    }
    this.body = []
  }
}

/** The queue pglite-socket's handler hands each message to (its own is not exported; this one has the same three methods). */
class SessionGate {
  private turn: Turn | undefined
  private readonly gone = new Set<number>()
  private readonly readers = new Map<number, BackendReader>()
  private readonly tails = new Map<number, Promise<number>>()
  private readonly waiting = new Set<() => void>()
  private stopped = false

  constructor(private readonly db: PGlite, private readonly onNotify: NotifyRelay) {}

  /** Waits for PGlite's transaction mutex on behalf of a client; answers the turn, held until released. */
  private takeTurn(handlerId: number): Promise<Turn> {
    return new Promise<Turn>((resolve, reject) => {
      const abandon = () => { reject(new Error('Embedded database socket closed')) }
      this.waiting.add(abandon)
      this.db._runExclusiveTransaction(() => new Promise<void>((release) => {
        this.waiting.delete(abandon)
        if (this.stopped || this.gone.has(handlerId)) {
          release()
          abandon()
          return
        }
        resolve({ handlerId, release })
      })).catch(reject)
    })
  }

  /**
   * Runs one message of a client, after its previous ones: pglite-socket reads each chunk of a
   * socket in a callback of its own, so a pipelining client (postgres.js) can hand in its next
   * message before the last has run.
   */
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    const previous = this.tails.get(handlerId) ?? Promise.resolve(0)
    const next = previous.catch(() => 0).then(() => this.run(handlerId, message, onData))
    this.tails.set(handlerId, next)
    return next
  }

  private async run(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    // Terminate ('X') ends the client's connection, not PGlite's one session, which the server goes on using.
    if (message[0] === 0x58 || this.gone.has(handlerId)) return 0
    if (this.turn?.handlerId !== handlerId) this.turn = await this.takeTurn(handlerId)
    const turn = this.turn
    let reader = this.readers.get(handlerId)
    if (!reader) this.readers.set(handlerId, reader = new BackendReader(this.onNotify))
    reader.forgetStatus()
    let bytes = 0
    try {
      await this.db.runExclusive(() => this.db.execProtocolRawStream(message, {
        onRawData: (data) => {
          bytes += data.length
          reader.read(data)
          onData(data)
        },
      }))
    } catch (error) {
      this.endTurn(turn)
      throw error
    }
    // Idle and outside a transaction: the others may go on. ("T" in a transaction, "E" in a failed one.)
    if (reader.status === 'I') this.endTurn(turn)
    return bytes
  }

  private endTurn(turn: Turn): void {
    if (this.turn !== turn) return
    this.turn = undefined
    turn.release()
  }

  getQueueLength(): number {
    return this.waiting.size
  }

  /** The client is gone: it takes no turn any more. */
  clearQueueForHandler(handlerId: number): void {
    this.gone.add(handlerId)
    this.readers.delete(handlerId)
  }

  /** A client that left in the middle of its turn: end its statement and roll its transaction back, then give the turn up. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    // Its messages already handed in run (or are skipped) first.
    await this.tails.get(handlerId)?.catch(() => 0)
    this.tails.delete(handlerId)
    const turn = this.turn
    if (turn?.handlerId !== handlerId) return
    try {
      await this.db.runExclusive(async () => {
        // Its last statement may have ended the turn meanwhile, and another client have the next.
        if (this.turn !== turn) return
        await this.db.execProtocolRawStream(SYNC, { onRawData: () => undefined })
        if (this.db.isInTransaction()) await this.db.execProtocolRawStream(simpleQuery('ROLLBACK'), { onRawData: () => undefined })
      })
    } finally {
      this.endTurn(turn)
    }
  }

  stop(): void {
    this.stopped = true
    for (const abandon of this.waiting) abandon()
    this.waiting.clear()
  }
}

export interface EmbeddedSocketServer {
  readonly socketPath: string
  stop(): Promise<void>
}

/** Idle connections are closed after this long, so a client that hangs in a transaction cannot hold the server for ever. */
const IDLE_TIMEOUT_MS = 60_000
const MAX_CONNECTIONS = 32

/** Serves `db` on the Unix socket `socketPath` (its folder is made, a leftover socket file replaced: the caller holds the directory's lock). */
export async function serveOnSocket(db: PGlite, socketPath: string, onNotify: NotifyRelay): Promise<EmbeddedSocketServer> {
  // The socket asks for no password and reaches the whole database: only this user may enter its folder.
  // (chmod also fails on a folder someone else made, e.g. in the temporary directory.)
  mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 })
  chmodSync(path.dirname(socketPath), 0o700)
  rmSync(socketPath, { force: true })
  const gate = new SessionGate(db, onNotify)
  const handlers = new Set<PGLiteSocketHandler>()
  const server: Server = createServer((socket: Socket) => {
    if (handlers.size >= MAX_CONNECTIONS) {
      socket.destroy()
      return
    }
    // The handler frames messages, answers SSL and cancel requests; the gate decides whose turn it is.
    const handler = new PGLiteSocketHandler({ queryQueue: gate as never, closeOnDetach: true, idleTimeout: IDLE_TIMEOUT_MS })
    handlers.add(handler)
    const forget = () => { handlers.delete(handler) }
    handler.addEventListener('close', forget)
    handler.addEventListener('error', forget)
    handler.attach(socket).catch(() => {
      forget()
      socket.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    socketPath,
    stop: async () => {
      const closed = new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      gate.stop()
      await Promise.all([...handlers].map((handler) => handler.detach(true)))
      handlers.clear()
      await closed
      rmSync(socketPath, { force: true })
    },
  }
}
