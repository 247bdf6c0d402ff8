/**
 * The detector's parts without a database: its options, the registry of live transactions and the
 * edge check that keeps old and new edges apart, victim resolution, and the grace rule for victims
 * of other processes.
 */
import { describe, expect, it } from 'vitest'
import { createShardedDb, DistributedDeadlockError } from '../../src/index.js'
import type { DeadlockCycle } from '../../src/deadlock/cycle-search.js'
import { DEADLOCK_DEFAULTS, resolveDeadlockOptions } from '../../src/config/deadlock-options.js'
import { MAX_TRACKED_SESSIONS, TransactionRegistry, type DetectorSession } from '../../src/deadlock/transaction-registry.js'
import type { TransactionOwnership } from '../../src/deadlock/types.js'
import { doomLocalVictim, killQuerySql, MAX_PENDING_REMOTE_CYCLES, RemoteVictims } from '../../src/deadlock/victim-resolution.js'
import { fakeTx as fakeDetectorTx } from '../support/fake-detector-tx.js'

const SERVER = 'server:127.0.0.1:3306'

const fakeTx = (id: string, startedAt = 1_000) => fakeDetectorTx(id, startedAt)

function fakeSession(shard: string, connectionId: number): DetectorSession & { retired: Error | undefined } {
  const session = {
    shard,
    connectionId,
    retired: undefined as Error | undefined,
    retire: (reason: Error) => {
      session.retired = reason
    },
  }
  return session
}

describe('deadlock options', () => {
  it('defaults: on, 200 ms threshold, 250 ms poll, 2 s grace', () => {
    expect(resolveDeadlockOptions(undefined)).toEqual({ enabled: true, waitThresholdMs: 200, pollIntervalMs: 250, killOtherProcessVictimsAfterMs: 2_000 })
    expect(DEADLOCK_DEFAULTS.pollIntervalMs).toBe(250)
  })

  it.each([
    [{ pollIntervalMs: 100 }, /`deadlock\.pollIntervalMs`.*from 250/],
    [{ waitThresholdMs: 0 }, /`deadlock\.waitThresholdMs`/],
    [{ waitThresholdMs: 1.5 }, /`deadlock\.waitThresholdMs`/],
    [{ killOtherProcessVictimsAfterMs: -1 }, /`deadlock\.killOtherProcessVictimsAfterMs`/],
    [{ enabled: 'yes' }, /`deadlock\.enabled`.*boolean/],
    [{ pollIntervalMS: 300 }, /`deadlock\.pollIntervalMS`/],
  ])('refuses %j with a TypeError naming the option', (deadlock, message) => {
    expect(() => resolveDeadlockOptions(deadlock)).toThrow(TypeError)
    expect(() => resolveDeadlockOptions(deadlock)).toThrow(message)
  })

  it('refuses a null group and is validated by createShardedDb before any connection', () => {
    expect(() => resolveDeadlockOptions(null)).toThrow(/`deadlock`/)
    const shards = { '-80': 'mysql://app@127.0.0.1:1/a', '80-': 'mysql://app@127.0.0.1:1/b' }
    expect(() => createShardedDb({ shards, tables: {}, deadlock: { pollIntervalMs: 50 } })).toThrow(/`deadlock\.pollIntervalMs`/)
  })
})

describe('transaction registry', () => {
  it('tracks sessions and waits, and forgets a transaction once it holds neither', () => {
    const registry = new TransactionRegistry()
    const tx = fakeTx('t1')
    const session = fakeSession('-80', 11)
    registry.sessionOpened(tx, session, SERVER)
    const wait = registry.waitStarted(tx, '-80')!
    expect(registry.waiting().map((t) => t.tx.id)).toEqual(['t1'])
    expect(registry.longWaitCount).toBe(0)
    registry.markLong(wait)
    registry.markLong(wait) // counted once
    expect(registry.longWaitCount).toBe(1)
    expect(registry.longWaiting()).toHaveLength(1)
    registry.waitEnded(wait)
    registry.waitEnded(wait) // idempotent
    expect(registry.longWaitCount).toBe(0)
    expect(registry.ownerOf(SERVER, 11)?.owner.tx).toBe(tx)
    registry.sessionReleased(tx, session)
    expect(registry.ownerOf(SERVER, 11)).toBeUndefined()
    expect(registry.size).toBe(0)
  })

  it('does not watch a statement on a shard the transaction has no tracked session on', () => {
    const registry = new TransactionRegistry()
    expect(registry.waitStarted(fakeTx('t1'), '-80')).toBeUndefined()
  })

  it('a newer session on a reused connection id replaces the old one, and the old release does not remove it', () => {
    const registry = new TransactionRegistry()
    const [t1, t2] = [fakeTx('t1'), fakeTx('t2')]
    const [s1, s2] = [fakeSession('-80', 7), fakeSession('-80', 7)]
    registry.sessionOpened(t1, s1, SERVER)
    registry.sessionOpened(t2, s2, SERVER)
    registry.sessionReleased(t1, s1)
    expect(registry.ownerOf(SERVER, 7)?.owner.tx.id).toBe('t2')
  })

  it('keeps only edges still true for its own transactions', async () => {
    const registry = new TransactionRegistry()
    const [waiter, holder] = [fakeTx('w'), fakeTx('h')]
    registry.sessionOpened(waiter, fakeSession('-80', 1), SERVER)
    registry.sessionOpened(holder, fakeSession('-80', 2), SERVER)
    const wait = registry.waitStarted(waiter, '-80')!
    const readStartedAt = performance.now() + 1
    const edge = { shard: SERVER, waitingConnectionId: 1, blockingConnectionId: 2 }
    const outsider = { shard: SERVER, waitingConnectionId: 50, blockingConnectionId: 51 }
    expect(registry.currentEdges([edge, outsider], SERVER, readStartedAt)).toEqual([edge, outsider])
    // Read before the statement was sent: the server saw an earlier statement, not this wait.
    expect(registry.currentEdges([edge], SERVER, wait.startedAt - 1)).toEqual([])
    // The statement has ended since: the wait is over.
    registry.waitEnded(wait)
    expect(registry.currentEdges([edge], SERVER, readStartedAt)).toEqual([])
    // A blocker whose session was registered after the read began: the connection then belonged to
    // an earlier transaction, since released.
    registry.waitStarted(waiter, '-80')
    const readAt = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 2))
    registry.sessionOpened(fakeTx('late'), fakeSession('-80', 3), SERVER)
    const toLate = { shard: SERVER, waitingConnectionId: 1, blockingConnectionId: 3 }
    expect(registry.currentEdges([toLate], SERVER, readAt)).toEqual([])
    expect(registry.currentEdges([toLate], SERVER, performance.now())).toEqual([toLate])
  })

  it(`tracks at most ${MAX_TRACKED_SESSIONS} sessions and counts the rest`, () => {
    const registry = new TransactionRegistry()
    for (let i = 1; i <= MAX_TRACKED_SESSIONS + 5; i++) registry.sessionOpened(fakeTx(`t${i}`), fakeSession('-80', i), SERVER)
    expect(registry.overflow).toBe(5)
    expect(registry.size).toBe(MAX_TRACKED_SESSIONS)
    expect(registry.ownerOf(SERVER, MAX_TRACKED_SESSIONS + 1)).toBeUndefined()
  })
})

const member = (id: string, startedAt: number, processId = 'p1'): TransactionOwnership => ({
  transactionId: id,
  startedAt,
  processId,
  connections: [{ shard: '-80', connectionId: startedAt }],
})
const cycleOf = (...members: TransactionOwnership[]): DeadlockCycle => {
  const victim = members.reduce((v, m) => (m.startedAt > v.startedAt ? m : v))
  return { transactions: members, victim, edges: members.map(() => ({ shard: SERVER, waitingConnectionId: 1, blockingConnectionId: 2 })) }
}

describe('victim resolution', () => {
  it('dooms a local victim with DistributedDeadlockError and retires every session before anything is sent', () => {
    const registry = new TransactionRegistry()
    const tx = fakeTx('young', 2_000)
    const [s1, s2] = [fakeSession('-80', 21), fakeSession('80-', 22)]
    registry.sessionOpened(tx, s1, SERVER)
    registry.sessionOpened(tx, s2, 'server:other:3306')
    registry.waitStarted(tx, '80-')
    const kills = doomLocalVictim(registry.get('young')!, cycleOf(member('old', 1_000), member('young', 2_000)))
    expect(tx.doomed).toBeInstanceOf(DistributedDeadlockError)
    expect((tx.doomed as DistributedDeadlockError).cycle).toEqual(['old', 'young'])
    expect(s1.retired).toBe(tx.doomed)
    expect(s2.retired).toBe(tx.doomed)
    expect(kills).toEqual([
      { server: SERVER, connectionId: 21, busy: false },
      { server: 'server:other:3306', connectionId: 22, busy: true },
    ])
    expect(registry.get('young')!.victim).toBe(true)
  })

  it('a transaction already doomed by another error keeps that error, and its connections are still killed', () => {
    const registry = new TransactionRegistry()
    const tx = fakeTx('t', 2_000)
    const first = new Error('1213')
    tx.doom(first)
    const session = fakeSession('-80', 5)
    registry.sessionOpened(tx, session, SERVER)
    expect(doomLocalVictim(registry.get('t')!, cycleOf(member('o', 1), member('t', 2_000)))).toHaveLength(1)
    expect(session.retired).toBe(first)
  })

  it('KILL QUERY is validated like KILL CONNECTION', () => {
    expect(killQuerySql(42)).toBe('KILL QUERY 42')
    expect(() => killQuerySql(0)).toThrow(TypeError)
    expect(() => killQuerySql(1.5)).toThrow(TypeError)
  })
})

describe('victims of other processes', () => {
  const cycle = cycleOf(member('a', 1, 'p1'), member('b', 2, 'p2'))

  it('are due only on a second sighting and after the grace period', () => {
    const pending = new RemoteVictims()
    const seen = new Set<string>()
    expect(pending.observe(cycle, 0, 2_000, seen)).toBe(false) // first sighting
    expect(pending.observe(cycle, 1_000, 2_000, seen)).toBe(false) // second, within grace
    expect(pending.observe(cycle, 2_000, 2_000, seen)).toBe(true) // grace over
    expect(pending.size).toBe(0) // acted on once
  })

  it('with no grace still need a second read', () => {
    const pending = new RemoteVictims()
    expect(pending.observe(cycle, 0, 0, new Set())).toBe(false)
    expect(pending.observe(cycle, 0, 0, new Set())).toBe(true)
  })

  it('are forgotten when a round does not find them, so a passing cycle never accumulates time', () => {
    const pending = new RemoteVictims()
    pending.observe(cycle, 0, 2_000, new Set())
    pending.endRound(new Set())
    expect(pending.size).toBe(0)
    expect(pending.observe(cycle, 5_000, 2_000, new Set())).toBe(false) // a first sighting again
  })

  it(`track at most ${MAX_PENDING_REMOTE_CYCLES} cycles`, () => {
    const pending = new RemoteVictims()
    const seen = new Set<string>()
    for (let i = 0; i < MAX_PENDING_REMOTE_CYCLES + 10; i++) pending.observe(cycleOf(member(`x${i}`, 1, 'p1'), member(`y${i}`, 2, 'p2')), 0, 0, seen)
    expect(pending.size).toBe(MAX_PENDING_REMOTE_CYCLES)
  })
})
