import type { CodeLocation, TransactionFacts } from '../shared/errors.js'
import type { LockWaitEdge, ShardConnection } from './types.js'

/** What the detector needs from a transaction; `TransactionState` has it. */
export interface DetectorTransaction {
  readonly id: string
  /** Epoch ms; the youngest member of a cycle is the victim. */
  readonly startedAt: number
  readonly origin: CodeLocation | undefined
  readonly tables: ReadonlySet<string>
  /** Decides the transaction's fate (first error wins) and returns the error that won. */
  doom(err: Error): Error
  facts(): TransactionFacts
}

/** What the detector needs from one of its sessions; `ShardSession` has it. */
export interface DetectorSession {
  readonly shard: string
  /** `CONNECTION_ID()` of the session's connection. */
  readonly connectionId: number
  /** The connection is about to be killed: never hand it back to the pool (its id must not be reused under another transaction). */
  retire(reason: Error): void
}

/** A session of a live transaction, as the registry tracks it. */
export interface TrackedSession {
  readonly session: DetectorSession
  readonly owner: TrackedTransaction
  readonly server: string
  /** `performance.now()` when it was registered (after BEGIN): edges read before that are not about this transaction. */
  readonly openedAt: number
}

/** One statement that can wait on a row lock, from the moment it was sent until it settles. */
export interface LockWait {
  readonly owner: TrackedTransaction
  readonly shard: string
  /** `performance.now()` when the statement was sent. */
  readonly startedAt: number
  /** `Date.now()` when the statement was sent, for detection latency in events. */
  readonly startedAtEpoch: number
  /** True once it ran past `waitThresholdMs`. */
  long: boolean
  timer: NodeJS.Timeout | undefined
}

/** A live transaction of this process. */
export class TrackedTransaction {
  readonly tx: DetectorTransaction
  readonly sessions = new Map<string, TrackedSession>()
  readonly waits = new Set<LockWait>()
  /** `performance.now()` of the last publication to the ownership table; undefined = never published. */
  publishedAt: number | undefined
  /** A publication in flight; a withdrawal waits for it, so a late REPLACE never outlives the DELETE. */
  publishing: Promise<void> | undefined
  /** The withdrawal of the published rows, shared by all sessions that release after it started; no publication follows it. */
  withdrawal: Promise<boolean> | undefined
  /** Set when the detector chose it as a victim: its connections are being killed. */
  victim = false

  constructor(tx: DetectorTransaction) {
    this.tx = tx
  }

  /** Its connection on every shard, in shard order, for the ownership table and the graph. */
  connections(): ShardConnection[] {
    return [...this.sessions.values()]
      .map((s) => ({ shard: s.session.shard, connectionId: s.session.connectionId }))
      .sort((a, b) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : 0))
  }
}

/**
 * Sessions tracked at most. Sessions exist only while a pooled connection is held, so the pools
 * bound them (shards x pool.max); the cap only guards against a configuration with huge pools. An
 * untracked session's connection is unknown to the graph, which can miss a cycle, never invent one.
 */
export const MAX_TRACKED_SESSIONS = 65_536

const connectionKey = (server: string, connectionId: number): string => `${server}\u0000${connectionId}`

/**
 * The live transactions of one ShardedDb in this process: their sessions (shard, server,
 * connection id, when registered) and their in-flight lock-capable statements. Plain maps, updated
 * synchronously by the transaction core; never awaited, never locked.
 *
 * @example
 * ```ts
 * const registry = new TransactionRegistry()
 * registry.sessionOpened(tx, session, '127.0.0.1:3306')
 * const wait = registry.waitStarted(tx, '-80')
 * registry.waitEnded(wait!)
 * registry.sessionReleased(tx, session)
 * ```
 */
export class TransactionRegistry {
  readonly #byId = new Map<string, TrackedTransaction>()
  readonly #byConnection = new Map<string, TrackedSession>()
  #longWaits = 0
  /** Sessions not tracked because of {@link MAX_TRACKED_SESSIONS}. */
  overflow = 0

  get(transactionId: string): TrackedTransaction | undefined {
    return this.#byId.get(transactionId)
  }

  get size(): number {
    return this.#byId.size
  }

  /** Waits currently past the threshold; the detector runs while this is above zero. */
  get longWaitCount(): number {
    return this.#longWaits
  }

  sessionOpened(tx: DetectorTransaction, session: DetectorSession, server: string): void {
    if (this.#byConnection.size >= MAX_TRACKED_SESSIONS) {
      this.overflow++
      return
    }
    const owner = this.#track(tx)
    const tracked: TrackedSession = { session, owner, server, openedAt: performance.now() }
    owner.sessions.set(session.shard, tracked)
    // A newer session on the same connection (the old one was released first) replaces it.
    this.#byConnection.set(connectionKey(server, session.connectionId), tracked)
  }

  sessionReleased(tx: DetectorTransaction, session: DetectorSession): void {
    const owner = this.#byId.get(tx.id)
    const tracked = owner?.sessions.get(session.shard)
    if (owner === undefined || tracked?.session !== session) return
    owner.sessions.delete(session.shard)
    const key = connectionKey(tracked.server, session.connectionId)
    if (this.#byConnection.get(key) === tracked) this.#byConnection.delete(key)
    this.#forgetIfIdle(owner)
  }

  /** Starts tracking a statement that can wait on a row lock; undefined when the transaction has no tracked session there. */
  waitStarted(tx: DetectorTransaction, shard: string): LockWait | undefined {
    const owner = this.#byId.get(tx.id)
    if (owner === undefined || !owner.sessions.has(shard)) return undefined
    const wait: LockWait = { owner, shard, startedAt: performance.now(), startedAtEpoch: Date.now(), long: false, timer: undefined }
    owner.waits.add(wait)
    return wait
  }

  markLong(wait: LockWait): void {
    if (wait.long || !wait.owner.waits.has(wait)) return
    wait.long = true
    this.#longWaits++
  }

  waitEnded(wait: LockWait): void {
    if (!wait.owner.waits.delete(wait)) return
    if (wait.long) this.#longWaits--
    this.#forgetIfIdle(wait.owner)
  }

  /** Transactions with at least one statement in flight that can wait on a lock (of any duration). */
  waiting(): TrackedTransaction[] {
    return [...this.#byId.values()].filter((t) => t.waits.size > 0)
  }

  /** Transactions with a statement in flight for longer than the threshold. */
  longWaiting(): TrackedTransaction[] {
    return this.waiting().filter((t) => [...t.waits].some((w) => w.long))
  }

  ownerOf(server: string, connectionId: number): TrackedSession | undefined {
    return this.#byConnection.get(connectionKey(server, connectionId))
  }

  /**
   * Keeps the edges of one server's read that are still true for this process's transactions,
   * so the graph never joins an old edge to a new one. `readStartedAt` is `performance.now()` when
   * the read began. An edge whose waiting connection is ours is kept only if that connection's
   * transaction has a statement in flight on that shard that started before the read (the wait
   * the server reported, still going on); an edge whose blocking connection is ours only if that
   * session was registered before the read (else the connection then belonged to an earlier
   * transaction, since released). A transaction that is still open still holds its locks, so such
   * an edge still holds now. Connections of other processes pass untouched (see the confirmation
   * rule for their victims).
   */
  currentEdges(edges: readonly LockWaitEdge[], server: string, readStartedAt: number): LockWaitEdge[] {
    return edges.filter((edge) => {
      const waiting = this.ownerOf(server, edge.waitingConnectionId)
      if (waiting !== undefined) {
        const stillWaiting = [...waiting.owner.waits].some((w) => w.shard === waiting.session.shard && w.startedAt <= readStartedAt)
        if (!stillWaiting) return false
      }
      const blocking = this.ownerOf(server, edge.blockingConnectionId)
      return blocking === undefined || blocking.openedAt <= readStartedAt
    })
  }

  #track(tx: DetectorTransaction): TrackedTransaction {
    let owner = this.#byId.get(tx.id)
    if (owner === undefined) {
      owner = new TrackedTransaction(tx)
      this.#byId.set(tx.id, owner)
    }
    return owner
  }

  #forgetIfIdle(owner: TrackedTransaction): void {
    if (owner.sessions.size === 0 && owner.waits.size === 0 && this.#byId.get(owner.tx.id) === owner) this.#byId.delete(owner.tx.id)
  }
}
