import type { QueryRunner } from './query-runner.js'
import type { TransactionOwnership } from './types.js'

/**
 * Cross-process ownership registry: a small table on a coordinator shard where a transaction
 * that has waited past the threshold publishes which connection it owns on which shard. Every
 * member of a cycle is waiting, so every member publishes, and any process's detector can map
 * the connection ids of the lock views to transactions. A connection nobody published is
 * external and never part of a cycle.
 *
 * Rules for callers:
 * - Run these on a pooled connection in autocommit mode that is NOT one of the transaction's
 *   own connections: inside the transaction the row would be invisible to others until commit
 *   and rolled back with it.
 * - Withdraw before releasing the transaction's connections to the pool: a row that outlives its
 *   transaction would map a reused connection id to the wrong transaction.
 * - Re-publish (same call) at least every `maxAgeSeconds / 2` while still waiting; rows older than
 *   `maxAgeSeconds` are ignored (their process may be dead) and cleaned.
 *
 * `published_at` is the coordinator's `UTC_TIMESTAMP(3)`, so process clocks and session time
 * zones do not matter. Every statement touches a bounded number of rows (LIMIT or primary key).
 */
export const LOCK_WAITERS_TABLE = 'shardtx_lock_waiters'

/** Shards one transaction may publish; far above any real transaction, it bounds one REPLACE. */
export const MAX_PUBLISHED_SHARDS = 1_024
/** Rows one `readOwnerships` returns at most (the graph keeps at most 10,000 transactions anyway). */
export const MAX_OWNERSHIP_ROWS = 10_000
/** Transactions one `cleanStaleOwnerships` removes at most. */
export const MAX_STALE_CLEANUP = 1_000
/** @default for `maxAgeSeconds` */
export const DEFAULT_OWNERSHIP_MAX_AGE_SECONDS = 10

export const CREATE_LOCK_WAITERS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS ${LOCK_WAITERS_TABLE} (
  transaction_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  started_at BIGINT NOT NULL COMMENT 'epoch ms; the youngest transaction of a cycle is the victim',
  process_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  shard VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  connection_id BIGINT UNSIGNED NOT NULL COMMENT 'CONNECTION_ID() of the transaction on that shard',
  published_at DATETIME(3) NOT NULL COMMENT 'UTC_TIMESTAMP(3) of the coordinator',
  PRIMARY KEY (transaction_id, shard),
  KEY published_at (published_at)
) ENGINE=InnoDB COMMENT='shardtx: connections of transactions waiting on a lock (distributed deadlock detection)'`

/**
 * Creates the registry table if it does not exist.
 *
 * @example
 * ```ts
 * await ensureLockWaitersTable(mysql2QueryRunner(coordinatorPool))
 * ```
 */
export async function ensureLockWaitersTable(query: QueryRunner): Promise<void> {
  await query(CREATE_LOCK_WAITERS_TABLE_SQL)
}

/**
 * Publishes (or refreshes) a waiting transaction's connections: one multi-row REPLACE, one row
 * per shard, committed at once by autocommit.
 *
 * @throws {TypeError} on an empty or over-long id, a non-integer `startedAt` or connection id, or
 *   no connections / more than {@link MAX_PUBLISHED_SHARDS}.
 * @example
 * ```ts
 * await publishOwnership(run, {
 *   transactionId: 'p1-42', startedAt: Date.now(), processId: 'p1',
 *   connections: [{ shard: '-80', connectionId: 311 }, { shard: '80-', connectionId: 57 }],
 * })
 * ```
 */
export async function publishOwnership(query: QueryRunner, ownership: TransactionOwnership): Promise<void> {
  const { transactionId, startedAt, processId, connections } = ownership
  if (typeof transactionId !== 'string' || transactionId.length === 0 || transactionId.length > 128) {
    throw new TypeError(`Expected \`transactionId\` to be a string of 1 to 128 characters, got ${JSON.stringify(transactionId)}`)
  }
  if (!Number.isSafeInteger(startedAt)) throw new TypeError(`Expected \`startedAt\` to be epoch milliseconds, got ${String(startedAt)}`)
  if (connections.length === 0 || connections.length > MAX_PUBLISHED_SHARDS) {
    throw new TypeError(`Expected 1 to ${MAX_PUBLISHED_SHARDS} \`connections\`, got ${connections.length}`)
  }
  const params: unknown[] = []
  for (const c of connections) {
    if (!Number.isSafeInteger(c.connectionId) || c.connectionId <= 0) {
      throw new TypeError(`Expected \`connectionId\` of shard ${c.shard} to be a positive integer, got ${String(c.connectionId)}`)
    }
    params.push(transactionId, startedAt, processId, c.shard, c.connectionId)
  }
  const values = connections.map(() => '(?, ?, ?, ?, ?, UTC_TIMESTAMP(3))').join(', ')
  await query(`REPLACE INTO ${LOCK_WAITERS_TABLE} (transaction_id, started_at, process_id, shard, connection_id, published_at) VALUES ${values}`, params)
}

/**
 * Removes a transaction's rows (it stopped waiting, committed or rolled back). Primary-key
 * prefix, so it locks only those rows.
 *
 * @example
 * ```ts
 * await withdrawOwnership(run, 'p1-42')
 * ```
 */
export async function withdrawOwnership(query: QueryRunner, transactionId: string): Promise<void> {
  await query(`DELETE FROM ${LOCK_WAITERS_TABLE} WHERE transaction_id = ? LIMIT ${MAX_PUBLISHED_SHARDS}`, [transactionId])
}

const ageMicros = (maxAgeSeconds: number): number => {
  if (!Number.isFinite(maxAgeSeconds) || maxAgeSeconds <= 0) {
    throw new TypeError(`Expected \`maxAgeSeconds\` to be a positive number, got ${String(maxAgeSeconds)}`)
  }
  return Math.round(maxAgeSeconds * 1e6)
}

/**
 * Reads the ownerships published within the last `maxAgeSeconds` (a plain consistent read: takes
 * no locks), grouped per transaction. Older rows are ignored; see {@link cleanStaleOwnerships}.
 *
 * @example
 * ```ts
 * const graph = buildWaitForGraph(edges, [...mine, ...await readOwnerships(run)])
 * ```
 */
export async function readOwnerships(query: QueryRunner, options: { maxAgeSeconds?: number } = {}): Promise<TransactionOwnership[]> {
  const micros = ageMicros(options.maxAgeSeconds ?? DEFAULT_OWNERSHIP_MAX_AGE_SECONDS)
  const rows = await query(
    `SELECT transaction_id, started_at, process_id, shard, connection_id FROM ${LOCK_WAITERS_TABLE}
     WHERE published_at >= UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND
     ORDER BY transaction_id, shard LIMIT ${MAX_OWNERSHIP_ROWS}`,
    [micros],
  )
  const byId = new Map<string, TransactionOwnership>()
  for (const row of rows) {
    const transactionId = String(row.transaction_id)
    const connectionId = Number(row.connection_id)
    const startedAt = Number(row.started_at)
    if (!Number.isSafeInteger(connectionId) || !Number.isSafeInteger(startedAt)) continue
    let ownership = byId.get(transactionId)
    if (ownership === undefined) {
      ownership = { transactionId, startedAt, processId: String(row.process_id), connections: [] }
      byId.set(transactionId, ownership)
    }
    ownership.connections.push({ shard: String(row.shard), connectionId })
  }
  return [...byId.values()]
}

/**
 * Deletes rows older than `maxAgeSeconds` (left by a process that died or lost its coordinator
 * connection), at most {@link MAX_STALE_CLEANUP} transactions per call. Finds them with a
 * lock-free read, then deletes by primary key, re-checking the age, so a transaction that
 * re-published meanwhile keeps its rows and no range of the table is locked. Returns the number
 * of transactions found stale.
 *
 * @example
 * ```ts
 * await cleanStaleOwnerships(run, { maxAgeSeconds: 10 })
 * ```
 */
export async function cleanStaleOwnerships(query: QueryRunner, options: { maxAgeSeconds?: number } = {}): Promise<number> {
  const micros = ageMicros(options.maxAgeSeconds ?? DEFAULT_OWNERSHIP_MAX_AGE_SECONDS)
  const rows = await query(
    `SELECT DISTINCT transaction_id FROM ${LOCK_WAITERS_TABLE}
     WHERE published_at < UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND LIMIT ${MAX_STALE_CLEANUP}`,
    [micros],
  )
  const ids = rows.map((r) => String(r.transaction_id))
  if (ids.length === 0) return 0
  await query(
    `DELETE FROM ${LOCK_WAITERS_TABLE} WHERE transaction_id IN (${ids.map(() => '?').join(', ')})
     AND published_at < UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND`,
    [...ids, micros],
  )
  return ids.length
}
