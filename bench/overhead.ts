/**
 * bench/overhead: what shardtx costs on top of plain knex, and how far both are from raw mysql2,
 * for single-shard transactions of 1, 5 and 20 statements.
 *
 *   npm run bench:overhead -- [--rounds 8] [--per-round 2000] [--clients 16] [--workloads '5 statements,20 statements']
 *
 * All three sides run the same SQL on the same server and shard databases, with the same pool
 * size, 16 concurrent clients: shardtx (`db.transaction`), plain knex (`knex.transaction` on the
 * shard's own instance) and raw mysql2 (hand-written SQL, BEGIN ... COMMIT on a pooled
 * connection: the floor). Rounds rotate which side goes first, so drift in the machine's load hits
 * every side alike; only ratios within one run are meaningful. Each side's Node CPU per
 * transaction (`process.cpuUsage` around its rounds) is the steadier figure on a shared machine;
 * the server columns give MariaDB's CPU per transaction on each side (from /proc, local server only).
 */
import { parseArgs } from 'node:util'
import knexFactory from 'knex'
// The built package, as users run it: tsx's on-the-fly transform wraps every closure shardtx
// creates per transaction in a naming helper, a cost plain knex (compiled JS) does not pay.
import { createShardedDb, keyrangeNames } from './support/built-package.js'
import { createTestShards } from '../test/support/shard-databases.js'
import { LatencyRecorder, formatMs } from './support/latency.js'
import { WORKLOADS, WORKLOAD_SCHEMA, type Tx } from './support/overhead-workloads.js'
import { rawMysql2Side } from './support/raw-mysql2.js'
import { localServerPid, processCpuMs } from './support/cpu.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    'per-round': { type: 'string', default: '2000' },
    clients: { type: 'string', default: '16' },
    workloads: { type: 'string', default: Object.keys(WORKLOADS).join(',') },
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

const SIDES = ['knex', 'shardtx', 'raw'] as const
type Side = (typeof SIDES)[number]

async function main() {
  const shards = await createTestShards({ names: keyrangeNames(2) })
  await shards.execAll(WORKLOAD_SCHEMA)
  const pool = { min: CLIENTS, max: CLIENTS }
  const db = createShardedDb({ shards: shards.shards, tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } }, pool })
  const plain = new Map(shards.names.map((name) => [name, knexFactory({ client: 'mysql2', connection: shards.shards[name]!, pool })]))
  const raw = new Map(shards.names.map((name) => [name, rawMysql2Side(shards.shards[name]!, CLIENTS)]))

  // Accounts placed where shardtx routes them, so plain knex and raw mysql2 can address the same rows directly.
  const ids: { id: number; shard: string }[] = []
  for (let id = 1; ids.length < ACCOUNTS_PER_SHARD * shards.names.length; id++) ids.push({ id, shard: db.shardOf('accounts', id) })
  for (const name of shards.names) {
    const rows = ids.filter((a) => a.shard === name).map((a) => ({ id: a.id, balance: 0 }))
    for (let i = 0; i < rows.length; i += 500) await plain.get(name)!('accounts').insert(rows.slice(i, i + 500))
  }

  let seq = 0
  type Workload = (typeof WORKLOADS)[string]
  const sides: Record<Side, (work: Workload, a: { id: number; shard: string }) => Promise<unknown>> = {
    knex: (work, a) => plain.get(a.shard)!.transaction((trx) => work.knex(trx as unknown as Tx, a.id, ++seq)),
    shardtx: (work, a) => db.transaction((tx) => work.knex(tx as unknown as Tx, a.id, ++seq)),
    raw: (work, a) => raw.get(a.shard)!.transaction(work.raw, a.id, ++seq),
  }

  console.log(`bench/overhead: ${ROUNDS} rounds x ${PER_ROUND} transactions per side and workload, ${CLIENTS} clients, node ${process.version}`)
  const report: string[] = []
  for (const name of chosen) {
    const work = WORKLOADS[name]!
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
    for (const side of SIDES) await runRound(side, new LatencyRecorder())
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < SIDES.length; i++) {
        const side = SIDES[(round + i) % SIDES.length]!
        const before = process.cpuUsage()
        const serverBefore = processCpuMs(serverPid)
        elapsed[side] += await runRound(side, rec[side])
        const used = process.cpuUsage(before)
        cpu[side] += used.user + used.system
        const serverAfter = processCpuMs(serverPid)
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

    async function runRound(side: Side, recorder: LatencyRecorder): Promise<number> {
      let next = 0
      const started = performance.now()
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < PER_ROUND) {
            const a = ids[(next++ * 7919) % ids.length]!
            const t0 = performance.now()
            await sides[side](work, a)
            recorder.record(performance.now() - t0)
          }
        }),
      )
      return performance.now() - started
    }
  }
  console.log(
    '\n| workload | raw p50 | knex p50 | shardtx p50 | raw tx/s | knex tx/s | shardtx tx/s | throughput shardtx/knex | throughput shardtx/raw | ' +
      'raw CPU/tx | knex CPU/tx | shardtx CPU/tx | CPU shardtx/knex | CPU shardtx/raw | raw server CPU/tx | knex server CPU/tx | shardtx server CPU/tx |',
  )
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const line of report) console.log(line)

  await db.destroy()
  await Promise.all([...plain.values()].map((k) => k.destroy()))
  await Promise.all([...raw.values()].map((r) => r.end()))
  await shards.drop()
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
