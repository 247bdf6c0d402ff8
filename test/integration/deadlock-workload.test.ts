/**
 * The incident's workload (REFERENCE.md incident 1) with the detector on: cross-shard transfers,
 * half in each direction over the same account pairs, 64 workers, `warn` policy (no ordering), on
 * 2, 4 and 16 shards. Without the detector every cycle would stall both transactions for
 * innodb_lock_wait_timeout (50 s) and fail them with 1205; with it every cycle is broken, the
 * victim retried, and every transfer commits exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { keyrangeNames, type ShardedDb } from '../../src/index.js'
import { captureLogger } from '../faults/capture-logger.js'
import { applyTransfer, checkBank, crossShardTransfers, runConcurrently, setupBank } from '../support/bank.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { within } from './deadlock-support.js'

const WORKERS = 64
/**
 * Per shard count: few enough accounts for hundreds of deadlocks, enough transfers to keep each
 * case around half a minute on a loaded 2-core machine (measured: 11-38 s per case).
 */
const CASES = [
  { shards: 2, perShard: 15, transfers: 600 },
  { shards: 4, perShard: 7, transfers: 600 },
  { shards: 16, perShard: 3, transfers: 800 },
] as const
/** A deadlock the detector missed would stall for 50 s; the run fails clearly well before the test timeout. */
const BOUND_MS = 100_000

let shards: TestShards | undefined
let db: ShardedDb | undefined
afterEach(async () => {
  await db?.destroy()
  await shards?.drop()
  db = shards = undefined
})

describe('incident workload in warn mode with the deadlock detector', () => {
  for (const c of CASES) {
    it(`${c.shards} shards, ${WORKERS} workers, ${c.transfers} transfers: every deadlock broken, every transfer committed once, money conserved`, async () => {
      shards = await createTestShards({ names: keyrangeNames(c.shards) })
      const logger = captureLogger()
      const bank = await setupBank(shards, {
        perShard: c.perShard,
        options: {
          crossShard: 'warn',
          logger,
          // One connection per worker per shard at most: a pool that runs dry would add waits the
          // detector cannot see (a transaction waiting for a connection holds its other shard's locks).
          pool: { max: WORKERS },
          // The machine is shared and loaded: a slow health probe must not take a shard down here.
          connectTimeoutMs: 20_000,
          retry: { maxAttempts: 100, baseDelayMs: 5, maxDelayMs: 200 },
        },
      })
      db = bank.db
      const transfers = crossShardTransfers(bank, c.transfers, c.shards)
      const started = performance.now()
      const run = await within(
        BOUND_MS,
        `the ${c.shards}-shard workload`,
        runConcurrently(transfers, WORKERS, (t) => bank.db.transaction((tx) => applyTransfer(tx, t))),
      )
      const seconds = (performance.now() - started) / 1000

      const retries = logger.events('shardtx.transaction_retry')
      const retryCodes = new Set(retries.map((r) => r.obj.errorCode))
      const stats = bank.db.deadlockStats()
      console.log(
        `[deadlock workload] ${c.shards} shards: ${c.transfers} transfers in ${seconds.toFixed(1)} s, ` +
          `${stats.detections} deadlocks broken, ${retries.length} retries (${[...retryCodes].join(', ')}), ${stats.rounds} rounds, ${stats.reads} reads`,
      )
      expect(run.failed.map((f) => String(f.error))).toEqual([])
      expect(run.ok).toBe(c.transfers)
      expect(retryCodes.has('ER_LOCK_WAIT_TIMEOUT')).toBe(false) // no 1205: no cycle waited for the timeout
      expect(stats.detections).toBeGreaterThan(0)
      expect(stats.victimsKilledLocally).toBe(stats.detections)
      expect(stats).toMatchObject({ readErrors: 0, killErrors: 0, ownershipErrors: 0, graphTruncations: 0, registryOverflow: 0, waitingNow: 0 })
      expect(logger.events('shardtx.distributed_deadlock')).toHaveLength(stats.detections)

      const check = await checkBank(bank)
      expect(check.total).toBe(check.expectedTotal)
      expect(check.brokenTransfers).toEqual([])
      expect(check.accountsOutOfBalance).toEqual([])
      expect(check.completeTransfers).toBe(c.transfers) // each transfer applied exactly once
    })
  }
})
