/**
 * bench/profile: where the Node CPU of one side of bench/overhead goes, by owner and by function.
 *
 *   npm run build && npx tsx bench/profile.ts [--side shardtx|knex|raw] [--workload '5 statements']
 *     [--transactions 6000] [--clients 16] [--top 10] [--out profile.cpuprofile]
 *
 * Runs the workload's transactions (after a warm-up of the same size) under V8's sampling
 * profiler (node:inspector, the profiler `node --cpu-prof` uses) and prints self time grouped by
 * owner (shardtx's built package, knex, mysql2, other packages, node internals, garbage
 * collection) and the top shardtx-owned functions by self time. `--out` keeps the raw profile
 * for Chrome DevTools.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { parseArgs } from 'node:util'
import knexFactory from 'knex'
import { createShardedDb, keyrangeNames } from './support/built-package.js'
import { createTestShards } from '../test/support/shard-databases.js'
import { WORKLOADS, WORKLOAD_SCHEMA, type Tx } from './support/overhead-workloads.js'
import { rawMysql2Side } from './support/raw-mysql2.js'
import { summarizeProfile, type CpuProfile } from './support/profile-summary.js'

const { values } = parseArgs({
  options: {
    side: { type: 'string', default: 'shardtx' },
    workload: { type: 'string', default: '5 statements' },
    transactions: { type: 'string', default: '6000' },
    clients: { type: 'string', default: '16' },
    top: { type: 'string', default: '10' },
    out: { type: 'string' },
  },
})
const work = WORKLOADS[values.workload]
if (work === undefined)
  throw new TypeError(`Expected --workload to be one of ${JSON.stringify(Object.keys(WORKLOADS))}, got ${JSON.stringify(values.workload)}`)
if (!['shardtx', 'knex', 'raw'].includes(values.side)) throw new TypeError(`Expected --side to be shardtx, knex or raw, got ${JSON.stringify(values.side)}`)
const TRANSACTIONS = Number(values.transactions)
const CLIENTS = Number(values.clients)

async function main() {
  const shards = await createTestShards({ names: keyrangeNames(2) })
  await shards.execAll(WORKLOAD_SCHEMA)
  const pool = { min: CLIENTS, max: CLIENTS }
  const db = createShardedDb({ shards: shards.shards, tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } }, pool })
  const shard = shards.names[0]!
  const plain = knexFactory({ client: 'mysql2', connection: shards.shards[shard]!, pool })
  const raw = rawMysql2Side(shards.shards[shard]!, CLIENTS)
  const ids: number[] = []
  for (let id = 1; ids.length < 2000; id++) if (db.shardOf('accounts', id) === shard) ids.push(id)
  await plain('accounts').insert(ids.map((id) => ({ id, balance: 0 })))

  let seq = 0
  const one = (id: number): Promise<unknown> => {
    if (values.side === 'knex') return plain.transaction((trx) => work!.knex(trx as unknown as Tx, id, ++seq))
    if (values.side === 'raw') return raw.transaction(work!.raw, id, ++seq)
    return db.transaction((tx) => work!.knex(tx as unknown as Tx, id, ++seq))
  }
  const run = async () => {
    let next = 0
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < TRANSACTIONS) await one(ids[(next++ * 7919) % ids.length]!)
      }),
    )
  }

  await run() // warm-up: pools filled, code optimised
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 500 })
  await session.post('Profiler.start')
  const cpuBefore = process.cpuUsage()
  await run()
  const cpu = process.cpuUsage(cpuBefore)
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile }
  session.disconnect()
  if (values.out !== undefined) writeFileSync(values.out, JSON.stringify(profile))

  const cpuPerTx = (cpu.user + cpu.system) / TRANSACTIONS
  console.log(
    `bench/profile: ${values.side}, ${values.workload}, ${TRANSACTIONS} transactions, ${CLIENTS} clients: Node CPU ${cpuPerTx.toFixed(0)} us per transaction`,
  )
  console.log(summarizeProfile(profile, { transactions: TRANSACTIONS, top: Number(values.top) }))

  await db.destroy()
  await plain.destroy()
  await raw.end()
  await shards.drop()
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
