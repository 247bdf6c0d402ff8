/** The deadlock detector's building blocks; see README.md in this folder. Explicit named exports only. */
export type { LockWaitEdge, ServerFlavor, ShardConnection, TransactionOwnership } from './types.js'
export type { BuildWaitForGraphOptions, WaitForGraph, WaitForGraphLimits, WaitForGraphStats } from './wait-for-graph.js'
export { buildWaitForGraph, DEFAULT_WAIT_FOR_GRAPH_LIMITS } from './wait-for-graph.js'
export type { SccScratch } from './strongly-connected-components.js'
export { createSccScratch, stronglyConnectedComponents } from './strongly-connected-components.js'
export type { DeadlockCycle, DeadlockSearchResult, FindDeadlocksOptions } from './cycle-search.js'
export { findDeadlocks } from './cycle-search.js'
export { chooseVictim, isPreferredVictim } from './victim.js'
export type { LockWaitReader } from './lock-wait-reader.js'
export { createLockWaitReader } from './lock-wait-reader.js'
export { MAX_LOCK_WAIT_ROWS, rowsToLockWaitEdges } from './lock-wait-rows.js'
export { createMariaDbLockWaitReader, MARIADB_LOCK_WAITS_SQL, MARIADB_LOCKS_SQL, MARIADB_TRX_SQL } from './lock-wait-reader-mariadb.js'
export { createMysql8LockWaitReader, MYSQL8_LOCK_WAITS_SQL } from './lock-wait-reader-mysql8.js'
export { throttleLockWaitReader } from './throttled-reader.js'
export { detectServerFlavor, parseServerFlavor } from './server-flavor.js'
export { normalizeTableName } from './table-name.js'
export type { KnexRawable, Mysql2Queryable, QueryRunner } from './query-runner.js'
export { knexQueryRunner, mysql2QueryRunner } from './query-runner.js'
export { killConnectionSql } from './kill.js'
export {
  cleanStaleOwnerships, CREATE_LOCK_WAITERS_TABLE_SQL, DEFAULT_OWNERSHIP_MAX_AGE_SECONDS, ensureLockWaitersTable,
  LOCK_WAITERS_TABLE, MAX_OWNERSHIP_ROWS, MAX_PUBLISHED_SHARDS, MAX_STALE_CLEANUP, publishOwnership, readOwnerships,
  withdrawOwnership,
} from './ownership-registry.js'
