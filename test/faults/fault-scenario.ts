/**
 * The fault scenario shared by the 4-shard fault test and `bench/faults.ts`: a mixed bank load
 * (same-shard transfers and single-account reads) from many workers, while one shard is SIGKILLed
 * and another SIGSTOPped, then restarted and resumed. Records every operation and the health
 * timeline; the caller decides what to assert or print.
 */
import { ShardUnavailableError, StatementTimeoutError } from '../../src/index.js'
import { applyTransfer, type Bank } from '../support/bank.js'
import type { ServerShards } from '../support/server-shards.js'

export interface OpRecord {
  /** The one shard the operation needs (both accounts of a transfer live there). */
  shard: string
  kind: 'transfer' | 'read'
  /** Start, in ms since the scenario started. */
  startedAt: number
  ms: number
  ok: boolean
  error?: unknown
}

export interface ScenarioOptions {
  workers: number
  /** Share of operations that are reads (the rest are transfers). */
  readRatio: number
  killShard: string
  stopShard: string
  /** Load before the faults, with both faults in place, and after recovery. */
  beforeMs: number
  duringMs: number
  afterMs: number
  seed?: number
}

export interface ShardTimeline {
  /** When the fault was injected. */
  faultAt: number
  /** First time db.health() showed the shard not up (ms since start). */
  detectedAt?: number
  /** When the server was answering again (restart() resolved / resume() called). */
  restoredAt?: number
  /** First time db.health() showed the shard up after restoredAt. */
  upAt?: number
  /** Start of the first operation on the shard that started after restoredAt and succeeded. */
  firstSuccessAt?: number
  /** When that operation finished. */
  firstSuccessEndAt?: number
}

export interface ScenarioResult {
  records: OpRecord[]
  timeline: Record<string, ShardTimeline>
  /** Phase boundaries (ms since start). */
  faultsAt: number
  restoreAt: number
  endAt: number
  /** Operations still running when the load was stopped and had to be waited for (must be none left). */
  drainMs: number
}

/**
 * Runs the scenario and resolves when every worker has finished. Never throws for operation
 * failures; they are in `records`.
 *
 * @example
 * ```ts
 * const r = await runFaultScenario(shards, bank, { workers: 64, readRatio: 0.3, killShard: '-40', stopShard: '40-80', beforeMs: 2000, duringMs: 4000, afterMs: 4000 })
 * ```
 */
export async function runFaultScenario(shards: ServerShards, bank: Bank, opts: ScenarioOptions): Promise<ScenarioResult> {
  const { db } = bank
  const t0 = performance.now()
  const now = () => performance.now() - t0
  const records: OpRecord[] = []
  let stopping = false
  const rand = mulberry32(opts.seed ?? 7)
  const shardNames = [...bank.accountsByShard.keys()]
  let seq = 0

  const worker = async (w: number) => {
    while (!stopping) {
      const shard = shardNames[rand(shardNames.length)]!
      const ids = bank.accountsByShard.get(shard)!
      const read = rand(1000) < opts.readRatio * 1000
      const startedAt = now()
      const started = performance.now()
      try {
        if (read) {
          const id = ids[rand(ids.length)]!
          await db.transaction((tx) => tx('accounts').where({ id }).first())
        } else {
          const from = ids[rand(ids.length)]!
          let to = ids[rand(ids.length)]!
          if (to === from) to = ids[(ids.indexOf(from) + 1) % ids.length]!
          const t = { id: `f${w}-${seq++}`, from, to, amount: 1 + rand(50) }
          await db.transaction((tx) => applyTransfer(tx, t))
        }
        records.push({ shard, kind: read ? 'read' : 'transfer', startedAt, ms: performance.now() - started, ok: true })
      } catch (error) {
        records.push({ shard, kind: read ? 'read' : 'transfer', startedAt, ms: performance.now() - started, ok: false, error })
        // A real client backs off after an error instead of spinning on a shard it knows is down.
        await sleep(20 + rand(30))
      }
      await sleep(rand(3))
    }
  }

  const timeline: Record<string, ShardTimeline> = {}
  let monitoring = true
  const monitor = (async () => {
    while (monitoring) {
      const health = db.health()
      for (const [shard, t] of Object.entries(timeline)) {
        const s = health[shard]!.state
        if (t.detectedAt === undefined && s !== 'up') t.detectedAt = now()
        if (t.restoredAt !== undefined && t.upAt === undefined && s === 'up') t.upAt = now()
      }
      await sleep(5)
    }
  })()

  const workers = Array.from({ length: opts.workers }, (_, w) => worker(w))
  await sleep(opts.beforeMs)

  const faultsAt = now()
  const killer = shards.servers[opts.killShard]!
  const stopped = shards.servers[opts.stopShard]!
  timeline[opts.killShard] = { faultAt: now() }
  await killer.kill()
  timeline[opts.stopShard] = { faultAt: now() }
  stopped.pause()
  await sleep(opts.duringMs)

  const restoreAt = now()
  stopped.resume()
  timeline[opts.stopShard]!.restoredAt = now()
  await killer.restart()
  timeline[opts.killShard]!.restoredAt = now()
  await sleep(opts.afterMs)

  stopping = true
  const endAt = now()
  await Promise.all(workers)
  const drainMs = now() - endAt
  monitoring = false
  await monitor

  for (const [shard, t] of Object.entries(timeline)) {
    const first = records.filter((r) => r.shard === shard && r.ok && r.startedAt >= t.restoredAt!).sort((a, b) => a.startedAt - b.startedAt)[0]
    if (first) {
      t.firstSuccessAt = first.startedAt
      t.firstSuccessEndAt = first.startedAt + first.ms
    }
  }
  return { records, timeline, faultsAt, restoreAt, endAt, drainMs }
}

/** Failures that are the expected kind for an operation on a failed shard. */
export function isShardFailure(err: unknown): boolean {
  return err instanceof ShardUnavailableError || err instanceof StatementTimeoutError
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/**
 * A small seeded PRNG (mulberry32) returning integers in [0, n). Not an LCG's low bits: those
 * cycle with a tiny period and would send every worker to the same two shards.
 */
function mulberry32(seed: number): (n: number) => number {
  let a = seed >>> 0
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
