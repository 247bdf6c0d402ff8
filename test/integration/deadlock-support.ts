/**
 * Cycle factories for the deadlock detector's tests and benchmark: transactions that each lock
 * one row, meet at a barrier (so every first lock is held before any second statement is sent),
 * then reach for the next one's row. Later attempts (retries) skip the barrier.
 */
import type { ShardedDb } from '../../src/index.js'
import { barrier } from '../support/barrier.js'

/** Tests run in strict mode (NODE_ENV=test): a per-transaction 'warn' needs a reason. */
export const WARN_REASON = 'https://tracker.example/deadlock-detector-tests'

export interface CycleOutcome {
  results: PromiseSettledResult<void>[]
  /** Callback invocations, first attempts included. */
  calls: number
}

/**
 * Runs `keys.length` warn transactions; transaction i decrements `keys[i]` then, after the
 * barrier, increments `keys[(i + 1) % n]`: a cycle of n waits when the keys are on different
 * shards. `started` resolves once every transaction holds its first lock.
 *
 * @example
 * ```ts
 * const { results } = await lockCycle(db, [1, 4]) // id 1 on -80, id 4 on 80-: one victim
 * ```
 */
export function lockCycle(db: ShardedDb, keys: readonly number[], table = 'accounts'): Promise<CycleOutcome> & { started: Promise<void> } {
  const arrive = barrier(keys.length)
  const allHeld = barrier(keys.length + 1)
  let calls = 0
  const runs = keys.map((first, i) => {
    const second = keys[(i + 1) % keys.length]!
    let attempt = 0
    return db.transaction(
      async (tx) => {
        calls++
        attempt++
        await tx(table).where({ id: first }).decrement('balance', 1)
        if (attempt === 1) {
          void allHeld()
          await arrive()
        }
        await tx(table).where({ id: second }).increment('balance', 1)
      },
      { crossShard: 'warn', reason: WARN_REASON },
    )
  })
  const outcome = Promise.allSettled(runs).then((results) => ({ results, calls })) as Promise<CycleOutcome> & { started: Promise<void> }
  outcome.started = allHeld()
  return outcome
}

/**
 * `work`, or a rejection naming `what` after `ms`: a deadlock the detector missed would otherwise
 * stall the test for innodb_lock_wait_timeout (50 s) and fail it with an unrelated timeout.
 */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms: a deadlock was not broken`)), ms)
  })
  try {
    return await Promise.race([work, limit])
  } finally {
    clearTimeout(timer)
  }
}

/** The first key >= `from` that `table` routes to each shard, in the ShardedDb's shard order. */
export function keysPerShard(db: ShardedDb, count: number, table = 'accounts', from = 1): Map<string, number[]> {
  const byShard = new Map<string, number[]>(db.shardNames.map((s) => [s, []]))
  for (let id = from; [...byShard.values()].some((ids) => ids.length < count); id++) {
    const ids = byShard.get(db.shardOf(table, id))!
    if (ids.length < count) ids.push(id)
  }
  return byShard
}
