/**
 * bench/deadlock: how fast the distributed deadlock detector breaks a cycle, and what it costs
 * while nothing waits.
 *
 *   npx tsx bench/deadlock.ts [--deadlocks 200] [--idle-rounds 8] [--idle-per-round 2000] [--clients 16]
 *
 * 1. Latency: `--deadlocks` cycles induced one after another on two shards, each by two `warn`
 *    transactions that lock one row each, meet at a barrier, then reach for each other's row (a
 *    cycle factory, like the tests'). Retries off: the victim fails, the survivor commits.
 *    - resolution: from the moment both second statements are sent (the cycle exists) until the
 *      survivor's blocked statement returns (the victim was rolled back on both shards);
 *    - detection: the detector's own `detectionLatencyMs` (oldest wait start to its decision).
 *    Both include the `deadlock.waitThresholdMs` (200 ms) a wait must last before anything is read.
 * 2. Idle cost: the same single-shard workload (one UPDATE and one INSERT per transaction, each
 *    client on its own rows, so no statement waits for a lock) through two ShardedDbs on the same shards, one
 *    with `deadlock.enabled: true` (a timer per statement, registry updates) and one with `false`,
 *    in interleaved rounds (A B B A ...), so drift in the machine's load hits both equally.
 */
import os from 'node:os'
import { parseArgs } from 'node:util'
import { createShardedDb, keyrangeNames, type DistributedDeadlockEvent, type ShardedDb } from '../src/index.js'
import { barrier } from '../test/support/barrier.js'
import { keysPerShard } from '../test/integration/deadlock-support.js'
import { createTestShards } from '../test/support/shard-databases.js'
import { formatMs, LatencyRecorder } from './support/latency.js'

const { values } = parseArgs({
  options: {
    deadlocks: { type: 'string', default: '200' },
    'idle-rounds': { type: 'string', default: '8' },
    'idle-per-round': { type: 'string', default: '2000' },
    clients: { type: 'string', default: '16' },
  },
})
const DEADLOCKS = Number(values.deadlocks)
const IDLE_ROUNDS = Number(values['idle-rounds'])
const IDLE_PER_ROUND = Number(values['idle-per-round'])
const CLIENTS = Number(values.clients)
const TABLES = { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } } as const

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')

/** One induced deadlock; returns the resolution latency in ms (cycle formed -> survivor unblocked). */
async function oneDeadlock(db: ShardedDb, a: number, b: number): Promise<number> {
  const arrive = barrier(2)
  let formedAt = 0
  let formed = 0
  let unblockedAt = 0
  const side = (first: number, second: number) =>
    db.transaction(async (tx) => {
      await tx('accounts').where({ id: first }).decrement('balance', 1)
      await arrive()
      if (++formed === 2) formedAt = performance.now()
      await tx('accounts').where({ id: second }).increment('balance', 1)
      unblockedAt = performance.now()
    })
  const results = await Promise.allSettled([side(a, b), side(b, a)])
  const failed = results.filter((r) => r.status === 'rejected')
  if (failed.length !== 1)
    throw new Error(`expected exactly one victim, got ${failed.length}: ${failed.map((r) => String((r as PromiseRejectedResult).reason)).join('; ')}`)
  return unblockedAt - formedAt
}

async function latency(shards: Awaited<ReturnType<typeof createTestShards>>): Promise<void> {
  const events: DistributedDeadlockEvent[] = []
  const logger = {
    error() {},
    info() {},
    debug() {},
    warn: (obj: object) => {
      if ((obj as { event?: string }).event === 'shardtx.distributed_deadlock') events.push(obj as DistributedDeadlockEvent)
    },
  }
  const db = createShardedDb({ shards: shards.shards, tables: TABLES, crossShard: 'warn', retry: { maxAttempts: 1 }, logger })
  const [[a], [b]] = [...keysPerShard(db, 1).values()] as [[number], [number]]
  const resolution = new LatencyRecorder()
  const detection = new LatencyRecorder()
  const started = performance.now()
  for (let i = 0; i < DEADLOCKS; i++) resolution.record(await oneDeadlock(db, a, b))
  for (const e of events) detection.record(e.detectionLatencyMs)
  const stats = db.deadlockStats()
  await db.destroy()
  console.log(`\n1. Latency over ${DEADLOCKS} induced two-shard deadlocks (${((performance.now() - started) / 1000).toFixed(1)} s; load average now ${load()})`)
  console.log(
    `   resolution (cycle formed -> survivor unblocked): p50 ${formatMs(resolution.percentile(50))}, p99 ${formatMs(resolution.percentile(99))}, max ${formatMs(resolution.percentile(100))}`,
  )
  console.log(
    `   detection (oldest wait start -> decision):      p50 ${formatMs(detection.percentile(50))}, p99 ${formatMs(detection.percentile(99))}, max ${formatMs(detection.percentile(100))}`,
  )
  console.log(
    `   detector: ${stats.detections} detections, ${stats.victimsKilledLocally} victims rolled back, ${stats.rounds} rounds, ${stats.reads} reads, ${stats.readErrors} read errors`,
  )
}

async function idleCost(shards: Awaited<ReturnType<typeof createTestShards>>): Promise<void> {
  const pool = { min: CLIENTS, max: CLIENTS }
  const dbs = {
    on: createShardedDb({ shards: shards.shards, tables: TABLES, pool, deadlock: { enabled: true } }),
    off: createShardedDb({ shards: shards.shards, tables: TABLES, pool, deadlock: { enabled: false } }),
  }
  // Every client its own account, so no statement ever waits for a lock.
  const accounts = [...keysPerShard(dbs.on, CLIENTS, 'accounts', 1_000).values()].flat().slice(0, CLIENTS)
  for (const id of accounts) await dbs.on.shard(dbs.on.shardOf('accounts', id))('accounts').insert({ id, balance: 0 })
  let seq = 0
  const round = async (db: ShardedDb, recorder: LatencyRecorder): Promise<number> => {
    const started = performance.now()
    let next = 0
    await Promise.all(
      accounts.map(async (id) => {
        while (next++ < IDLE_PER_ROUND) {
          const t0 = performance.now()
          await db.transaction(async (tx) => {
            await tx('accounts').where({ id }).increment('balance', 1)
            await tx('ledger').insert({ transfer_id: `i${++seq}`, account_id: id, amount: 1 })
          })
          recorder.record(performance.now() - t0)
        }
      }),
    )
    return performance.now() - started
  }
  const rec = { on: new LatencyRecorder(), off: new LatencyRecorder() }
  const elapsed = { on: 0, off: 0 }
  for (const side of ['on', 'off'] as const) await round(dbs[side], new LatencyRecorder()) // warm-up: pools, caches
  for (let r = 0; r < IDLE_ROUNDS; r++) {
    const order = r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)
    for (const side of order) elapsed[side] += await round(dbs[side], rec[side])
  }
  const tps = (side: 'on' | 'off') => (IDLE_ROUNDS * IDLE_PER_ROUND) / (elapsed[side] / 1000)
  const stats = dbs.on.deadlockStats()
  await Promise.all([dbs.on.destroy(), dbs.off.destroy()])
  console.log(
    `\n2. Idle cost: ${IDLE_ROUNDS} interleaved rounds x ${IDLE_PER_ROUND} single-shard transactions (UPDATE + INSERT), ${CLIENTS} clients, nothing waits (load average now ${load()})`,
  )
  for (const side of ['off', 'on'] as const) {
    console.log(
      `   detection ${side.padEnd(3)}: ${tps(side).toFixed(0).padStart(6)} tx/s, p50 ${formatMs(rec[side].percentile(50))}, p99 ${formatMs(rec[side].percentile(99))}`,
    )
  }
  console.log(`   ratio on/off: throughput ${(tps('on') / tps('off')).toFixed(3)}, p50 latency ${(rec.on.percentile(50) / rec.off.percentile(50)).toFixed(3)}`)
  console.log(
    `   detector with detection on: ${stats.rounds} rounds, ${stats.reads} reads, ${stats.detections} detections (a round runs only for a statement still running after waitThresholdMs)`,
  )
}

async function main(): Promise<void> {
  console.log(`bench/deadlock: node ${process.version}, ${os.cpus().length} CPUs, load average ${load()}`)
  const shards = await createTestShards({ names: keyrangeNames(2) })
  try {
    await shards.execAll(`
      CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;
      CREATE TABLE ledger (transfer_id VARCHAR(64) NOT NULL, account_id BIGINT NOT NULL, amount BIGINT NOT NULL, PRIMARY KEY (transfer_id, account_id)) ENGINE=InnoDB;
      INSERT INTO accounts (id, balance) VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0);
    `)
    await latency(shards)
    await idleCost(shards)
  } finally {
    await shards.drop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
