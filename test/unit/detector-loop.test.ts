/**
 * The detector's rounds against scripted servers (no database): when it reads, what it decides,
 * what it sends (KILLs, ownership rows), what it logs, and when it stops.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { DistributedDeadlockError } from '../../src/index.js'
import { DeadlockDetector } from '../../src/deadlock/detector.js'
import type { ResolvedDeadlockOptions } from '../../src/config/deadlock-options.js'
import type { ServerAccess } from '../../src/deadlock/detector-servers.js'
import type { DetectorSession } from '../../src/deadlock/transaction-registry.js'
import type { LockWaitEdge } from '../../src/deadlock/types.js'
import { captureLogger } from '../faults/capture-logger.js'
import { fakeTx as fakeDetectorTx } from '../support/fake-detector-tx.js'

const SERVER = 'server:db:3306'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves once `condition` holds; a test that never gets there fails on the test timeout. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5)
}

/** One server holding every shard, whose lock views say whatever `edges` says now. */
class ScriptedServer implements ServerAccess {
  edges: LockWaitEdge[] = []
  /** Rows of the ownership table, by transaction id. */
  readonly published = new Map<string, unknown[]>()
  readonly statements: string[] = []
  reads = 0
  readError: (Error & { errno?: number }) | undefined
  closed = false

  serverOf(): string {
    return SERVER
  }

  async run(_server: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    this.statements.push(sql.split('\n', 1)[0]!)
    if (sql.startsWith('REPLACE')) this.published.set(String(params[0]), params)
    if (sql.startsWith('DELETE') && sql.includes('transaction_id = ?')) this.published.delete(String(params[0]))
    if (sql.startsWith('SELECT transaction_id, started_at')) {
      return [...this.published.values()].flatMap((p) => {
        const rows: Record<string, unknown>[] = []
        for (let i = 0; i < p.length; i += 5)
          rows.push({ transaction_id: p[i], started_at: p[i + 1], process_id: p[i + 2], shard: p[i + 3], connection_id: p[i + 4] })
        return rows
      })
    }
    return []
  }

  async readLockWaits(): Promise<{ edges: LockWaitEdge[]; startedAt: number }> {
    this.reads++
    await sleep(1)
    if (this.readError) throw this.readError
    return { edges: [...this.edges], startedAt: performance.now() }
  }

  async close(): Promise<void> {
    this.closed = true
  }

  kills(): string[] {
    return this.statements.filter((s) => s.startsWith('KILL'))
  }
}

const fakeTx = (id: string, startedAt: number) => fakeDetectorTx(id, startedAt, { file: 'app.ts', line: 3, column: 9 })

const session = (shard: string, connectionId: number): DetectorSession & { retired?: Error } => {
  const s: DetectorSession & { retired?: Error } = {
    shard,
    connectionId,
    retire: (reason) => {
      s.retired = reason
    },
  }
  return s
}
const edge = (waiting: number, blocking: number): LockWaitEdge => ({
  shard: SERVER,
  waitingConnectionId: waiting,
  blockingConnectionId: blocking,
  table: 'accounts',
})

let detector: DeadlockDetector | undefined
afterEach(async () => {
  await detector?.stop()
  detector = undefined
})

function start(options: Partial<ResolvedDeadlockOptions> = {}, processId = 'me') {
  const server = new ScriptedServer()
  const logger = captureLogger()
  detector = new DeadlockDetector({
    options: { enabled: true, waitThresholdMs: 5, pollIntervalMs: 250, killOtherProcessVictimsAfterMs: 0, ...options },
    logger,
    processId,
    coordinator: '-80',
    servers: server,
  })
  return { detector, server, logger }
}

/** Two transactions of this process, each holding one shard and waiting on the other: a cycle. */
function localCycle(d: DeadlockDetector, server: ScriptedServer) {
  const [older, younger] = [fakeTx('tx-a', 1_000), fakeTx('tx-b', 2_000)]
  const sessions = { a1: session('-80', 11), a2: session('80-', 12), b1: session('-80', 21), b2: session('80-', 22) }
  d.sessionOpened(older, sessions.a1)
  d.sessionOpened(older, sessions.a2)
  d.sessionOpened(younger, sessions.b1)
  d.sessionOpened(younger, sessions.b2)
  server.edges = [edge(12, 22), edge(21, 11)] // a waits on 80- for b; b waits on -80 for a
  const watches = [d.watch(older, '80-'), d.watch(younger, '-80')]
  return { older, younger, sessions, watches }
}

describe('deadlock detector rounds', () => {
  it('reads nothing while nothing waits past the threshold', async () => {
    const { detector: d, server } = start({ waitThresholdMs: 50 })
    const tx = fakeTx('t', 1)
    d.sessionOpened(tx, session('-80', 5))
    for (let i = 0; i < 20; i++) d.watch(tx, '-80').end() // statements that finish at once
    await sleep(100)
    expect(server.reads).toBe(0)
    expect(d.stats()).toMatchObject({ rounds: 0, reads: 0, waitingNow: 0 })
  })

  it('breaks a local cycle: dooms the youngest, kills its connections (KILL QUERY where a statement runs), logs one event', async () => {
    const { detector: d, server, logger } = start()
    const { older, younger, sessions } = localCycle(d, server)
    await until(() => server.kills().length === 3)
    expect(younger.doomed).toBeInstanceOf(DistributedDeadlockError)
    expect(older.doomed).toBeUndefined()
    expect(sessions.b1.retired).toBe(younger.doomed)
    expect(sessions.b2.retired).toBe(younger.doomed)
    expect(server.kills().sort()).toEqual(['KILL CONNECTION 21', 'KILL CONNECTION 22', 'KILL QUERY 21'])
    const events = logger.events('shardtx.distributed_deadlock')
    expect(events).toHaveLength(1)
    expect(events[0]!.obj).toMatchObject({
      victim: 'tx-b',
      resolution: 'rolled back here',
      shards: ['-80', '80-'],
      tables: ['accounts'],
      origins: ['app.ts:3:9'],
    })
    expect(d.stats()).toMatchObject({ detections: 1, victimsKilledLocally: 1, victimsKilledForOtherProcesses: 0 })
    // Waits among our own transactions only: nothing published, the ownership table never touched.
    expect(server.statements.filter((s) => /shardtx_lock_waiters/.test(s))).toEqual([])
  })

  it('keeps running while anything waits, and a found victim is not killed twice', async () => {
    const { detector: d, server } = start()
    const { watches } = localCycle(d, server)
    await until(() => d.stats().rounds >= 3)
    expect(server.kills()).toHaveLength(3)
    for (const w of watches) w.end()
    const rounds = d.stats().rounds
    await sleep(600)
    expect(d.stats().rounds).toBeLessThanOrEqual(rounds + 1) // stops once nobody waits
    expect(d.stats().waitingNow).toBe(0)
  })

  it('never kills for a wait behind a connection it does not know; publishes the waiter and withdraws it on release', async () => {
    const { detector: d, server } = start()
    const tx = fakeTx('t', 1)
    const s = session('-80', 5)
    d.sessionOpened(tx, s)
    server.edges = [edge(5, 99), edge(99, 5)] // even a "cycle" through an outsider is not ours to break
    const watch = d.watch(tx, '-80')
    await until(() => server.published.has('t') && d.stats().rounds >= 2)
    expect(server.kills()).toEqual([])
    expect(tx.doomed).toBeUndefined()
    watch.end()
    const released = d.sessionReleasing(tx, s)
    expect(released).not.toBe(true) // it was published: the release waits for the withdrawal
    expect(await released).toBe(true)
    expect(server.published.has('t')).toBe(false)
  })

  it('releases at once, without a statement, a session whose transaction never published', () => {
    const { detector: d, server } = start()
    const tx = fakeTx('t', 1)
    const s = session('-80', 5)
    d.sessionOpened(tx, s)
    expect(d.sessionReleasing(tx, s)).toBe(true)
    expect(server.statements).toEqual([])
  })

  it('leaves a victim of another process to it, then kills it on a later read once the grace period is over', async () => {
    const { detector: d, server, logger } = start({ killOtherProcessVictimsAfterMs: 300 })
    const mine = fakeTx('tx-mine', 1_000)
    d.sessionOpened(mine, session('-80', 11))
    d.sessionOpened(mine, session('80-', 12))
    // The other process's younger transaction published its connections 31 and 32.
    server.published.set('tx-theirs', ['tx-theirs', 2_000, 'them', '-80', 31, 'tx-theirs', 2_000, 'them', '80-', 32])
    server.edges = [edge(12, 32), edge(31, 11)]
    d.watch(mine, '80-')
    await until(() => d.stats().rounds >= 2)
    expect(server.kills()).toEqual([]) // first sightings, within the grace period
    await until(() => server.kills().length === 4)
    expect(server.kills().sort()).toEqual(['KILL CONNECTION 31', 'KILL CONNECTION 32', 'KILL QUERY 31', 'KILL QUERY 32'])
    expect(mine.doomed).toBeUndefined()
    expect(d.stats()).toMatchObject({ detections: 1, victimsKilledLocally: 0, victimsKilledForOtherProcesses: 1 })
    expect(logger.events('shardtx.distributed_deadlock')[0]!.obj).toMatchObject({ resolution: 'killed for another process', victim: 'tx-theirs' })
  })

  it('without the PROCESS privilege (1227): one warning, detection off for that server, no crash', async () => {
    const { detector: d, server, logger } = start()
    server.readError = Object.assign(new Error('Access denied; you need (at least one of) the PROCESS privilege(s) for this operation'), { errno: 1227 })
    const tx = fakeTx('t', 1)
    d.sessionOpened(tx, session('-80', 5))
    const watch = d.watch(tx, '-80')
    await until(() => d.stats().rounds >= 3)
    watch.end()
    expect(server.reads).toBe(1) // never read again
    expect(logger.events('shardtx.deadlock_detection_disabled')).toHaveLength(1)
    expect(d.stats()).toMatchObject({ readErrors: 1, serversDisabled: ['db:3306'] })
  })

  it('other read failures are counted and logged at most once a minute', async () => {
    const { detector: d, server, logger } = start()
    server.readError = Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })
    const tx = fakeTx('t', 1)
    d.sessionOpened(tx, session('-80', 5))
    const watch = d.watch(tx, '-80')
    await until(() => d.stats().readErrors >= 3)
    watch.end()
    expect(logger.events('shardtx.deadlock_read_failed')).toHaveLength(1)
    expect(d.stats().serversDisabled).toEqual([])
  })

  it('when disabled, watches nothing and registers nothing', async () => {
    const { detector: d, server } = start({ enabled: false })
    const tx = fakeTx('t', 1)
    expect(d.sessionObserver(tx)).toBeUndefined()
    d.sessionOpened(tx, session('-80', 5))
    d.watch(tx, '-80')
    await sleep(50)
    expect(server.reads).toBe(0)
    expect(d.stats()).toMatchObject({ enabled: false, rounds: 0, waitingNow: 0 })
  })

  it('stop() ends the loop and closes the detector connections; later watches do nothing', async () => {
    const { detector: d, server } = start()
    localCycle(d, server)
    await until(() => d.stats().rounds >= 1)
    await d.stop()
    expect(server.closed).toBe(true)
    const rounds = d.stats().rounds
    d.watch(fakeTx('late', 3), '-80')
    await sleep(300)
    expect(d.stats().rounds).toBe(rounds)
  })
})
