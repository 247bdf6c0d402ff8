/**
 * bench/overhead: what shardtx costs on top of plain knex, and how far both are from raw mysql2,
 * for single-shard transactions of 1, 5 and 20 statements.
 *
 *   npm run bench:overhead -- [--rounds 8] [--per-round 2000] [--clients 16] [--workloads '5 statements,20 statements'] [--isolate]
 *
 * All three sides run the same SQL on the same server and shard databases, with the same pool
 * size, 16 concurrent clients: shardtx (`db.transaction`), plain knex (`knex.transaction` on the
 * shard's own instance) and raw mysql2 (hand-written SQL, BEGIN ... COMMIT on a pooled
 * connection: the floor). Rounds rotate which side goes first, so drift in the machine's load hits
 * every side alike; only ratios within one run are meaningful. Each side's Node CPU per
 * transaction (`process.cpuUsage` around its rounds) is the steadier figure on a shared machine;
 * the server columns give MariaDB's CPU per transaction on each side (from /proc, local server only).
 *
 * `--isolate` runs each side in a child process of its own (rounds still alternate, driven by this
 * process): in one process the sides' garbage and the type feedback of the code they share (knex's
 * compiler, mysql2) land on each other's rounds, which an application running only one of them
 * does not see.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
// The built package, as users run it: tsx's on-the-fly transform wraps every closure shardtx
// creates per transaction in a naming helper, a cost plain knex (compiled JS) does not pay.
import { createShardedDb, keyrangeNames } from './support/built-package.js'
import { createTestShards } from '../test/support/shard-databases.js'
import { LatencyRecorder, formatMs } from './support/latency.js'
import { WORKLOADS, WORKLOAD_SCHEMA } from './support/overhead-workloads.js'
import {
  SIDE_NAMES,
  WORKLOAD_TABLES,
  openSide,
  runRound,
  type Account,
  type OpenSide,
  type RoundResult,
  type SideName,
  type SideSetup,
} from './support/overhead-sides.js'
import { localServerPid, processCpuMs } from './support/cpu.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    'per-round': { type: 'string', default: '2000' },
    clients: { type: 'string', default: '16' },
    workloads: { type: 'string', default: Object.keys(WORKLOADS).join(',') },
    isolate: { type: 'boolean', default: false },
  },
})
const ROUNDS = Number(values.rounds)
const PER_ROUND = Number(values['per-round'])
const CLIENTS = Number(values.clients)
const ACCOUNTS_PER_SHARD = 2000
const chosen = values.workloads.split(',').map((w) => w.trim())
for (const name of chosen) {
  if (!(name in WORKLOADS))
    throw new TypeError(`Expected --workloads to name workloads from ${JSON.stringify(Object.keys(WORKLOADS))}, got ${JSON.stringify(name)}`)
}

const SIDES = SIDE_NAMES
type Side = SideName

/** A side as the parent drives it: in this process, or (`--isolate`) in a child process of its own. */
interface SideRunner {
  round(workload: string): Promise<RoundResult>
  close(): Promise<void>
}

const ROUND = { clients: CLIENTS, count: PER_ROUND }

function inProcess(side: Side, setup: SideSetup, seqBase: number): SideRunner {
  const opened = openSide(side, setup, { clients: CLIENTS, seqBase })
  return { round: (workload) => runRound(opened, WORKLOADS[workload]!, setup.ids, ROUND), close: () => opened.close() }
}

/** The child end of `--isolate`: opens its side when told, then runs the rounds it is sent. */
function serveChild(): void {
  let opened: { side: OpenSide; ids: Account[] } | undefined
  process.on('message', (msg: { open?: { side: Side; setup: SideSetup; seqBase: number }; round?: string; close?: true }) => {
    void (async () => {
      if (msg.open) {
        opened = { side: openSide(msg.open.side, msg.open.setup, { clients: CLIENTS, seqBase: msg.open.seqBase }), ids: msg.open.setup.ids }
        process.send!({ ready: true })
      } else if (msg.round !== undefined) {
        process.send!({ result: await runRound(opened!.side, WORKLOADS[msg.round]!, opened!.ids, ROUND) })
      } else if (msg.close) {
        await opened?.side.close()
        process.disconnect()
      }
    })().catch((err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  })
}

function isolated(side: Side, setup: SideSetup, seqBase: number): SideRunner {
  // tsx passes its loader in execArgv, so the child runs this same file.
  const child = fork(fileURLToPath(import.meta.url), process.argv.slice(2), { execArgv: process.execArgv, env: { ...process.env, [CHILD_ENV]: '1' } })
  // One request at a time: one waiter, answered by the child's next message or failed by its exit.
  let waiter: { resolve(reply: { result?: RoundResult }): void; reject(err: Error): void } | undefined
  child.on('message', (reply: { result?: RoundResult }) => waiter?.resolve(reply))
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      waiter?.reject(new Error(`bench/overhead: the ${side} child exited with code ${code}`))
      resolve()
    }),
  )
  const request = (msg: object) =>
    new Promise<{ result?: RoundResult }>((resolve, reject) => {
      waiter = { resolve, reject }
      child.send(msg)
    })
  const ready = request({ open: { side, setup, seqBase } })
  return {
    round: async (workload) => {
      await ready
      return (await request({ round: workload })).result!
    },
    close: async () => {
      await ready
      waiter = undefined
      child.send({ close: true })
      await exited
    },
  }
}

const CHILD_ENV = 'SHARDTX_BENCH_OVERHEAD_CHILD'

async function main() {
  const shards = await createTestShards({ names: keyrangeNames(2) })
  await shards.execAll(WORKLOAD_SCHEMA)
  // Accounts placed where shardtx routes them, so plain knex and raw mysql2 can address the same rows directly.
  const placement = createShardedDb({ shards: shards.shards, tables: WORKLOAD_TABLES })
  const ids: Account[] = []
  for (let id = 1; ids.length < ACCOUNTS_PER_SHARD * shards.names.length; id++) ids.push({ id, shard: placement.shardOf('accounts', id) })
  for (const name of shards.names) {
    const rows = ids.filter((a) => a.shard === name).map((a) => ({ id: a.id, balance: 0 }))
    for (let i = 0; i < rows.length; i += 500)
      await placement
        .shard(name)('accounts')
        .insert(rows.slice(i, i + 500))
  }
  await placement.destroy()

  const setup: SideSetup = { shards: shards.shards, ids }
  // Ledger keys: each side's sequence starts in its own billion (only separate processes need it).
  const runners = Object.fromEntries(SIDES.map((side, i) => [side, (values.isolate ? isolated : inProcess)(side, setup, i * 1_000_000_000)])) as Record<
    Side,
    SideRunner
  >

  console.log(
    `bench/overhead: ${ROUNDS} rounds x ${PER_ROUND} transactions per side and workload, ${CLIENTS} clients, node ${process.version}, ` +
      (values.isolate ? 'each side in a process of its own' : 'all sides in one process'),
  )
  const report: string[] = []
  for (const name of chosen) {
    const rec = { knex: new LatencyRecorder(), shardtx: new LatencyRecorder(), raw: new LatencyRecorder() }
    const elapsed = { knex: 0, shardtx: 0, raw: 0 }
    // Node CPU per side (user + system, microseconds): on a loaded machine wall-clock throughput
    // swings with the neighbours, CPU spent per transaction much less.
    const cpu = { knex: 0, shardtx: 0, raw: 0 }
    // The server's CPU per side (when it is a local process): a side can also cost MariaDB more
    // per transaction, and on one machine the two compete for the same cores.
    const serverPid = localServerPid()
    const serverCpu = { knex: 0, shardtx: 0, raw: 0 }
    // warm-up: fill pools and caches on every side
    for (const side of SIDES) await runners[side].round(name)
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < SIDES.length; i++) {
        const side = SIDES[(round + i) % SIDES.length]!
        const serverBefore = processCpuMs(serverPid)
        const result = await runners[side].round(name)
        const serverAfter = processCpuMs(serverPid)
        elapsed[side] += result.elapsedMs
        cpu[side] += result.cpuUs
        for (const ms of result.latenciesMs) rec[side].record(ms)
        if (serverBefore !== undefined && serverAfter !== undefined) serverCpu[side] += (serverAfter - serverBefore) * 1000
      }
    }
    const total = ROUNDS * PER_ROUND
    const tps = (side: Side) => total / (elapsed[side] / 1000)
    const cpuPerTx = (side: Side) => cpu[side] / total
    const serverPerTx = (side: Side) => (serverPid === undefined ? 'n/a' : `${(serverCpu[side] / total).toFixed(0)} us`)
    report.push(
      `| ${name} | ${formatMs(rec.raw.percentile(50))} | ${formatMs(rec.knex.percentile(50))} | ${formatMs(rec.shardtx.percentile(50))} | ` +
        `${tps('raw').toFixed(0)} | ${tps('knex').toFixed(0)} | ${tps('shardtx').toFixed(0)} | ` +
        `**${(tps('shardtx') / tps('knex')).toFixed(3)}** | **${(tps('shardtx') / tps('raw')).toFixed(3)}** | ` +
        `${cpuPerTx('raw').toFixed(0)} us | ${cpuPerTx('knex').toFixed(0)} us | ${cpuPerTx('shardtx').toFixed(0)} us | ` +
        `${(cpuPerTx('shardtx') / cpuPerTx('knex')).toFixed(3)} | ${(cpuPerTx('shardtx') / cpuPerTx('raw')).toFixed(3)} | ` +
        `${serverPerTx('raw')} | ${serverPerTx('knex')} | ${serverPerTx('shardtx')} |`,
    )
  }
  console.log(
    '\n| workload | raw p50 | knex p50 | shardtx p50 | raw tx/s | knex tx/s | shardtx tx/s | throughput shardtx/knex | throughput shardtx/raw | ' +
      'raw CPU/tx | knex CPU/tx | shardtx CPU/tx | CPU shardtx/knex | CPU shardtx/raw | raw server CPU/tx | knex server CPU/tx | shardtx server CPU/tx |',
  )
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const line of report) console.log(line)

  for (const side of SIDES) await runners[side].close()
  await shards.drop()
}

if (process.env[CHILD_ENV] === '1') serveChild()
else
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
