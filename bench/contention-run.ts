/**
 * Runs one row of bench/contention: a fresh set of shard databases and a fresh bank, the row's
 * transfers through `workers` concurrent workers, and what the table reports.
 */
// The built package, as users run it (as bench/overhead does): tsx's on-the-fly transform of
// src/ adds a cost to every closure shardtx creates per transaction that the raw-mysql2 floor
// rows and compiled JavaScript do not pay. `npm run bench:contention` builds first.
import { createShardedDb, keyrangeNames } from './support/built-package.js'
import { runConcurrently, setupBank, retryCountingLogger } from '../test/support/bank.js'
import { createTestShards } from '../test/support/shard-databases.js'
import { adminConnection } from '../test/support/test-server.js'
import type mysql from 'mysql2/promise'
import type { Workload } from './contention-workloads.js'
import { LatencyRecorder } from './support/latency.js'
import { localServerPid, nodeCpuMsSince, processCpuMs } from './support/cpu.js'
import { startCpuProfile } from './support/cpu-profiler.js'
import type { CpuProfile } from './support/profile-summary.js'

export interface RowResult {
  shards: number
  accountsPerShard: number
  workload: string
  attempted: number
  committed: number
  failed: number
  seconds: number
  transfersPerSecond: number
  /** Latency of each transfer that was started, committed or not (a stalled transfer counts its stall). */
  p50Ms: number
  p99Ms: number
  /** Statements that ended in ER_LOCK_WAIT_TIMEOUT (1205): as final errors and as retried ones. */
  lockWaitTimeouts: number
  /** Whole-transaction retries after ER_LOCK_DEADLOCK (1213), plus deadlocks that ended a transfer. */
  deadlockRetries: number
  /** `ordered` restarts: callback runs beyond one per transfer that were not retries. */
  restarts: number
  /**
   * Statements the server received per started transfer (its `Questions` counter over the timed
   * transfers): the work each approach asks of the server, independent of the machine's noise.
   * Counts every client of the server, so it is exact only while nothing else uses it.
   */
  statementsPerTransfer: number
  /** CPU time of this Node process (all threads, user + system) per started transfer, in ms. */
  nodeCpuMsPerTransfer: number
  /**
   * CPU time of the database server per started transfer, in ms, when it runs on this machine
   * (undefined otherwise). Counts all of the server's work, so it too needs a quiet server.
   */
  serverCpuMsPerTransfer: number | undefined
  /** A few distinct failure messages, for the reader to see what went wrong. */
  failures: string[]
  /** V8's CPU profile of the timed transfers, with `profile: true`. */
  profile: CpuProfile | undefined
}

export interface RowOptions {
  shardCount: number
  transfers: number
  workers: number
  accountsPerShard: number
  /** Overrides the row's own bound (for rows that stall); undefined keeps it. */
  boundMs: number | undefined
  /**
   * Transfers run first and not measured, through the same runner: JIT, pools and the server's
   * buffers warm up, so the first row of a run is not penalised against the baseline that runs
   * last. Rows with a bound skip it (their point is the stall, and a warm-up would stall too).
   */
  warmup: number
  /** Profile the timed transfers (the profiler's own cost then inflates the row's CPU and time). */
  profile: boolean
}

export async function runRow(workload: Workload, options: RowOptions): Promise<RowResult> {
  const shards = await createTestShards({ names: keyrangeNames(options.shardCount) })
  const { retries, logger, stop: stopCounting } = retryCountingLogger()
  // connectTimeoutMs is also the health-probe bound; under 64 workers on a shared 2-core machine
  // a fresh probe connection can exceed the default 2 s and mark a live shard down.
  const bank = await setupBank(shards, {
    create: createShardedDb,
    perShard: options.accountsPerShard,
    options: { pool: { max: options.workers }, connectTimeoutMs: 20_000, logger },
  })
  let callbacks = 0
  const runner = await workload.open({ bank, shards, poolMax: options.workers, countCallback: () => void callbacks++ })
  const boundMs = workload.boundMs === undefined ? undefined : (options.boundMs ?? workload.boundMs)
  const warmup = boundMs === undefined ? options.warmup : 0
  const all = workload.transfers(bank, warmup + options.transfers)
  const transfers = all.slice(warmup)
  // Outcomes of the warm-up are not counted: it only runs the same code paths first.
  if (warmup > 0) await runConcurrently(all.slice(0, warmup), options.workers, (t) => runner.run(t))
  callbacks = 0
  retries.clear()
  const latency = new LatencyRecorder()
  const errnos = new Map<number, number>()
  const failures = new Map<string, number>()
  let next = 0
  let committed = 0
  let failed = 0
  const admin = await adminConnection()
  const questionsBefore = await questions(admin)
  const stopProfile = options.profile ? await startCpuProfile() : undefined
  const cpuBefore = process.cpuUsage()
  const serverPid = localServerPid()
  const serverCpuBefore = processCpuMs(serverPid)
  const started = performance.now()
  const deadline = boundMs === undefined ? Infinity : started + boundMs
  const worker = async () => {
    while (next < transfers.length && performance.now() < deadline) {
      const t = transfers[next++]!
      const start = performance.now()
      try {
        await runner.run(t)
        committed++
      } catch (err) {
        failed++
        const e = err as { errno?: number; code?: string; message?: string }
        if (typeof e.errno === 'number') errnos.set(e.errno, (errnos.get(e.errno) ?? 0) + 1)
        const key = `${e.code ?? 'error'}: ${String(e.message).slice(0, 120)}`
        failures.set(key, (failures.get(key) ?? 0) + 1)
      }
      latency.record(performance.now() - start)
    }
  }
  let seconds: number
  let nodeCpuMs: number
  let serverCpuMs: number | undefined
  let statements: number
  let profile: CpuProfile | undefined
  try {
    await Promise.all(Array.from({ length: options.workers }, worker))
    seconds = (performance.now() - started) / 1000 // the transfers only, not the teardown below
    nodeCpuMs = nodeCpuMsSince(cpuBefore)
    profile = await stopProfile?.()
    const serverCpuAfter = processCpuMs(serverPid)
    serverCpuMs = serverCpuBefore === undefined || serverCpuAfter === undefined ? undefined : serverCpuAfter - serverCpuBefore
    statements = (await questions(admin)) - questionsBefore - 1 // the reading's own SHOW STATUS
  } finally {
    await admin.end()
    stopCounting()
    await runner.close()
    await bank.db.destroy()
    await shards.drop()
  }
  const attempted = committed + failed
  const retried = [...retries.values()].reduce((a, n) => a + n, 0)
  return {
    shards: options.shardCount,
    accountsPerShard: options.accountsPerShard,
    workload: workload.name,
    attempted,
    committed,
    failed,
    seconds,
    transfersPerSecond: committed / seconds,
    p50Ms: latency.percentile(50),
    p99Ms: latency.percentile(99),
    lockWaitTimeouts: (errnos.get(1205) ?? 0) + (retries.get('ER_LOCK_WAIT_TIMEOUT') ?? 0),
    deadlockRetries: (errnos.get(1213) ?? 0) + (retries.get('ER_LOCK_DEADLOCK') ?? 0),
    restarts: callbacks === 0 ? 0 : callbacks - attempted - retried,
    statementsPerTransfer: attempted === 0 ? 0 : statements / attempted,
    nodeCpuMsPerTransfer: attempted === 0 ? 0 : nodeCpuMs / attempted,
    serverCpuMsPerTransfer: serverCpuMs === undefined || attempted === 0 ? undefined : serverCpuMs / attempted,
    failures: [...failures]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([m, n]) => `${n}x ${m}`),
    profile,
  }
}

/** The server's count of statements received from clients (`Questions`), all sessions. */
async function questions(admin: mysql.Connection): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Questions'")
  return Number(rows[0]!.Value)
}
