/**
 * The three sides of bench/overhead on one shard, for the benchmarks that look at one side at a
 * time (bench/profile), opened by overhead-sides.ts: shardtx's `db.transaction`, plain knex's
 * `knex.transaction` on the shard's own instance, and raw mysql2 with hand-written SQL.
 */
import { createShardedDb, keyrangeNames } from './built-package.js'
import { createTestShards } from '../../test/support/shard-databases.js'
import { WORKLOADS, WORKLOAD_SCHEMA } from './overhead-workloads.js'
import { SIDE_NAMES, WORKLOAD_TABLES, openSide, runRound, type Account, type SideName } from './overhead-sides.js'

export { SIDE_NAMES, type SideName }

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
  // 2,000 accounts on the first shard, placed where shardtx routes them.
  const shard = shards.names[0]!
  const placement = createShardedDb({ shards: shards.shards, tables: WORKLOAD_TABLES })
  const ids: Account[] = []
  for (let id = 1; ids.length < 2000; id++) if (placement.shardOf('accounts', id) === shard) ids.push({ id, shard })
  await placement
    .shard(shard)('accounts')
    .insert(ids.map((a) => ({ id: a.id, balance: 0 })))
  await placement.destroy()
  const side = openSide(sideName as SideName, { shards: shards.shards, ids }, { clients, seqBase: 0 })
  return {
    async run(count) {
      await runRound(side, work, ids, { clients, count })
    },
    async close() {
      await side.close()
      await shards.drop()
    },
  }
}
