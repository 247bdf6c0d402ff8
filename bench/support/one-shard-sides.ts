/**
 * The three sides of bench/overhead on one shard, for the benchmarks that look at one side at a
 * time (bench/profile, bench/instructions): shardtx's `db.transaction`, plain knex's
 * `knex.transaction` on the shard's own instance, and raw mysql2 with hand-written SQL.
 */
import knexFactory from 'knex'
import { createShardedDb, keyrangeNames } from './built-package.js'
import { createTestShards } from '../../test/support/shard-databases.js'
import { WORKLOADS, WORKLOAD_SCHEMA, type Tx } from './overhead-workloads.js'
import { rawMysql2Side } from './raw-mysql2.js'

export const SIDE_NAMES = ['shardtx', 'knex', 'raw'] as const
export type SideName = (typeof SIDE_NAMES)[number]

/** One side, ready to run a workload's transactions with `clients` at a time. */
export interface OneShardSide {
  /** Runs `count` transactions of the workload, `clients` at a time. */
  run(count: number): Promise<void>
  close(): Promise<void>
}

/**
 * Validates the names (a `TypeError` naming the accepted values otherwise), creates two shard
 * databases with the workload schema and 2,000 accounts on the first one, and opens the side.
 *
 * @example
 * ```ts
 * const side = await openOneShardSide('shardtx', '5 statements', 16)
 * await side.run(2000)
 * await side.close()
 * ```
 */
export async function openOneShardSide(sideName: string, workloadName: string, clients: number): Promise<OneShardSide> {
  const work = WORKLOADS[workloadName]
  if (work === undefined) throw new TypeError(`Expected a workload from ${JSON.stringify(Object.keys(WORKLOADS))}, got ${JSON.stringify(workloadName)}`)
  if (!(SIDE_NAMES as readonly string[]).includes(sideName))
    throw new TypeError(`Expected a side from ${JSON.stringify(SIDE_NAMES)}, got ${JSON.stringify(sideName)}`)
  const shards = await createTestShards({ names: keyrangeNames(2) })
  await shards.execAll(WORKLOAD_SCHEMA)
  const pool = { min: clients, max: clients }
  const db = createShardedDb({ shards: shards.shards, tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } }, pool })
  const shard = shards.names[0]!
  const plain = knexFactory({ client: 'mysql2', connection: shards.shards[shard]!, pool })
  const raw = rawMysql2Side(shards.shards[shard]!, clients)
  const ids: number[] = []
  for (let id = 1; ids.length < 2000; id++) if (db.shardOf('accounts', id) === shard) ids.push(id)
  await plain('accounts').insert(ids.map((id) => ({ id, balance: 0 })))

  let seq = 0
  const one = (id: number): Promise<unknown> => {
    if (sideName === 'knex') return plain.transaction((trx) => work.knex(trx as unknown as Tx, id, ++seq))
    if (sideName === 'raw') return raw.transaction(work.raw, id, ++seq)
    return db.transaction((tx) => work.knex(tx as unknown as Tx, id, ++seq))
  }
  return {
    async run(count) {
      let next = 0
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < count) await one(ids[(next++ * 7919) % ids.length]!)
        }),
      )
    },
    async close() {
      await db.destroy()
      await plain.destroy()
      await raw.end()
      await shards.drop()
    },
  }
}
