/**
 * bench/contention: cross-shard transfers under contention, naive vs `ordered`, against the
 * single-shard baseline. Not a test: it prints a table (markdown) for bench/RESULTS.md.
 *
 *   npm run bench:contention -- [--shards 2,4,16] [--accounts-per-shard 16,333] [--transfers 2000]
 *                               [--workers 64] [--bound-seconds 20] [--warmup 500] [--rounds 3] [--only ordered,split]
 *                               [--profile] [--top 15]
 *
 * It runs the built package (dist/, as users do; the script builds first), not src/ through tsx.
 *
 * Each row gets fresh shard databases and a fresh bank (test/support/bank.ts), runs `--warmup`
 * transfers that are not measured (so no row pays for a cold JIT or cold pools), then its transfers
 * with `--workers` concurrent workers and one pooled connection per worker per shard, and reports
 * transfers/s, p50/p99 latency (hdr-histogram), lock-wait timeouts (1205), deadlock retries
 * (1213), `ordered` restarts, and what each transfer cost: statements the server received, CPU of
 * this Node process and (when the server runs on this machine) of the server. Rows that can
 * stall (naive) stop starting transfers after `--bound-seconds`. Rows are listed in
 * bench/contention-workloads.ts; add one there.
 *
 * Two contention settings by default, because bank.ts's transfer generator (a floating-point LCG
 * that loses its low bits) behaves very differently with the number of accounts:
 * - 16 accounts per shard, "hot": the generator cycles over a few pairs of accounts, in both
 *   directions, with one account in nearly every transfer. That is the incident's shape, and
 *   what makes naive transactions stall; it measures a hot row more than the policy.
 * - 333 accounts per shard, "spread": every account used, the busiest in about 1% of transfers,
 *   so the rows measure what each approach costs per transfer.
 *
 * The machine may be shared: absolute numbers are noisy, the ratios to the baseline are what count.
 * So every setting runs `--rounds` times, rows in a rotated order each round (no row always runs
 * first or last), and the table shows each row's median round, with the ratio to the baseline
 * in every round beside it. Rows that stall (naive) run in the first round only.
 *
 * `--profile` runs V8's sampling profiler over each row's timed transfers and prints, for the
 * first round, self time per transfer by owner and the top shardtx and native functions
 * (bench/support/profile-summary.ts). The profiler costs CPU itself: read those rounds for where
 * the time goes, not for throughput.
 */
import os from 'node:os'
import { parseArgs } from 'node:util'
import type mysql from 'mysql2/promise'
import { adminConnection } from '../test/support/test-server.js'
import { runRow, type RowResult } from './contention-run.js'
import { BASELINE, FLOOR_ONE_SHARD, FLOOR_TWO_SHARDS, NAIVE_LOCK_WAIT_SECONDS, WORKLOADS } from './contention-workloads.js'
import { formatMs } from './support/latency.js'
import { summarizeProfile } from './support/profile-summary.js'

const { values } = parseArgs({
  options: {
    shards: { type: 'string', default: '2,4,16' },
    transfers: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '64' },
    'accounts-per-shard': { type: 'string', default: '16,333' },
    'bound-seconds': { type: 'string', default: '20' },
    warmup: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    top: { type: 'string', default: '15' },
  },
})
const shardCounts = values.shards.split(',').map((n) => positive('shards', n))
const accountCounts = values['accounts-per-shard'].split(',').map((n) => positive('accounts-per-shard', n))
const options = {
  transfers: positive('transfers', values.transfers),
  workers: positive('workers', values.workers),
  boundMs: positive('bound-seconds', values['bound-seconds']) * 1000,
  warmup: values.warmup === '0' ? 0 : positive('warmup', values.warmup),
  profile: values.profile,
}
const rounds = positive('rounds', values.rounds)
/** `--only ordered,split`: rows whose name contains any of the comma-separated parts (the baseline and floors always run). */
const onlyParts = values.only?.split(',').filter((part) => part !== '')
const rows = WORKLOADS.filter(
  (w) =>
    onlyParts === undefined ||
    onlyParts.some((part) => w.name.includes(part)) ||
    w.name === BASELINE ||
    w.name === FLOOR_TWO_SHARDS ||
    w.name === FLOOR_ONE_SHARD,
)

function positive(name: string, value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) throw new TypeError(`Expected --${name} to be a positive integer, got ${JSON.stringify(value)}`)
  return n
}

async function main(): Promise<void> {
  const server = await serverFacts()
  console.log(
    `bench/contention: ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${server}, ` +
      `${options.workers} workers, ${options.transfers} transfers per row after ${options.warmup} unmeasured, ${rounds} rounds (medians shown), ${accountCounts.join(' and ')} accounts per shard, ` +
      `naive rows bounded to ${options.boundMs / 1000} s with innodb_lock_wait_timeout = ${NAIVE_LOCK_WAIT_SECONDS} s\n`,
  )
  const byRound: RowResult[][] = []
  for (let round = 0; round < rounds; round++) {
    const results: RowResult[] = []
    for (const accountsPerShard of accountCounts) {
      for (const shardCount of shardCounts) {
        for (const workload of rotate(rows, round)) {
          if (round > 0 && workload.boundMs !== undefined) continue // stalls by design: once is enough
          const result = await runRow(workload, { shardCount, accountsPerShard, ...options })
          results.push(result)
          console.error(
            `  round ${round + 1}, ${accountsPerShard} accounts/shard, ${shardCount} shards, ${workload.name}: ${result.committed}/${result.attempted} in ${result.seconds.toFixed(1)} s`,
          )
          for (const failure of result.failures) console.error(`    ${failure}`)
        }
      }
    }
    byRound.push(results)
  }
  const medians = medianRounds(byRound)
  console.log(table(medians, byRound))
  console.log('\n' + floorTable(medians))
  if (options.profile) {
    // Round 1 only: one profile per row is enough to see where the CPU goes.
    for (const r of byRound[0]!) {
      if (r.profile === undefined) continue
      console.log(`\n#### Profile: ${r.accountsPerShard} accounts/shard, ${r.shards} shards, ${r.workload} (per transfer)`)
      console.log(summarizeProfile(r.profile, { transactions: r.attempted, top: positive('top', values.top) }))
    }
  }
  console.log(
    `\nload average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  )
}

const sameSetting = (a: RowResult, b: RowResult) => a.shards === b.shards && a.accountsPerShard === b.accountsPerShard

/** `a / b` to two decimals, or undefined when either is missing or `b` is zero: every ratio in the tables. */
function ratioOf(a: number | undefined, b: number | undefined): string | undefined {
  return a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : undefined
}

/** A ratio cell: `0.83x`, or `-` when there is no ratio. */
const cell = (ratio: string | undefined) => (ratio === undefined ? '-' : `${ratio}x`)

/** Throughput of row `name` among `results` of one setting. */
const tpsOf = (results: readonly RowResult[], name: string) => results.find((x) => x.workload === name)?.transfersPerSecond

/** `rows` starting at position `round` (mod length), so each row takes every place in turn. */
function rotate<T>(rows: readonly T[], round: number): T[] {
  const k = round % rows.length
  return [...rows.slice(k), ...rows.slice(0, k)]
}

/** Per setting and row, the round with the median throughput (the lower middle for an even count), in table order. */
function medianRounds(rounds: RowResult[][]): RowResult[] {
  const out: RowResult[] = []
  for (const first of rounds[0]!) {
    const runs = rounds.flatMap((r) => r.filter((x) => sameSetting(x, first) && x.workload === first.workload))
    runs.sort((a, b) => a.transfersPerSecond - b.transfersPerSecond)
    out.push(runs[Math.floor((runs.length - 1) / 2)]!)
  }
  // Table order: settings as run, rows in WORKLOADS order.
  const order = (r: RowResult) => WORKLOADS.findIndex((w) => w.name === r.workload)
  return out.sort((a, b) => a.accountsPerShard - b.accountsPerShard || a.shards - b.shards || order(a) - order(b))
}

function table(results: RowResult[], rounds: RowResult[][]): string {
  const lines = [
    '| accounts/shard | shards | row | committed / started | transfers/s | vs single-shard | each round vs its baseline | p50 | p99 | lock-wait timeouts | deadlock retries | restarts | statements/transfer | Node CPU/transfer | server CPU/transfer |',
    '|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const r of results) {
    const vsBaseline = (rows: readonly RowResult[]) => {
      const setting = rows.filter((x) => sameSetting(x, r))
      return ratioOf(tpsOf(setting, r.workload), tpsOf(setting, BASELINE))
    }
    const ratio = cell(vsBaseline(results))
    const perRound = rounds
      .map(vsBaseline)
      .filter((x) => x !== undefined)
      .join(' ')
    const serverCpu = r.serverCpuMsPerTransfer === undefined ? 'n/a' : `${r.serverCpuMsPerTransfer.toFixed(2)} ms`
    lines.push(
      `| ${r.accountsPerShard} | ${r.shards} | ${r.workload} | ${r.committed} / ${r.attempted} | ${r.transfersPerSecond.toFixed(0)} | ${ratio} | ${perRound} | ` +
        `${formatMs(r.p50Ms)} | ${formatMs(r.p99Ms)} | ${r.lockWaitTimeouts} | ${r.deadlockRetries} | ${r.restarts} | ` +
        `${r.statementsPerTransfer.toFixed(2)} | ${r.nodeCpuMsPerTransfer.toFixed(2)} ms | ${serverCpu} |`,
    )
  }
  return lines.join('\n')
}

/**
 * The ratios side by side: what the machine allows (two-shard floor over one-shard floor, raw
 * mysql2 with no library) and what shardtx reaches (each cross-shard row over its baseline).
 * Beside each measured ratio, two that the row's own counters predict: `cpu`, the ratio of the
 * CPU both rows spend per transfer (Node + server, which share this machine's CPUs, so a
 * CPU-bound machine's throughput follows it), and `statements`, the ratio of statements per
 * transfer (what the ratio would be if every statement cost the same). A measured ratio near
 * `cpu` says the run was CPU-bound; a `statements` bound below a target says that target needs
 * fewer statements, not cheaper ones.
 */
function floorTable(results: RowResult[]): string {
  const crossRows = WORKLOADS.filter((w) => ![BASELINE, FLOOR_TWO_SHARDS, FLOOR_ONE_SHARD].includes(w.name) && w.boundMs === undefined).map((w) => w.name)
  const lines = [
    `| accounts/shard | shards | floor: raw two-shard / raw one-shard | ${crossRows.map((n) => `${n} / baseline`).join(' | ')} |`,
    `|---:|---:|---:|${crossRows.map(() => '---:').join('|')}|`,
  ]
  const settings = [...new Set(results.map((r) => `${r.accountsPerShard}/${r.shards}`))]
  for (const setting of settings) {
    const rows = results.filter((r) => `${r.accountsPerShard}/${r.shards}` === setting)
    const [accounts, shards] = setting.split('/')
    const versus = (name: string, base: string) => {
      const [row, against] = [rows.find((r) => r.workload === name), rows.find((r) => r.workload === base)]
      if (row === undefined || against === undefined) return '-'
      const measured = cell(ratioOf(row.transfersPerSecond, against.transfersPerSecond))
      const cpu = cell(ratioOf(cpuPerTransfer(against), cpuPerTransfer(row)))
      const statements = cell(ratioOf(against.statementsPerTransfer, row.statementsPerTransfer))
      return `${measured} (cpu ${cpu}, statements ${statements})`
    }
    lines.push(`| ${accounts} | ${shards} | ${versus(FLOOR_TWO_SHARDS, FLOOR_ONE_SHARD)} | ${crossRows.map((n) => versus(n, BASELINE)).join(' | ')} |`)
  }
  return lines.join('\n')
}

/** Node + server CPU per transfer in ms; undefined when the server's CPU could not be read. */
function cpuPerTransfer(r: RowResult): number | undefined {
  return r.serverCpuMsPerTransfer === undefined ? undefined : r.nodeCpuMsPerTransfer + r.serverCpuMsPerTransfer
}

async function serverFacts(): Promise<string> {
  const conn = await adminConnection()
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v, @@innodb_lock_wait_timeout AS t, @@innodb_flush_log_at_trx_commit AS f')
    return `server ${rows[0]!.v} (innodb_lock_wait_timeout ${rows[0]!.t} s, flush_log_at_trx_commit ${rows[0]!.f})`
  } finally {
    await conn.end()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
