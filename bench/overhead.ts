/**
 * bench/overhead: what shardtx costs on top of plain knex for single-shard transactions.
 *
 *   npm run build && npx tsx bench/overhead.ts [--rounds 8] [--per-round 2000] [--clients 16]
 *
 * Both sides run the same SQL on the same server and shard databases, with the same pool size,
 * 16 concurrent clients. Rounds alternate which side goes first (A B B A ...), so drift in the
 * machine's load hits both equally; only ratios of the two are meaningful.
 */
import { parseArgs } from 'node:util'
import knexFactory, { type Knex } from 'knex'
// The built package, as users run it: tsx's on-the-fly transform wraps every closure shardtx
// creates per transaction in a naming helper, a cost plain knex (compiled JS) does not pay.
import { createShardedDb, keyrangeNames } from './support/built-package.js'
import { createTestShards } from '../test/support/shard-databases.js'
import { LatencyRecorder, formatMs } from './support/latency.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    'per-round': { type: 'string', default: '2000' },
    clients: { type: 'string', default: '16' },
  },
})
const ROUNDS = Number(values.rounds)
const PER_ROUND = Number(values['per-round'])
const CLIENTS = Number(values.clients)
const ACCOUNTS_PER_SHARD = 2000

type Tx = (table: string) => Knex.QueryBuilder

/** The workloads, written once against a knex-style `tx`, so both sides send identical SQL. */
const WORKLOADS: Record<string, (tx: Tx, id: number, n: number) => Promise<unknown>> = {
  '1 statement': (tx, id) => tx('accounts').where({ id }).increment('balance', 1),
  '5 statements': async (tx, id, n) => {
    await tx('accounts').where({ id }).first()
    await tx('accounts').where({ id }).decrement('balance', 1)
    await tx('accounts').where({ id }).increment('balance', 1)
    await tx('ledger').insert({ account_id: id, seq: n, amount: 1 })
    await tx('accounts').where({ id }).first()
  },
}

async function main() {
  const shards = await createTestShards({ names: keyrangeNames(2) })
  await shards.execAll(`
    CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;
    CREATE TABLE ledger (account_id BIGINT NOT NULL, seq BIGINT NOT NULL, amount BIGINT NOT NULL, PRIMARY KEY (account_id, seq)) ENGINE=InnoDB;
  `)
  const pool = { min: CLIENTS, max: CLIENTS }
  const db = createShardedDb({ shards: shards.shards, tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } }, pool })
  const plain = new Map(shards.names.map((name) => [name, knexFactory({ client: 'mysql2', connection: shards.shards[name]!, pool })]))

  // Accounts placed where shardtx routes them, so plain knex can address the same rows directly.
  const ids: { id: number; shard: string }[] = []
  for (let id = 1; ids.length < ACCOUNTS_PER_SHARD * shards.names.length; id++) ids.push({ id, shard: db.shardOf('accounts', id) })
  for (const name of shards.names) {
    const rows = ids.filter((a) => a.shard === name).map((a) => ({ id: a.id, balance: 0 }))
    for (let i = 0; i < rows.length; i += 500) await plain.get(name)!('accounts').insert(rows.slice(i, i + 500))
  }

  let seq = 0
  const sides = {
    knex: (work: (typeof WORKLOADS)[string], a: { id: number; shard: string }) =>
      plain.get(a.shard)!.transaction((trx) => work(trx as unknown as Tx, a.id, ++seq)),
    shardtx: (work: (typeof WORKLOADS)[string], a: { id: number; shard: string }) => db.transaction((tx) => work(tx as unknown as Tx, a.id, ++seq)),
  }

  console.log(`bench/overhead: ${ROUNDS} rounds x ${PER_ROUND} transactions per side and workload, ${CLIENTS} clients, node ${process.version}`)
  const report: string[] = []
  for (const [name, work] of Object.entries(WORKLOADS)) {
    const rec = { knex: new LatencyRecorder(), shardtx: new LatencyRecorder() }
    const elapsed = { knex: 0, shardtx: 0 }
    // Node CPU per side (user + system, microseconds): on a loaded machine wall-clock throughput
    // swings with the neighbours, CPU spent per transaction much less.
    const cpu = { knex: 0, shardtx: 0 }
    // warm-up: fill pools and caches on both sides
    for (const side of ['knex', 'shardtx'] as const) await runRound(side, new LatencyRecorder())
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['knex', 'shardtx'] as const) : (['shardtx', 'knex'] as const)
      for (const side of order) {
        const before = process.cpuUsage()
        elapsed[side] += await runRound(side, rec[side])
        const used = process.cpuUsage(before)
        cpu[side] += used.user + used.system
      }
    }
    const tps = { knex: (ROUNDS * PER_ROUND) / (elapsed.knex / 1000), shardtx: (ROUNDS * PER_ROUND) / (elapsed.shardtx / 1000) }
    const row = {
      workload: name,
      knexMedian: rec.knex.percentile(50),
      shardtxMedian: rec.shardtx.percentile(50),
      knexP99: rec.knex.percentile(99),
      shardtxP99: rec.shardtx.percentile(99),
      medianRatio: rec.shardtx.percentile(50) / rec.knex.percentile(50),
      throughputRatio: tps.shardtx / tps.knex,
      cpuPerTx: { knex: cpu.knex / (ROUNDS * PER_ROUND), shardtx: cpu.shardtx / (ROUNDS * PER_ROUND) },
    }
    const line =
      `| ${name} | ${formatMs(row.knexMedian)} | ${formatMs(row.shardtxMedian)} | ${formatMs(row.knexP99)} | ${formatMs(row.shardtxP99)} | ` +
      `${tps.knex.toFixed(0)} | ${tps.shardtx.toFixed(0)} | **${row.medianRatio.toFixed(3)}** | **${row.throughputRatio.toFixed(3)}** | ` +
      `${row.cpuPerTx.knex.toFixed(0)} us | ${row.cpuPerTx.shardtx.toFixed(0)} us | ${(row.cpuPerTx.shardtx / row.cpuPerTx.knex).toFixed(3)} |`
    report.push(line)

    async function runRound(side: 'knex' | 'shardtx', recorder: LatencyRecorder): Promise<number> {
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
    '\n| workload | knex p50 | shardtx p50 | knex p99 | shardtx p99 | knex tx/s | shardtx tx/s | p50 ratio (<= 1.05) | throughput ratio (>= 0.95) | knex CPU/tx | shardtx CPU/tx | CPU ratio |',
  )
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const line of report) console.log(line)

  await db.destroy()
  await Promise.all([...plain.values()].map((k) => k.destroy()))
  await shards.drop()
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
