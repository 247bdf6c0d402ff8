/**
 * The two tables behind `split`'s exactly-once guarantee. shardtx creates them itself
 * (`CREATE TABLE IF NOT EXISTS`, lazily, once per ShardedDb and shard) the first time a split
 * plan needs them; run the same statements as a migration if the application's database user
 * may not create tables. docs/split.md reproduces them.
 */

/** On the coordinator shard (the first shard in canonical order): one row per accepted plan. */
export const PLANS_TABLE = 'shardtx_split_plans'

/** On every shard that ran a part: one row per applied part, written inside the part's own transaction. */
export const APPLIED_TABLE = 'shardtx_split_applied'

/**
 * The plans table (migration SQL; safe to run more than once).
 *
 * @example
 * ```ts
 * import { CREATE_PLANS_TABLE, CREATE_APPLIED_TABLE } from 'shardtx'
 * for (const name of db.shardNames) {
 *   await db.shard(name).raw(CREATE_PLANS_TABLE)
 *   await db.shard(name).raw(CREATE_APPLIED_TABLE)
 * }
 * ```
 *
 * - `plan_id`: time-ordered (hex milliseconds + random), so new rows append to the primary key.
 * - `idempotency_key`: SHA-256 of the caller's key (never the key), unique: a resubmission finds
 *   the original plan instead of creating a second one. NULL for plans without a key.
 * - `plan`: JSON `{ v: 1, parts: [{ shard, statements: [{ sql, bindings }] }] }`.
 * - `failure`: JSON `{ partNo, shard, code, errno, sqlState, message }` of a failed plan.
 * - `finished_at` is NULL while pending; pruning deletes rows whose `finished_at` is older than
 *   `split.retainFinishedMs` (index `ix_finished`), recovery scans `status = 'pending'` by id.
 */
export const CREATE_PLANS_TABLE = `CREATE TABLE IF NOT EXISTS ${PLANS_TABLE} (
  plan_id CHAR(32) CHARACTER SET ascii NOT NULL,
  idempotency_key CHAR(64) CHARACTER SET ascii NULL,
  status ENUM('pending', 'applied', 'failed') NOT NULL,
  parallel_parts TINYINT(1) NOT NULL DEFAULT 0,
  part_count SMALLINT UNSIGNED NOT NULL,
  plan LONGTEXT NOT NULL,
  plan_digest CHAR(64) CHARACTER SET ascii NOT NULL,
  transaction_id VARCHAR(64) NULL,
  origin VARCHAR(512) NULL,
  failure TEXT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  finished_at DATETIME(3) NULL,
  PRIMARY KEY (plan_id),
  UNIQUE KEY uq_idempotency_key (idempotency_key),
  KEY ix_status (status),
  KEY ix_finished (finished_at)
) ENGINE=InnoDB`

/**
 * The primary key is the exactly-once guard: a part's transaction inserts its row first, so a
 * second runner of the same part (a recovering process, a resubmission) either waits for the
 * first one's transaction and then fails with a duplicate key (the part is applied), or gets the
 * row lock after the first one rolled back and applies the part itself.
 */
export const CREATE_APPLIED_TABLE = `CREATE TABLE IF NOT EXISTS ${APPLIED_TABLE} (
  plan_id CHAR(32) CHARACTER SET ascii NOT NULL,
  part_no SMALLINT UNSIGNED NOT NULL,
  applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (plan_id, part_no)
) ENGINE=InnoDB`
