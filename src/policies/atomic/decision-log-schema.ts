/**
 * The table behind `atomic`'s commit point. shardtx creates it itself (`CREATE TABLE IF NOT
 * EXISTS`, lazily, once per ShardedDb and shard) the first time a shard coordinates a multi-shard
 * atomic transaction; run the same statement as a migration on every shard if the application's
 * database user may not create tables. docs/atomic.md reproduces it.
 */

/** On every shard that may coordinate (any shard): one row per decided multi-shard atomic transaction. */
export const DECISIONS_TABLE = 'shardtx_atomic_decisions'

/**
 * The decision records table (migration SQL; safe to run more than once).
 *
 * @example
 * ```ts
 * import { CREATE_ATOMIC_DECISIONS_TABLE } from 'shardtx'
 * for (const name of db.shardNames) await db.shard(name).raw(CREATE_ATOMIC_DECISIONS_TABLE)
 * ```
 *
 * - `gtrid`: the transaction's XA gtrid (see policies/atomic/xid.ts); the primary key is the
 *   arbiter: the committing transaction inserts `commit` inside its coordinator transaction before
 *   any branch is prepared, a recoverer inserts `abort` before rolling a branch back, and only one
 *   of the two rows can ever exist.
 * - `decided_at` (server clock): pruning deletes rows older than `atomic.retainDecisionsMs` once no
 *   server lists a branch of theirs (index `ix_decided`).
 */
export const CREATE_ATOMIC_DECISIONS_TABLE = `CREATE TABLE IF NOT EXISTS ${DECISIONS_TABLE} (
  gtrid VARCHAR(64) CHARACTER SET ascii NOT NULL,
  outcome ENUM('commit', 'abort') NOT NULL,
  transaction_id VARCHAR(64) CHARACTER SET ascii NULL,
  branches SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  decided_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (gtrid),
  KEY ix_decided (decided_at)
) ENGINE=InnoDB`
