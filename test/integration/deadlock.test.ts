/**
 * The distributed deadlock detector on real shards (four databases of the test server): cycles of
 * two and three transactions, several at once, and the waits that are NOT deadlocks (behind a slow
 * transaction that does not wait, behind a connection that is not shardtx, a cycle through an
 * outsider), plus a user without the PROCESS privilege.
 */
import { randomBytes } from 'node:crypto'
import mysql from 'mysql2/promise'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createShardedDb, DistributedDeadlockError, keyrangeNames, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { captureLogger } from '../faults/capture-logger.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { adminConnection } from '../support/test-server.js'
import { keysPerShard, lockCycle, within, WARN_REASON } from './deadlock-support.js'

/** A missed cycle would wait for innodb_lock_wait_timeout (50 s); fail well before that, clearly. */
const BOUND_MS = 20_000
const START_BALANCE = 1_000

let t: TestShards
const opened: ShardedDb[] = []
let keys: Map<string, number[]>
/** `key(shardIndex, n)`: the n-th account id on the shard of that index in canonical order. */
let key: (shard: number, n?: number) => number

function open(options: Partial<ShardedDbOptions> = {}) {
  const logger = captureLogger()
  const db = createShardedDb({ shards: t.shards, tables: { accounts: { shardKey: 'id' } }, logger, ...options })
  opened.push(db)
  return { db, logger }
}

async function balances(): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  for (const shard of t.names) for (const row of await t.query(shard, 'SELECT id, balance FROM accounts')) out.set(Number(row.id), Number(row.balance))
  return out
}

beforeAll(async () => {
  t = await createTestShards({ names: keyrangeNames(4) })
  await t.execAll('CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB')
  const probe = createShardedDb({ shards: t.shards, tables: { accounts: { shardKey: 'id' } } })
  keys = keysPerShard(probe, 8)
  await probe.destroy()
  const names = [...keys.keys()]
  key = (shard, n = 0) => keys.get(names[shard]!)![n]!
})
beforeEach(async () => {
  for (const [shard, ids] of keys) {
    await t.query(shard, 'DELETE FROM accounts')
    await t.query(shard, `INSERT INTO accounts (id, balance) VALUES ${ids.map((id) => `(${id}, ${START_BALANCE})`).join(', ')}`)
  }
})
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.destroy()))
})
afterAll(() => t.drop())

/** Balances after a cycle whose members at `committed` indexes committed once and the others not at all. */
function expectedAfterCycle(ring: readonly number[], committed: readonly number[]): Map<number, number> {
  const expected = new Map(ring.map((id) => [id, START_BALANCE]))
  for (const i of committed) {
    expected.set(ring[i]!, expected.get(ring[i]!)! - 1)
    const next = ring[(i + 1) % ring.length]!
    expected.set(next, expected.get(next)! + 1)
  }
  return expected
}

describe('distributed deadlock detector', () => {
  it('breaks a two-shard cycle: the youngest fails with DistributedDeadlockError, rolled back on both shards; the other commits', async () => {
    const { db, logger } = open({ retry: { maxAttempts: 1 } })
    const ring = [key(0), key(1)]
    const { results, calls } = await within(BOUND_MS, 'the two-shard cycle', lockCycle(db, ring))
    expect(calls).toBe(2)
    expect(results[0]!.status).toBe('fulfilled')
    const rejected = results[1] as PromiseRejectedResult
    const err = rejected.reason as DistributedDeadlockError
    expect(err).toBeInstanceOf(DistributedDeadlockError)
    expect(err.code).toBe('SHARDTX_DISTRIBUTED_DEADLOCK')
    expect(err.retryable).toBe(true)
    expect(err.cycle).toHaveLength(2)
    expect(err.cycle).toContain(err.transactionId)
    expect(err.shards).toEqual([db.shardOf('accounts', ring[0]!), db.shardOf('accounts', ring[1]!)])
    expect(err.tables).toEqual(['accounts'])
    expect(err.origin?.file).toMatch(/deadlock-support\.ts$/)

    const [event] = logger.events('shardtx.distributed_deadlock')
    expect(logger.events('shardtx.distributed_deadlock')).toHaveLength(1)
    expect(event!.level).toBe('warn')
    expect(event!.obj).toMatchObject({ resolution: 'rolled back here', victim: err.transactionId, tables: ['accounts'], shards: err.shards })
    const members = event!.obj.transactions as { transactionId: string; origin?: string; tables?: string[] }[]
    expect(members.map((m) => m.transactionId).sort()).toEqual([...err.cycle].sort())
    expect(members.every((m) => /deadlock-support\.ts:\d+:\d+$/.test(m.origin ?? '') && m.tables?.[0] === 'accounts')).toBe(true)
    expect(event!.obj.detectionLatencyMs).toBeGreaterThan(0)
    // The story's last line: the victim's caller got the error, no retry (maxAttempts 1).
    expect(logger.events('shardtx.deadlock_victim_outcome').map((l) => [l.level, l.obj])).toEqual([
      [
        'warn',
        {
          event: 'shardtx.deadlock_victim_outcome',
          victims: [err.transactionId],
          outcome: 'gave up',
          attempts: 1,
          maxAttempts: 1,
          errorCode: 'SHARDTX_DISTRIBUTED_DEADLOCK',
          origin: expect.stringMatching(/deadlock-support\.ts:\d+:\d+$/),
        },
      ],
    ])

    const after = await balances()
    expect(ring.map((id) => after.get(id))).toEqual([START_BALANCE - 1, START_BALANCE + 1]) // the victim left nothing on either shard
    expect(db.deadlockStats()).toMatchObject({ detections: 1, victimsKilledLocally: 1, victimsKilledForOtherProcesses: 0, waitingNow: 0 })
  })

  it('retries the victim when retry.maxAttempts > 1, so both transactions commit', async () => {
    const { db, logger } = open({ retry: { maxAttempts: 3, baseDelayMs: 1 } })
    const ring = [key(0), key(1)]
    const { results, calls } = await within(BOUND_MS, 'the retried cycle', lockCycle(db, ring))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
    expect(calls).toBe(3) // two first attempts and one retry of the victim
    const after = await balances()
    expect(ring.map((id) => after.get(id))).toEqual([START_BALANCE, START_BALANCE])
    expect(logger.events('shardtx.distributed_deadlock')).toHaveLength(1)
    // However the victim's cross-shard warnings were rate limited, the log says how it ended.
    const victim = logger.events('shardtx.distributed_deadlock')[0]!.obj.victim
    expect(logger.events('shardtx.deadlock_victim_outcome').map((l) => [l.level, l.obj])).toEqual([
      [
        'warn',
        {
          event: 'shardtx.deadlock_victim_outcome',
          victims: [victim],
          outcome: 'retried and committed',
          attempts: 2,
          maxAttempts: 3,
          origin: expect.stringMatching(/deadlock-support\.ts:\d+:\d+$/),
        },
      ],
    ])
  })

  it('breaks a cycle of three transactions over three shards with one victim', async () => {
    const { db, logger } = open({ retry: { maxAttempts: 1 } })
    const ring = [key(0), key(1), key(2)]
    const { results } = await within(BOUND_MS, 'the three-shard cycle', lockCycle(db, ring))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected'])
    const err = (results[2] as PromiseRejectedResult).reason as DistributedDeadlockError
    expect(err).toBeInstanceOf(DistributedDeadlockError)
    expect(err.cycle).toHaveLength(3)
    const [event] = logger.events('shardtx.distributed_deadlock')
    expect(event!.obj.shards).toEqual([0, 1, 2].map((i) => db.shardOf('accounts', ring[i]!)).sort())
    expect((event!.obj.waits as unknown[]).length).toBe(3)
    const after = await balances()
    const expected = expectedAfterCycle(ring, [0, 1])
    expect(ring.map((id) => after.get(id))).toEqual(ring.map((id) => expected.get(id)))
  })

  it('breaks several cycles at once, one victim each, and every transaction commits with retries', async () => {
    const { db, logger } = open({ retry: { maxAttempts: 5, baseDelayMs: 1 } })
    const rings = [
      [key(0, 0), key(1, 0)],
      [key(1, 1), key(2, 1)],
      [key(2, 2), key(3, 2), key(0, 2)],
      [key(3, 3), key(0, 3)],
    ]
    const outcomes = await within(BOUND_MS, 'four simultaneous cycles', Promise.all(rings.map((ring) => lockCycle(db, ring))))
    expect(outcomes.flatMap((o) => o.results.map((r) => r.status))).toEqual(Array(9).fill('fulfilled'))
    const events = logger.events('shardtx.distributed_deadlock')
    expect(events).toHaveLength(4)
    expect(new Set(events.map((e) => e.obj.victim)).size).toBe(4)
    const after = await balances()
    expect(rings.flat().map((id) => after.get(id))).toEqual(rings.flat().map(() => START_BALANCE))
    expect(db.deadlockStats()).toMatchObject({ detections: 4, victimsKilledLocally: 4 })
  })

  it('does not kill a long wait behind a slow single-shard transaction that holds a lock without waiting', async () => {
    const { db, logger } = open({ retry: { maxAttempts: 1 } })
    const [a, b] = [key(0), key(1)]
    let holding!: () => void
    const held = new Promise<void>((resolve) => (holding = resolve))
    const slow = db.transaction(async (tx) => {
      await tx('accounts').where({ id: a }).decrement('balance', 1)
      holding()
      await new Promise((resolve) => setTimeout(resolve, 2_500)) // holds the row lock, waits for nothing
    })
    await held
    // Holds b on another shard and waits ~2.3 s for a: long past the threshold, many detection rounds.
    const waiter = db.transaction(
      async (tx) => {
        await tx('accounts').where({ id: b }).decrement('balance', 1)
        await tx('accounts').where({ id: a }).increment('balance', 1)
      },
      { crossShard: 'warn', reason: WARN_REASON },
    )
    await within(BOUND_MS, 'the wait behind a slow transaction', Promise.all([slow, waiter]))
    const stats = db.deadlockStats()
    expect(stats.rounds).toBeGreaterThan(1)
    expect(stats).toMatchObject({ detections: 0, victimsKilledLocally: 0, readErrors: 0 })
    expect(logger.events('shardtx.distributed_deadlock')).toEqual([])
    const after = await balances()
    expect([after.get(a), after.get(b)]).toEqual([START_BALANCE, START_BALANCE - 1])
  })

  it('does not kill a wait behind a connection that is not shardtx', async () => {
    const { db } = open({ retry: { maxAttempts: 1 } })
    const [a, b] = [key(0), key(1)]
    const plain = await mysql.createConnection(t.shards[db.shardOf('accounts', a)]!)
    try {
      await plain.query('BEGIN')
      await plain.query('UPDATE accounts SET balance = balance + 10 WHERE id = ?', [a])
      const waiter = db.transaction(
        async (tx) => {
          await tx('accounts').where({ id: b }).decrement('balance', 1)
          await tx('accounts').where({ id: a }).increment('balance', 1)
        },
        { crossShard: 'warn', reason: WARN_REASON },
      )
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      await plain.query('COMMIT')
      await within(BOUND_MS, 'the wait behind a plain connection', waiter)
    } finally {
      await plain.end()
    }
    expect(db.deadlockStats()).toMatchObject({ detections: 0, victimsKilledLocally: 0, victimsKilledForOtherProcesses: 0 })
    expect((await balances()).get(a)).toBe(START_BALANCE + 11)
  })

  it('leaves a cycle that runs through a non-shardtx connection alone: the outsider is unknown, so never part of a cycle', async () => {
    const { db } = open({ retry: { maxAttempts: 1 } })
    const [a, b] = [key(0), key(1)]
    const databaseOfA = t.shards[db.shardOf('accounts', a)]!.database
    // One plain connection that reaches both shards' databases (they share the test server).
    const outsider = await mysql.createConnection(t.shards[db.shardOf('accounts', b)]!)
    try {
      await outsider.query('SET SESSION innodb_lock_wait_timeout = 3')
      await outsider.query('BEGIN')
      await outsider.query('UPDATE accounts SET balance = balance + 10 WHERE id = ?', [b])
      let holding!: () => void
      const held = new Promise<void>((resolve) => (holding = resolve))
      const tx = db.transaction(
        async (trx) => {
          await trx('accounts').where({ id: a }).decrement('balance', 1)
          holding()
          await trx('accounts').where({ id: b }).increment('balance', 1) // waits for the outsider
        },
        { crossShard: 'warn', reason: WARN_REASON },
      )
      await held
      // The outsider now waits for the transaction's lock on the other shard: a real cycle, but
      // through a connection shardtx knows nothing about. The outsider's own lock wait timeout ends it.
      const err = await outsider.query(`UPDATE \`${databaseOfA}\`.accounts SET balance = balance + 10 WHERE id = ?`, [a]).catch((e: { errno?: number }) => e)
      expect((err as { errno?: number }).errno).toBe(1205)
      await outsider.query('ROLLBACK')
      await within(BOUND_MS, 'the transaction behind the outsider', tx)
    } finally {
      await outsider.end()
    }
    expect(db.deadlockStats()).toMatchObject({ detections: 0, victimsKilledLocally: 0 })
    const after = await balances()
    expect([after.get(a), after.get(b)]).toEqual([START_BALANCE - 1, START_BALANCE + 1])
  })

  it('reads nothing while nothing waits: uncontended transactions start no detection round', async () => {
    const { db } = open()
    for (let i = 0; i < 20; i++) {
      await db.transaction(
        async (tx) => {
          await tx('accounts')
            .where({ id: key(i % 4, 4) })
            .decrement('balance', 1)
          await tx('accounts')
            .where({ id: key((i + 1) % 4, 5) })
            .increment('balance', 1)
        },
        { crossShard: 'warn', reason: WARN_REASON },
      )
    }
    expect(db.deadlockStats()).toMatchObject({ enabled: true, rounds: 0, reads: 0, detections: 0, waitingNow: 0 })
  })
})

describe('without the PROCESS privilege', () => {
  const user = `stx_np_${randomBytes(4).toString('hex')}`
  let admin: mysql.Connection

  beforeAll(async () => {
    admin = await adminConnection()
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'np-secret'`)
    for (const database of t.databases) await admin.query(`GRANT ALL ON \`${database}\`.* TO '${user}'@'%'`)
  })
  afterAll(async () => {
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`)
    await admin.end()
  })

  it('logs once, turns detection off for that server, and the transactions carry on', async () => {
    const shards = Object.fromEntries(Object.entries(t.shards).map(([name, c]) => [name, { ...c, user, password: 'np-secret' }]))
    const { db, logger } = open({ shards })
    const a = key(0)
    for (let round = 0; round < 2; round++) {
      const plain = await mysql.createConnection(t.shards[db.shardOf('accounts', a)]!)
      try {
        await plain.query('BEGIN')
        await plain.query('UPDATE accounts SET balance = balance + 1 WHERE id = ?', [a])
        const waiter = db.transaction((tx) => tx('accounts').where({ id: a }).decrement('balance', 1))
        await new Promise((resolve) => setTimeout(resolve, 800))
        await plain.query('COMMIT')
        await within(BOUND_MS, 'the wait without PROCESS', waiter)
      } finally {
        await plain.end()
      }
    }
    const disabled = logger.events('shardtx.deadlock_detection_disabled')
    expect(disabled).toHaveLength(1)
    expect(disabled[0]!.level).toBe('warn')
    expect(disabled[0]!.msg).toMatch(/PROCESS privilege.*GRANT PROCESS/)
    const stats = db.deadlockStats()
    expect(stats.serversDisabled).toHaveLength(1)
    expect(stats.readErrors).toBe(1)
    expect((await balances()).get(a)).toBe(START_BALANCE)
  })
})
