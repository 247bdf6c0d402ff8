/**
 * bench/faults: what a shard failure costs the shards that did not fail, and how fast shardtx
 * notices and recovers.
 *
 *   npx tsx bench/faults.ts [--workers 64] [--before 5000] [--during 8000] [--after 8000] [--runs 3]
 *
 * Four shards on four separate mariadbd processes (temp datadirs, free ports); a bank workload
 * (transfers within one shard, 30% single-account reads) from `--workers` concurrent workers.
 * After `--before` ms one shard is SIGKILLed and another SIGSTOPped; after `--during` ms they are
 * restarted / resumed; the load goes on for `--after` ms. Prints, per phase, the success rate and
 * p50/p99 latency of transactions on the healthy shards, the failure latency on the failed ones,
 * and the time to detect each failure and to use each shard again.
 */
import { parseArgs } from 'node:util'
import { keyrangeNames } from '../src/index.js'
import { isShardFailure, percentile, runFaultScenario, type OpRecord, type ScenarioResult } from '../test/faults/fault-scenario.js'
import { checkBank, setupBank } from '../test/support/bank.js'
import { startServerShards } from '../test/support/server-shards.js'

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '64' },
    before: { type: 'string', default: '5000' },
    during: { type: 'string', default: '8000' },
    after: { type: 'string', default: '8000' },
    runs: { type: 'string', default: '3' },
  },
})
const WORKERS = Number(values.workers)
const RUNS = Number(values.runs)
const KILL = '-40'
const STOP = '80-c0'

interface PhaseStats {
  ops: number
  successRate: number
  p50: number
  p99: number
}

function stats(records: OpRecord[]): PhaseStats {
  const ok = records.filter((r) => r.ok).map((r) => r.ms)
  return { ops: records.length, successRate: ok.length / Math.max(1, records.length), p50: percentile(ok, 50), p99: percentile(ok, 99) }
}

function phases(result: ScenarioResult, healthy: string[]) {
  const onHealthy = result.records.filter((r) => healthy.includes(r.shard))
  return {
    before: stats(onHealthy.filter((r) => r.startedAt < result.faultsAt)),
    during: stats(onHealthy.filter((r) => r.startedAt >= result.faultsAt && r.startedAt < result.restoreAt)),
    after: stats(onHealthy.filter((r) => r.startedAt >= result.restoreAt)),
  }
}

const fmt = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? '   n/a' : `${ms.toFixed(1).padStart(7)} ms`)
const pct = (x: number) => `${(x * 100).toFixed(2)}%`

async function main() {
  const names = keyrangeNames(4)
  const healthy = names.filter((s) => s !== KILL && s !== STOP)
  console.log(`bench/faults: 4 shards on 4 mariadbd, ${WORKERS} workers, kill ${KILL} and SIGSTOP ${STOP}; ${RUNS} runs`)
  console.log(`phases: before ${values.before} ms, during ${values.during} ms, after ${values.after} ms; failure bound (connectTimeoutMs) 2000 ms\n`)
  for (let run = 1; run <= RUNS; run++) {
    const shards = await startServerShards({ names })
    const bank = await setupBank(shards, { perShard: 64 })
    try {
      const result = await runFaultScenario(shards, bank, {
        workers: WORKERS,
        readRatio: 0.3,
        killShard: KILL,
        stopShard: STOP,
        beforeMs: Number(values.before),
        duringMs: Number(values.during),
        afterMs: Number(values.after),
        seed: run,
      })
      const p = phases(result, healthy)
      const failed = result.records.filter((r) => !healthy.includes(r.shard) && !r.ok)
      const unexpected = failed.filter((r) => !isShardFailure(r.error)).length
      const check = await checkBank(bank)
      console.log(`run ${run}: ${result.records.length} transactions`)
      console.log('  healthy shards   ops    success   p50         p99')
      for (const [phase, s] of Object.entries(p)) {
        console.log(`  ${phase.padEnd(15)} ${String(s.ops).padStart(5)}  ${pct(s.successRate).padStart(8)}  ${fmt(s.p50)}  ${fmt(s.p99)}`)
      }
      console.log(
        `  failed shards: ${failed.length} failures (${unexpected} not ShardUnavailableError/StatementTimeoutError), ` +
          `p50 ${fmt(
            percentile(
              failed.map((r) => r.ms),
              50,
            ),
          )}, p99 ${fmt(
            percentile(
              failed.map((r) => r.ms),
              99,
            ),
          )}, max ${fmt(Math.max(0, ...failed.map((r) => r.ms)))}`,
      )
      for (const [shard, t] of Object.entries(result.timeline)) {
        const how = shard === KILL ? 'SIGKILL' : 'SIGSTOP'
        console.log(
          `  ${shard} (${how}): detected after ${fmt(t.detectedAt === undefined ? undefined : t.detectedAt - t.faultAt)}, ` +
            `up ${fmt(t.upAt === undefined ? undefined : t.upAt - t.restoredAt!)} after restore, ` +
            `first transaction committed ${fmt(t.firstSuccessEndAt === undefined ? undefined : t.firstSuccessEndAt - t.restoredAt!)} after restore`,
        )
      }
      console.log(
        `  bank: total ${check.total === check.expectedTotal ? 'conserved' : `WRONG (${check.total} != ${check.expectedTotal})`}, ` +
          `${check.brokenTransfers.length} broken transfers, workers drained in ${fmt(result.drainMs)}\n`,
      )
    } finally {
      await bank.db.destroy()
      await shards.drop()
    }
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
