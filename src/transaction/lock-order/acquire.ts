import type { Knex } from 'knex'
import type { LockSet } from './lock-set.js'
import { executeOnShard } from '../statement-executor.js'
import type { JoinRequest, TransactionState } from '../transaction-state.js'

/**
 * Makes the transaction participate in every shard of `set`, in canonical order, synchronously:
 * the sessions open (pooled connection, BEGIN) in that order, and statements issued afterwards
 * see those shards as joined. Rows are locked separately, by {@link lockRows}, from the attempt's
 * statement queue.
 *
 * @example
 * ```ts
 * joinInOrder(tx, take, CATCH_UP) // before queueing lockRows(tx, take)
 * ```
 */
export function joinInOrder(tx: TransactionState, set: LockSet, request: JoinRequest): void {
  for (const shard of set.shardsInOrder((s) => tx.services.shardMap.rank(s))) tx.join(shard, request)
}

/**
 * Locks the rows of a lock set: shard by shard in canonical order, and on each shard table by
 * table (by name), one statement per table:
 *
 *   SELECT <key> FROM <table> WHERE <key> IN (...) ORDER BY <key> FOR UPDATE
 *
 * Measured on MariaDB 10.11: InnoDB locks the rows of such a statement one at a time in index
 * order (ORDER BY ... DESC reverses it), and for existing rows of a unique key it takes record
 * locks only, no gap locks. Two ordered transactions therefore never deadlock on these locks, not
 * even on one shard. A key with no row takes a gap lock, which InnoDB shares between
 * transactions: declare rows that exist, not rows you are about to insert (docs/ordered.md).
 *
 * Shards without rows in the set only get their session (see {@link joinInOrder}), because
 * taking a pooled connection is a wait too.
 *
 * Every key is locked exclusively, even if the callback only reads it with forShare(): a shared
 * lock that the callback later upgrades could wait on a lower shard.
 *
 * @example
 * ```ts
 * await lockRows(tx, new LockSet().addKeys('-80', 'accounts', [1]).addKeys('80-', 'accounts', [4]))
 * ```
 */
export async function lockRows(tx: TransactionState, set: LockSet): Promise<void> {
  for (const shard of set.shardsInOrder((s) => tx.services.shardMap.rank(s))) {
    for (const table of set.tablesOn(shard)) {
      const column = tx.services.router.shardKeyOf(table)
      if (column === undefined) continue // pinned tables never enter a lock set (validated, and never learned)
      // knex's types omit bigint, which it binds correctly (the routed statements rely on the same).
      const values = set.keysInOrder(shard, table) as readonly Knex.Value[] as readonly string[]
      const builder = tx.services.compileClient.queryBuilder().from(table).select(column).whereIn(column, values).orderBy(column, 'asc').forUpdate()
      tx.tables.add(table)
      await executeOnShard(tx, shard, builder, { readOnly: false, callSite: undefined })
    }
  }
}
