import type { ShardedDb, ShardedTransaction } from '../../src/index.js'

/**
 * The kind of helper applications wrap `db.transaction` in: every footprint it records has this
 * file's line as `origin`, and its callers' lines in `callers` (see `shardtx report --helper`).
 *
 * @example
 * ```ts
 * await withTransaction(db, (tx) => tx('accounts').where({ id: 1 }).increment('balance', 1))
 * ```
 */
export function withTransaction<T>(db: ShardedDb, fn: (tx: ShardedTransaction) => Promise<T>): Promise<T> {
  return db.transaction(fn, { crossShard: 'warn', reason: 'https://tracker.example/HELPER-1' })
}
