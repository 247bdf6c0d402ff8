/**
 * The incident workload as the acceptance tests of `ordered` and `atomic` run it: 4 shards
 * (separate databases), 1,332 accounts, 64 concurrent workers, 20,000 transfers between accounts
 * on different shards, half in each direction, `innodb_lock_wait_timeout` at its default.
 */
import type { TransactionOptions } from '../../src/index.js'
import { keyrangeNames } from '../../src/routing/keyrange-names.js'
import { applyTransfer, checkBank, crossShardTransfers, retryCountingLogger, runConcurrently, setupBank, type Bank, type Transfer } from './bank.js'
import { createTestShards, type TestShards } from './shard-databases.js'

export const INCIDENT_TRANSFERS = 20_000
export const INCIDENT_WORKERS = 64
/**
 * 333 accounts per shard (1,332 in all), not a round number: bank.ts's generator (a floating-point
 * LCG that loses its low bits) degenerates for sizes such as 16, 64 or 256 per shard, putting one
 * account into 96% or more of all transfers, which would measure one hot row instead of the
 * incident. With 333 every account is used and the busiest is in 0.5% of the transfers: contention
 * at 64 workers, with transfers in both directions over the same pairs of shards.
 */
const ACCOUNTS_PER_SHARD = 333

/** A finished incident run: what the acceptance criteria look at. The caller destroys `bank` and drops `shards`. */
export interface IncidentRun {
  shards: TestShards
  bank: Bank
  run: Awaited<ReturnType<typeof runConcurrently<Transfer>>>
  lockWaitTimeouts: number
  check: Awaited<ReturnType<typeof checkBank>>
  /** Transfers from a lower-ranked shard to a higher one, and the other way. */
  directions: { up: number; down: number }
  /** Callback runs beyond one per transfer and per retry: policy restarts (learned lock sets). */
  restarts: number
  seconds: number
}

/**
 * Runs the incident workload with `options` per transfer and reports it in one line.
 *
 * @example
 * ```ts
 * const r = await runIncident('ordered, declared lock set', (t) => ({ crossShard: 'ordered', lock: { accounts: [t.from, t.to] } }))
 * expect(r.run.ok).toBe(INCIDENT_TRANSFERS)
 * ```
 */
export async function runIncident(
  label: string,
  options: (t: Transfer) => TransactionOptions,
  extra: Parameters<typeof setupBank>[1]['options'] = {},
): Promise<IncidentRun> {
  const shards = await createTestShards({ names: keyrangeNames(4) })
  const { retries, logger, stop } = retryCountingLogger()
  // 64 connections per shard: every worker can hold a session on every shard it touches.
  // connectTimeoutMs is also the health-probe bound (docs/resilience.md): on this shared 2-core
  // machine, with 64 workers and other test runs, a fresh probe connection can take more than the
  // default 2 s, and a shard wrongly marked down would fail transfers for a reason this test is
  // not about. 20 s still catches a dead shard.
  const bank = await setupBank(shards, {
    perShard: ACCOUNTS_PER_SHARD,
    options: { pool: { max: INCIDENT_WORKERS }, connectTimeoutMs: 20_000, logger, ...extra },
  })
  const transfers = crossShardTransfers(bank, INCIDENT_TRANSFERS)
  let callbacks = 0
  const started = performance.now()
  const run = await runConcurrently(transfers, INCIDENT_WORKERS, (t) =>
    bank.db.transaction((tx) => {
      callbacks++
      return applyTransfer(tx, t)
    }, options(t)),
  )
  const seconds = (performance.now() - started) / 1000
  stop()
  const errnos = run.failed.map((f) => (f.error as { errno?: number }).errno)
  const lockWaitTimeouts = errnos.filter((n) => n === 1205).length + (retries.get('ER_LOCK_WAIT_TIMEOUT') ?? 0)
  const deadlockRetries = retries.get('ER_LOCK_DEADLOCK') ?? 0
  const restarts = callbacks - INCIDENT_TRANSFERS - [...retries.values()].reduce((a, n) => a + n, 0)
  // One line per run, for the record (duration depends on the machine; nothing asserts it).
  console.info(
    `${label}: ${run.ok}/${INCIDENT_TRANSFERS} committed in ${seconds.toFixed(1)} s ` +
      `(${Math.round(run.ok / seconds)} transfers/s), lock-wait timeouts ${lockWaitTimeouts}, deadlock retries ${deadlockRetries}, restarts ${restarts}`,
  )
  const rank = (id: number) => bank.db.shardNames.indexOf(bank.db.shardOf('accounts', id))
  const up = transfers.filter((t) => rank(t.from) < rank(t.to)).length
  return { shards, bank, run, lockWaitTimeouts, check: await checkBank(bank), directions: { up, down: transfers.length - up }, restarts, seconds }
}
