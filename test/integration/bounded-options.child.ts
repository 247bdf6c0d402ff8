/**
 * Child process of bounded-options.test.ts (run with --expose-gc): creates ShardedDbs with huge
 * limits and timeouts, runs real transactions through them, and measures RSS growth and how long
 * validation took. Prints one JSON line.
 */
import v8 from 'node:v8'
import { createShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { createTestShards } from '../support/shard-databases.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc')
const rssMb = () => process.memoryUsage().rss / 2 ** 20
/**
 * Resident pages of V8's young generation. After a full gc it holds no live object, yet how much
 * of it stays resident is V8's own sizing choice: in 30 runs of this script, a third ended with
 * 5-7.8 MB more RSS than the rest, and all of the difference was here (old space, large objects,
 * external memory and the rest of RSS moved by under 0.5 MB in every run). It is reported, and kept
 * out of the budget, so the budget measures what survives: anything shardtx allocated.
 */
const youngGenerationMb = () => (v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0) / 2 ** 20
const settle = () => {
  for (let i = 0; i < 4; i++) gc()
}

/** The largest delay setTimeout honours, and a count no buffer could ever hold. */
const MAX_DELAY = 2 ** 31 - 1
const ABSURD = 9_999_999_999_999

const ACCEPTED: Record<string, Partial<ShardedDbOptions>> = {
  'retry.maxAttempts 9,999,999,999,999': { retry: { maxAttempts: ABSURD } },
  'retry delays 2^31-1': { retry: { maxAttempts: ABSURD, baseDelayMs: MAX_DELAY, maxDelayMs: MAX_DELAY } },
  'warnings.intervalMs 2^31-1': { warnings: { intervalMs: MAX_DELAY } },
  'every timeout 2^31-1': { connectTimeoutMs: MAX_DELAY, acquireTimeoutMs: MAX_DELAY, statementTimeoutMs: MAX_DELAY, health: { probeIntervalMs: MAX_DELAY } },
  'pool.max 1000 (the cap)': { pool: { max: 1000 } },
}

const REFUSED: Record<string, Record<string, unknown>> = {
  'retry.maxAttempts 1e300': { retry: { maxAttempts: 1e300 } },
  'retry.maxAttempts Infinity': { retry: { maxAttempts: Infinity } },
  'retry.maxAttempts 2^53': { retry: { maxAttempts: 2 ** 53 } },
  'retry.baseDelayMs absurd': { retry: { baseDelayMs: ABSURD } },
  'retry.maxDelayMs absurd': { retry: { maxDelayMs: ABSURD } },
  'warnings.intervalMs absurd': { warnings: { intervalMs: ABSURD } },
  'connectTimeoutMs absurd': { connectTimeoutMs: ABSURD },
  'acquireTimeoutMs absurd': { acquireTimeoutMs: ABSURD },
  'statementTimeoutMs absurd': { statementTimeoutMs: ABSURD },
  'health.probeIntervalMs absurd': { health: { probeIntervalMs: ABSURD } },
  'pool.max absurd': { pool: { max: ABSURD } },
  'pool.min absurd': { pool: { min: ABSURD } },
}

/** The same option keys with everyday values (defaults-sized), for the baseline. */
function ordinaryVersionOf(patch: Partial<ShardedDbOptions>): Partial<ShardedDbOptions> {
  return JSON.parse(
    JSON.stringify(patch, (key, value) => (typeof value === 'number' ? (key === 'max' ? 10 : key === 'maxAttempts' ? 3 : 1000) : value)),
  ) as Partial<ShardedDbOptions>
}

async function main() {
  const shards = await createTestShards({ names: ['-80', '80-'] })
  await shards.execAll('CREATE TABLE counters (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)')
  await shards.query('-80', 'INSERT INTO counters VALUES (1, 0)')
  await shards.query('80-', 'INSERT INTO counters VALUES (4, 0)')
  const base: ShardedDbOptions = { shards: shards.shards, tables: { counters: { shardKey: 'id' } }, crossShard: 'warn' }
  /**
   * The same work twice with ordinary values (module loading, first connections, JIT and V8's
   * young-generation sizing all settle), then with the huge values: only the magnitude of the
   * options differs between the baseline and the measurement.
   */
  const ORDINARY = 3
  const runAll = async (scale: 'ordinary' | 'huge') => {
    const results: { name: string; createMs: number; committed: boolean }[] = []
    for (const [name, patch] of Object.entries(ACCEPTED)) {
      const options = scale === 'huge' ? patch : ordinaryVersionOf(patch)
      const started = performance.now()
      const db = createShardedDb({ ...base, ...options })
      const createMs = performance.now() - started
      await db.transaction((tx) => tx('counters').whereIn('id', [1, 4]).increment('n', 1), {
        maxAttempts: scale === 'huge' ? ABSURD : ORDINARY,
        reason: 'bounded-options test',
      })
      await db.destroy()
      results.push({ name, createMs, committed: true })
    }
    // The retry loop itself: 200 deadlock-class failures, then success.
    const retrying = createShardedDb({ ...base, retry: { maxAttempts: scale === 'huge' ? ABSURD : 1000, baseDelayMs: 0, maxDelayMs: 0 } })
    let attempts = 0
    await retrying.transaction(async (tx) => {
      attempts++
      await tx('counters').where({ id: 1 }).first()
      if (attempts <= 200) throw Object.assign(new Error('Deadlock found when trying to get lock'), { errno: 1213 })
    })
    await retrying.destroy()
    return { results, attempts }
  }
  await runAll('ordinary')
  await runAll('ordinary')
  settle()
  const rssBefore = rssMb()
  const youngBefore = youngGenerationMb()
  const { results: accepted, attempts } = await runAll('huge')

  const refused: { name: string; ms: number; typeError: boolean; message: string }[] = []
  for (const [name, patch] of Object.entries(REFUSED)) {
    const started = performance.now()
    let error: unknown
    try {
      await createShardedDb({ ...base, ...patch } as ShardedDbOptions).destroy()
    } catch (err) {
      error = err
    }
    refused.push({ name, ms: performance.now() - started, typeError: error instanceof TypeError, message: String((error as Error)?.message) })
  }

  settle()
  const rssGrowthMb = rssMb() - rssBefore
  const youngGenerationGrowthMb = youngGenerationMb() - youngBefore
  await shards.drop()
  console.log(JSON.stringify({ rssBeforeMb: rssBefore, rssGrowthMb, youngGenerationGrowthMb, accepted, refused, retryAttempts: attempts }))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
