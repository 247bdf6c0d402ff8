import type { LockWaitReader } from './types.js'
import { MAX_LOCK_WAIT_ROWS, rowsToLockWaitEdges } from './lock-wait-rows.js'
import type { QueryRunner } from './query-runner.js'

/**
 * MySQL 8 removed `INNODB_LOCKS` and `INNODB_LOCK_WAITS`; `performance_schema.data_lock_waits`
 * replaces them. Its `REQUESTING_THREAD_ID` / `BLOCKING_THREAD_ID` are performance_schema thread
 * ids, NOT connection ids, so each side is joined to `information_schema.INNODB_TRX` on the
 * engine transaction id to get `trx_mysql_thread_id` (the connection id). The table comes bare
 * from `data_locks.OBJECT_NAME`.
 *
 * `data_lock_waits` is live while `INNODB_TRX` still comes from InnoDB's 100 ms cache: a wait
 * newer than the cache drops out of the inner join (a missed edge, read again later; never a
 * false one). Needs PROCESS and SELECT on performance_schema. Not yet run against a real MySQL 8
 * server (only MariaDB is available in CI): the statement follows the documented columns.
 */
export const MYSQL8_LOCK_WAITS_SQL = `SELECT
  CAST(r.trx_mysql_thread_id AS CHAR) AS waiting_connection_id,
  CAST(b.trx_mysql_thread_id AS CHAR) AS blocking_connection_id,
  CAST(w.REQUESTING_ENGINE_TRANSACTION_ID AS CHAR) AS waiting_trx_id,
  CAST(w.BLOCKING_ENGINE_TRANSACTION_ID AS CHAR) AS blocking_trx_id,
  l.OBJECT_NAME AS lock_table,
  TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()) AS wait_seconds
FROM performance_schema.data_lock_waits w
JOIN information_schema.INNODB_TRX r ON r.trx_id = w.REQUESTING_ENGINE_TRANSACTION_ID
JOIN information_schema.INNODB_TRX b ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID
LEFT JOIN performance_schema.data_locks l
  ON l.ENGINE = w.ENGINE AND l.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID
WHERE w.ENGINE = 'INNODB'
LIMIT ${MAX_LOCK_WAIT_ROWS}`

/**
 * Lock-wait reader for MySQL 8.0 and later.
 *
 * @example
 * ```ts
 * const reader = createMysql8LockWaitReader('80-', mysql2QueryRunner(adminPool))
 * const edges = await reader.read()
 * ```
 */
export function createMysql8LockWaitReader(shard: string, query: QueryRunner): LockWaitReader {
  return {
    flavor: 'mysql8',
    shard,
    read: async () => rowsToLockWaitEdges(shard, await query(MYSQL8_LOCK_WAITS_SQL)),
  }
}
