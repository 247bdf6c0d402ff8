import { formatLocation } from '../shared/errors.js'
import type { ShardtxLogger } from '../shared/logger.js'
import { findDeadlocks, type DeadlockCycle } from './cycle-search.js'
import { describeDeadlock } from './detection-event.js'
import type { DeadlockStats } from './detector-events.js'
import type { ResolvedDeadlockOptions } from '../config/deadlock-options.js'
import { runnerOf, type ServerAccess } from './detector-servers.js'
import { killConnectionSql } from './kill.js'
import {
  cleanStaleOwnerships,
  DEFAULT_OWNERSHIP_MAX_AGE_SECONDS,
  ensureLockWaitersTable,
  LOCK_WAITERS_TABLE,
  publishOwnership,
  readOwnerships,
  withdrawOwnership,
} from './ownership-registry.js'
import { TransactionRegistry, type DetectorSession, type DetectorTransaction, type TrackedTransaction } from './transaction-registry.js'
import type { LockWaitEdge, TransactionOwnership } from './types.js'
import { doomLocalVictim, killQuerySql, RemoteVictims, type ConnectionOnServer } from './victim-resolution.js'
import { WaitWatch, type WaitHandle } from './wait-watch.js'
import { buildWaitForGraph } from './wait-for-graph.js'

export interface DetectorSetup {
  options: ResolvedDeadlockOptions
  logger: ShardtxLogger
  /** This process's tag: ownership rows carry it, and a victim carrying it is ours to roll back. */
  processId: string
  /** The coordinator shard (first in canonical order): it holds the ownership table. */
  coordinator: string
  servers: ServerAccess
}

/** Re-publish a waiting transaction this often, well within the age after which readers ignore rows. */
const REPUBLISH_MS = (DEFAULT_OWNERSHIP_MAX_AGE_SECONDS * 1000) / 2
/** Stale ownership rows (of processes that died) are cleaned at most this often, and only while detection runs. */
const CLEANUP_INTERVAL_MS = 30_000
/** Victims remembered so that a deadlock found again while its victim is being killed counts once. */
const MAX_RECENT_VICTIMS = 4_096
/** The same kind of failure is logged at most once per this interval per server. */
const LOG_INTERVAL_MS = 60_000
/** MariaDB/MySQL: "Access denied; you need (at least one of) the PROCESS privilege(s)". */
const ER_SPECIFIC_ACCESS_DENIED = 1227
/** "Unknown thread id": the connection to kill is already gone. */
const ER_NO_SUCH_THREAD = 1094

const NOT_WATCHED: WaitHandle = Object.freeze({ end() {} })

/** The calls a session makes to the detector (the shape of the transaction core's `SessionObserver`). */
export interface SessionHooks {
  opened(session: DetectorSession): void
  releasing(session: DetectorSession): true | Promise<boolean>
}

/**
 * The distributed deadlock detector of one ShardedDb (docs/deadlock.md).
 *
 * Costs nothing but a timer per lock-capable statement while nothing waits. Once a statement has
 * waited `waitThresholdMs`, rounds run, one at a time, every `pollIntervalMs` (and at once when
 * another wait passes the threshold) until no statement waits any more. A round publishes the
 * ownership of this process's long waiters, reads the lock waits of every server concerned (each
 * at most every 250 ms, process-wide), then the ownerships other processes published, builds the
 * wait-for graph and breaks each cycle by its youngest member: this process's victims at once,
 * other processes' only after the grace period and a second sighting.
 *
 * Nothing here holds a lock or blocks a statement: statements run beside the rounds, and a round
 * touches shared state only in synchronous steps between awaits.
 *
 * @example
 * ```ts
 * const detector = new DeadlockDetector({ options, logger, processId: PROCESS_TAG, coordinator: '-80', servers })
 * detector.sessionOpened(tx, session)
 * const watch = detector.watch(tx, '-80')
 * try { await statement } finally { watch.end() }
 * ```
 */
export class DeadlockDetector {
  readonly registry = new TransactionRegistry()
  readonly #setup: DetectorSetup
  readonly #watch: WaitWatch
  readonly #remote = new RemoteVictims()
  readonly #recentVictims = new Set<string>()
  readonly #disabled = new Map<string, string>()
  readonly #lastLogged = new Map<string, number>()
  readonly #counts = {
    detections: 0,
    victimsKilledLocally: 0,
    victimsKilledForOtherProcesses: 0,
    rounds: 0,
    reads: 0,
    readErrors: 0,
    ownershipErrors: 0,
    killErrors: 0,
    graphTruncations: 0,
  }
  /** Servers where other processes' waiting transactions had connections in the previous round. */
  #remoteServers = new Set<string>()
  #table: { ready: Promise<boolean>; at: number } | undefined
  #lastCleanup = Number.NEGATIVE_INFINITY
  #loop: Promise<void> | undefined
  #interrupt: (() => void) | undefined
  #stopped = false

  constructor(setup: DetectorSetup) {
    this.#setup = setup
    this.#watch = new WaitWatch(this.registry, setup.options.waitThresholdMs, () => this.wake())
  }

  get enabled(): boolean {
    return this.#setup.options.enabled
  }

  /** Called for every statement that can wait on a row lock, on the transaction's session on `shard`. */
  watch(tx: DetectorTransaction, shard: string): WaitHandle {
    if (!this.#setup.options.enabled || this.#stopped) return NOT_WATCHED
    return this.#watch.start(tx, shard)
  }

  /** What a transaction hands to the sessions it opens; undefined (no calls at all) when detection is off. */
  sessionObserver(tx: DetectorTransaction): SessionHooks | undefined {
    if (!this.#setup.options.enabled) return undefined
    return {
      opened: (session) => this.sessionOpened(tx, session),
      releasing: (session) => this.sessionReleasing(tx, session),
    }
  }

  sessionOpened(tx: DetectorTransaction, session: DetectorSession): void {
    if (!this.#setup.options.enabled) return
    this.registry.sessionOpened(tx, session, this.#setup.servers.serverOf(session.shard))
  }

  /**
   * Called before a session's connection goes back to the pool (or is closed). If the transaction
   * published its ownership, the rows are withdrawn first: a row that outlived its transaction
   * would map a reused connection id to the wrong transaction. Resolves false when the withdrawal
   * failed: the connection must then be closed instead of reused. `true` (synchronously) when
   * nothing was published, the common case.
   */
  sessionReleasing(tx: DetectorTransaction, session: DetectorSession): true | Promise<boolean> {
    const owner = this.registry.get(tx.id)
    if (owner === undefined || owner.publishedAt === undefined) {
      this.registry.sessionReleased(tx, session)
      return true
    }
    owner.withdrawal ??= this.#withdraw(owner)
    return owner.withdrawal.then((ok) => {
      this.registry.sessionReleased(tx, session)
      return ok
    })
  }

  /** Starts a detection loop if none runs, or cuts the current pause short. */
  wake(): void {
    if (this.#stopped) return
    if (this.#loop !== undefined) {
      this.#interrupt?.()
      return
    }
    this.#loop = this.#run().finally(() => {
      this.#loop = undefined
      if (!this.#stopped && this.registry.longWaitCount > 0) this.wake()
    })
  }

  stats(): DeadlockStats {
    return {
      enabled: this.#setup.options.enabled,
      ...this.#counts,
      registryOverflow: this.registry.overflow,
      serversDisabled: [...this.#disabled.keys()].map(label).sort(),
      waitingNow: this.registry.longWaitCount,
    }
  }

  /** Stops the loop (a round in flight finishes: its statements are bounded) and closes the detector's connections. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#interrupt?.()
    await this.#loop
    await this.#setup.servers.close()
  }

  async #run(): Promise<void> {
    while (!this.#stopped && this.registry.longWaitCount > 0) {
      const started = performance.now()
      try {
        await this.#round()
      } catch (err) {
        this.#logLimited(
          'round',
          'error',
          { event: 'shardtx.internal_error', error: describe(err) },
          'shardtx: a deadlock detection round failed; the next one runs as planned',
        )
      }
      if (this.#stopped || this.registry.longWaitCount === 0) break
      await this.#pause(this.#setup.options.pollIntervalMs - (performance.now() - started))
    }
  }

  #pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      timer.unref()
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#interrupt = () => {
        this.#interrupt = undefined
        done()
      }
    })
  }

  /** One detection round. Awaits only the network; every decision is taken in one synchronous step. */
  async #round(): Promise<void> {
    this.#counts.rounds++
    const servers = this.#serversConcerned()
    const reads = await Promise.all(servers.map((server) => this.#read(server)))
    // The cross-process part costs two statements on the coordinator per round and two per
    // waiting transaction; it is needed only when one of our transactions waits for, or is waited
    // on by, a connection this process does not know (another process's transaction, or any
    // other client). Waits among our own transactions are fully known here.
    let remote: TransactionOwnership[] = []
    let publishing: Promise<void> | undefined
    let cleanup: Promise<void> | undefined
    if (this.#touchesStrangers(reads)) {
      const crossProcess = this.#tableReady()
      publishing = this.#publish(this.registry.longWaiting(), crossProcess)
      // Ownerships after the edges: a connection seen waiting was owned by a live transaction when
      // read, and its owner withdraws before releasing it, so the rows read now are at least as new.
      if (await crossProcess) remote = await this.#readRemoteOwnerships()
      cleanup = this.#cleanup(crossProcess)
    } else {
      this.#remoteServers = new Set()
    }
    const actions = this.#decide(reads, remote)
    await Promise.all([publishing, ...actions, cleanup])
  }

  /** True when an edge joins a connection of ours to one this process does not know. */
  #touchesStrangers(reads: readonly { server: string; edges: readonly LockWaitEdge[] }[]): boolean {
    return reads.some(({ server, edges }) =>
      edges.some(
        (e) => (this.registry.ownerOf(server, e.waitingConnectionId) === undefined) !== (this.registry.ownerOf(server, e.blockingConnectionId) === undefined),
      ),
    )
  }

  #serversConcerned(): string[] {
    const servers = new Set(this.#remoteServers)
    for (const owner of this.registry.waiting()) for (const s of owner.sessions.values()) servers.add(s.server)
    for (const disabled of this.#disabled.keys()) servers.delete(disabled)
    return [...servers]
  }

  async #read(server: string): Promise<{ server: string; edges: LockWaitEdge[]; startedAt: number }> {
    this.#counts.reads++
    try {
      return { server, ...(await this.#setup.servers.readLockWaits(server)) }
    } catch (err) {
      this.#counts.readErrors++
      if ((err as { errno?: unknown }).errno === ER_SPECIFIC_ACCESS_DENIED) this.#disable(server, err)
      else
        this.#logLimited(
          `read ${server}`,
          'warn',
          { event: 'shardtx.deadlock_read_failed', server: label(server), error: describe(err) },
          `shardtx: could not read the lock waits of ${label(server)}; deadlock detection there resumes with the next round`,
        )
      return { server, edges: [], startedAt: performance.now() }
    }
  }

  #disable(server: string, err: unknown): void {
    if (this.#disabled.has(server)) return
    const message =
      `shardtx: distributed deadlock detection is OFF for server ${label(server)}: its lock views (INFORMATION_SCHEMA.INNODB_LOCK_WAITS, ` +
      `performance_schema.data_lock_waits) need the PROCESS privilege, which the configured user lacks (error 1227). ` +
      `Cross-shard deadlocks there end only by innodb_lock_wait_timeout. Fix: GRANT PROCESS ON *.* TO the shard user, then restart.`
    this.#disabled.set(server, message)
    this.#setup.logger.warn({ event: 'shardtx.deadlock_detection_disabled', server: label(server), error: describe(err) }, message)
  }

  /** The ownership table exists (created once); false disables the cross-process part for a minute. */
  #tableReady(): Promise<boolean> {
    const now = performance.now()
    if (this.#table === undefined || now - this.#table.at > LOG_INTERVAL_MS) {
      const previous = this.#table
      const ready = previous !== undefined ? previous.ready.then((ok) => ok || this.#createTable()) : this.#createTable()
      this.#table = { ready, at: now }
    }
    return this.#table.ready
  }

  async #createTable(): Promise<boolean> {
    const run = this.#coordinatorRunner()
    try {
      await ensureLockWaitersTable(run)
      return true
    } catch (err) {
      // CREATE TABLE IF NOT EXISTS needs CREATE even when the table exists: a table an operator
      // created beforehand for a user without CREATE is fine.
      if (
        await run(`SELECT 1 FROM ${LOCK_WAITERS_TABLE} LIMIT 0`).then(
          () => true,
          () => false,
        )
      )
        return true
      this.#counts.ownershipErrors++
      this.#logLimited(
        'table',
        'warn',
        { event: 'shardtx.deadlock_ownership_unavailable', shard: this.#setup.coordinator, error: describe(err) },
        `shardtx: cannot create or use the ownership table on coordinator shard ${this.#setup.coordinator}; deadlocks across processes are not detected until it works (deadlocks within this process still are)`,
      )
      return false
    }
  }

  #coordinatorRunner() {
    const { servers, coordinator } = this.#setup
    return runnerOf(servers, servers.serverOf(coordinator))
  }

  async #publish(long: TrackedTransaction[], crossProcess: Promise<boolean>): Promise<void> {
    const now = performance.now()
    const due = long.filter(
      (t) => t.withdrawal === undefined && !t.victim && t.sessions.size > 0 && (t.publishedAt === undefined || now - t.publishedAt >= REPUBLISH_MS),
    )
    if (due.length === 0 || !(await crossProcess)) return
    const run = this.#coordinatorRunner()
    await Promise.all(
      due.map((owner) => {
        // It may have ended while the table was being checked.
        if (owner.withdrawal !== undefined || owner.sessions.size === 0 || this.registry.get(owner.tx.id) !== owner) return undefined
        owner.publishedAt = performance.now()
        const publishing = publishOwnership(run, this.#ownershipOf(owner)).catch((err: unknown) => {
          this.#counts.ownershipErrors++
          this.#logLimited(
            'publish',
            'warn',
            { event: 'shardtx.deadlock_ownership_failed', action: 'publish', error: describe(err) },
            'shardtx: could not publish a waiting transaction to the ownership table; other processes may not see its deadlocks',
          )
        })
        owner.publishing = publishing
        return publishing
      }),
    )
  }

  async #withdraw(owner: TrackedTransaction): Promise<boolean> {
    await owner.publishing
    try {
      await withdrawOwnership(this.#coordinatorRunner(), owner.tx.id)
      return true
    } catch (err) {
      this.#counts.ownershipErrors++
      this.#logLimited(
        'withdraw',
        'warn',
        { event: 'shardtx.deadlock_ownership_failed', action: 'withdraw', error: describe(err) },
        'shardtx: could not withdraw a finished transaction from the ownership table; its connections are closed instead of reused',
      )
      return false
    }
  }

  async #readRemoteOwnerships(): Promise<TransactionOwnership[]> {
    try {
      const rows = await readOwnerships(this.#coordinatorRunner())
      const remote = rows.filter((o) => o.processId !== this.#setup.processId)
      this.#remoteServers = new Set(remote.flatMap((o) => o.connections.map((c) => this.#setup.servers.serverOf(c.shard))))
      return remote
    } catch (err) {
      this.#counts.ownershipErrors++
      this.#logLimited(
        'read ownerships',
        'warn',
        { event: 'shardtx.deadlock_ownership_failed', action: 'read', error: describe(err) },
        'shardtx: could not read the ownership table; deadlocks across processes are not detected this round',
      )
      return []
    }
  }

  #cleanup(crossProcess: Promise<boolean>): Promise<void> | undefined {
    if (performance.now() - this.#lastCleanup < CLEANUP_INTERVAL_MS) return undefined
    this.#lastCleanup = performance.now()
    return crossProcess.then(async (ok) => {
      if (ok)
        await cleanStaleOwnerships(this.#coordinatorRunner()).catch(() => {
          this.#counts.ownershipErrors++
        })
    })
  }

  #ownershipOf(owner: TrackedTransaction): TransactionOwnership {
    return {
      transactionId: owner.tx.id,
      startedAt: owner.tx.startedAt,
      processId: this.#setup.processId,
      connections: owner.connections(),
      origin: formatLocation(owner.tx.origin),
    }
  }

  /**
   * The synchronous heart of a round: keep the edges that are still true for our transactions,
   * build the graph from them, our waiting transactions and the others' published ones, and act on
   * each cycle. Returns the KILLs in flight.
   */
  #decide(reads: { server: string; edges: LockWaitEdge[]; startedAt: number }[], remote: TransactionOwnership[]): Promise<void>[] {
    const edges = reads.flatMap((r) => this.registry.currentEdges(r.edges, r.server, r.startedAt))
    if (edges.length === 0) {
      this.#remote.endRound(new Set())
      return []
    }
    const local = this.registry
      .waiting()
      .filter((t) => !t.victim)
      .map((t) => this.#ownershipOf(t))
    const graph = buildWaitForGraph(edges, [...local, ...remote], { serverOf: (s) => this.#setup.servers.serverOf(s) })
    const { cycles, truncated } = findDeadlocks(graph)
    if (graph.truncated || truncated) this.#counts.graphTruncations++
    const actions: Promise<void>[] = []
    const seen = new Set<string>()
    for (const cycle of cycles) {
      const victimId = cycle.victim.transactionId
      if (!this.#recentVictims.has(victimId)) {
        this.#counts.detections++
        if (this.#recentVictims.size >= MAX_RECENT_VICTIMS) this.#recentVictims.delete(this.#recentVictims.values().next().value!)
        this.#recentVictims.add(victimId)
      }
      if (cycle.victim.processId === this.#setup.processId) {
        const owner = this.registry.get(victimId)
        if (owner === undefined || owner.victim || owner.waits.size === 0) continue
        this.#report(cycle, 'rolled back here')
        this.#counts.victimsKilledLocally++
        actions.push(this.#kill(doomLocalVictim(owner, cycle)))
      } else if (this.#remote.observe(cycle, performance.now(), this.#setup.options.killOtherProcessVictimsAfterMs, seen)) {
        this.#report(cycle, 'killed for another process')
        this.#counts.victimsKilledForOtherProcesses++
        actions.push(
          this.#kill(cycle.victim.connections.map((c) => ({ server: this.#setup.servers.serverOf(c.shard), connectionId: c.connectionId, busy: true }))),
        )
      }
    }
    this.#remote.endRound(seen)
    return actions
  }

  #report(cycle: DeadlockCycle, resolution: 'rolled back here' | 'killed for another process'): void {
    const event = describeDeadlock(cycle, this.registry, (s) => this.#setup.servers.serverOf(s), resolution)
    this.#setup.logger.warn(
      event,
      `shardtx: distributed deadlock among ${event.transactions.length} transactions on shards [${event.shards.join(', ')}] ` +
        `(tables [${event.tables.join(', ')}]); victim ${event.victim} ${resolution} after ${Math.round(event.detectionLatencyMs)} ms`,
    )
  }

  /**
   * Rolls each victim connection back, from the detector's own connection to its server (never the
   * victim's). `KILL QUERY` first: the blocked statement then fails with 1317, an answer from a live
   * server, instead of a lost connection, which the shard's health guard would rightly take for a
   * suspicion and probe the shard. `KILL CONNECTION` right after is what rolls the transaction
   * back and frees its locks: `KILL QUERY` alone would leave it open, holding them (measured on MariaDB 10.11).
   */
  async #kill(targets: ConnectionOnServer[]): Promise<void> {
    await Promise.all(
      targets.map(async ({ server, connectionId, busy }) => {
        try {
          // An idle connection has no statement to interrupt; killing it reaches nobody's statement.
          if (busy) {
            await this.#setup.servers.run(server, killQuerySql(connectionId)).catch((err: unknown) => {
              if ((err as { errno?: unknown }).errno !== ER_NO_SUCH_THREAD) throw err
            })
          }
          await this.#setup.servers.run(server, killConnectionSql(connectionId))
        } catch (err) {
          if ((err as { errno?: unknown }).errno === ER_NO_SUCH_THREAD) return
          this.#counts.killErrors++
          this.#logLimited(
            `kill ${server}`,
            'warn',
            { event: 'shardtx.deadlock_kill_failed', server: label(server), connectionId, error: describe(err) },
            `shardtx: KILL CONNECTION ${connectionId} on ${label(server)} failed; killing another user's connection needs CONNECTION ADMIN or SUPER`,
          )
        }
      }),
    )
  }

  #logLimited(key: string, level: 'warn' | 'error', event: object, message: string): void {
    const now = performance.now()
    const last = this.#lastLogged.get(key)
    if (last !== undefined && now - last < LOG_INTERVAL_MS) return
    if (this.#lastLogged.size > 1_000) this.#lastLogged.clear()
    this.#lastLogged.set(key, now)
    this.#setup.logger[level](event, message)
  }
}

/** A server key without its prefix, for messages. */
function label(server: string): string {
  return server.replace(/^server:/, '')
}

function describe(err: unknown): { code?: string; errno?: number; message: string } {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown } | null
  const out: { code?: string; errno?: number; message: string } = { message: typeof e?.message === 'string' ? e.message : String(err) }
  if (typeof e?.code === 'string') out.code = e.code
  if (typeof e?.errno === 'number') out.errno = e.errno
  return out
}
