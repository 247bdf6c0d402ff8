/**
 * Child process of bounded-heap.test.ts (run with --expose-gc): 100,000 real cross-shard
 * transactions in `warn` mode, started from 1,000 distinct lines of code, with heap measured after
 * gc every 10,000. Prints one JSON line.
 *
 * The 1,000 call sites are genuine: a generated module with one `db.transaction(...)` call per
 * line, so each origin shardtx records (file:line:column from the stack) is a different line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { createShardedDb, type ShardedDb, type ShardedTransaction } from '../../src/index.js'
import { MAX_TRACKED_ORIGINS } from '../../src/shared/origin-rate-limiter.js'
import { startServerShards } from '../support/server-shards.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc')
const heapMb = () => {
  for (let i = 0; i < 4; i++) gc()
  return process.memoryUsage().heapUsed / 2 ** 20
}

const SITES = Number(process.env.SITES ?? 1_000)
const TOTAL = Number(process.env.TOTAL ?? 100_000)
const BATCH = Number(process.env.BATCH ?? 10_000)
const CONCURRENCY = 16

type Site = (db: ShardedDb, fn: (tx: ShardedTransaction) => Promise<unknown>) => Promise<unknown>

/** Writes a module whose export `sites[i]` calls db.transaction from its own line i + 2. */
async function generateCallSites(dir: string): Promise<Site[]> {
  const lines = ['export const sites = [']
  for (let i = 0; i < SITES; i++) lines.push(`  (db, fn) => db.transaction(fn, { crossShard: 'warn', reason: 'call site ${i}' }),`)
  lines.push(']')
  const file = path.join(dir, 'call-sites.mjs')
  writeFileSync(file, lines.join('\n'))
  return ((await import(pathToFileURL(file).href)) as { sites: Site[] }).sites
}

async function main() {
  const shards = await startServerShards({ names: ['-80', '80-'] })
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-sites-'))
  try {
    await shards.execAll('CREATE TABLE counters (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)')
    let warnings = 0
    let suppressedReported = 0
    const origins = new Set<string>()
    const db = createShardedDb({
      shards: shards.shards,
      tables: { counters: { shardKey: 'id' } },
      crossShard: 'warn',
      // Short enough that every origin warns again and again, long enough that most are suppressed.
      warnings: { intervalMs: 2_000 },
      pool: { max: CONCURRENCY },
      logger: {
        warn(obj: object) {
          warnings++
          const event = obj as { origin: string; suppressed: number; suppressedElsewhere?: number }
          // A bounded sample, only to prove the origins are distinct; the limiter itself is what is measured.
          if (origins.size < SITES) origins.add(event.origin)
          suppressedReported += event.suppressed + (event.suppressedElsewhere ?? 0)
        },
        error() {},
        info() {},
        debug() {},
      },
    })
    // One row per worker on each shard: the transactions are real two-shard writes without lock contention.
    const low: number[] = []
    const high: number[] = []
    for (let id = 1; low.length < CONCURRENCY || high.length < CONCURRENCY; id++) {
      ;(db.shardOf('counters', id) === '-80' ? low : high).push(id)
    }
    await db
      .shard('-80')('counters')
      .insert(low.slice(0, CONCURRENCY).map((id) => ({ id, n: 0 })))
    await db
      .shard('80-')('counters')
      .insert(high.slice(0, CONCURRENCY).map((id) => ({ id, n: 0 })))

    const sites = await generateCallSites(dir)
    let next = 0
    const runBatch = async (end: number) => {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, w) => {
          const ids = [low[w]!, high[w]!]
          while (next < end) {
            const i = next++
            await sites[i % SITES]!(db, (tx) => tx('counters').whereIn('id', ids).increment('n', 1))
          }
        }),
      )
    }

    const started = performance.now()
    const samples: { transactions: number; heapMb: number; seconds: number }[] = []
    for (let end = BATCH; end <= TOTAL; end += BATCH) {
      await runBatch(end)
      samples.push({ transactions: end, heapMb: heapMb(), seconds: (performance.now() - started) / 1000 })
    }
    const [committedLow, committedHigh] = await Promise.all([
      shards.query('-80', 'SELECT SUM(n) AS n FROM counters'),
      shards.query('80-', 'SELECT SUM(n) AS n FROM counters'),
    ])
    await db.destroy()
    console.log(
      JSON.stringify({
        transactions: TOTAL,
        sites: SITES,
        maxTrackedOrigins: MAX_TRACKED_ORIGINS,
        distinctOriginsSeen: origins.size,
        warnings,
        suppressedReported,
        committed: [Number(committedLow[0].n), Number(committedHigh[0].n)],
        durationSeconds: (performance.now() - started) / 1000,
        samples,
      }),
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await shards.drop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
