import type { Knex } from 'knex'
import type { LockSet } from '../transaction/lock-set.js'
import { executeOnShard } from '../transaction/statement-executor.js'
import type { TransactionState } from '../transaction/transaction-state.js'

/**
 * Takes a lock set before the callback runs: shard by shard in canonical order, and on each shard
 * table by table (by name), one statement per table:
 *
 *   SELECT <key> FROM <table> WHERE <key> IN (...) ORDER BY <key> FOR UPDATE
 *
 * Measured on MariaDB 10.11: InnoDB locks the rows of such a statement one at a time in index
 * order (ORDER BY ... DESC reverses it), and for existing rows of a unique key it takes record
 * locks only, no gap locks. Two ordered transactions therefore never deadlock on their up-front
 * locks, not even on one shard. A key with no row takes a gap lock, which InnoDB shares between
 * transactions: declare rows that exist, not rows you are about to insert (docs/ordered.md).
 *
 * Shards without rows in the set (the transaction inserts there) only get their session opened,
 * in the same order, because taking a pooled connection is a wait too.
 *
 * Every key is locked exclusively, even if the callback only reads it with forShare(): a shared
 * lock that the callback later upgrades could wait on a lower shard.
 *
 * @example
 * ```ts
 * await acquireLockSet(tx, new LockSet().addKeys('-80', 'accounts', [1]).addKeys('80-', 'accounts', [4]), held)
 * ```
 */
export async function acquireLockSet(tx: TransactionState, set: LockSet, held: LockSet): Promise<void> {
  const rank = (shard: string) => tx.runtime.shardMap.rank(shard)
  for (const shard of set.shardsInOrder(rank)) {
    const session = tx.join(shard, { statement: undefined, table: undefined, callSite: undefined })
    const tables = set.tablesOn(shard)
    if (tables.length === 0) await session
    for (const table of tables) {
      const column = tx.runtime.router.tableConfig(table).shardKey
      if (column === undefined) continue // pinned tables never enter a lock set (validated, and never learned)
      const keys = set.keysInOrder(shard, table)
      // knex's types omit bigint, which it binds correctly (the routed statements rely on the same).
      const values = keys as readonly Knex.Value[] as readonly string[]
      const builder = tx.runtime.compileClient.queryBuilder().from(table).select(column).whereIn(column, values).orderBy(column, 'asc').forUpdate()
      tx.tables.add(table)
      await executeOnShard(tx, shard, builder, { readOnly: false, callSite: undefined })
      held.addKeys(shard, table, keys)
    }
  }
}
