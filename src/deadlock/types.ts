/**
 * Data shared by the deadlock detector's building blocks. Pure data, no behaviour.
 */

/** Which lock-wait views a server has: MariaDB's INFORMATION_SCHEMA tables, or MySQL 8's performance_schema. */
export type ServerFlavor = 'mariadb' | 'mysql8'

/**
 * One connection-level lock wait read from a shard: connection `waitingConnectionId` waits for a
 * lock held by connection `blockingConnectionId`. Connection ids are the server's
 * `CONNECTION_ID()` (mysql2's `connection.threadId`), unique per server, not per database.
 */
export interface LockWaitEdge {
  /** The shard whose reader produced the edge (its server's connection ids). */
  shard: string
  waitingConnectionId: number
  blockingConnectionId: number
  /** InnoDB's transaction id of the waiter (a decimal string; may exceed 2^53). */
  waitingTrxId?: string
  /** InnoDB's transaction id of the holder. */
  blockingTrxId?: string
  /** Bare table name of the requested lock (`accounts`, not `` `db`.`accounts` ``). */
  table?: string
  /** Whole seconds the waiter has waited (server clock, second resolution). */
  waitSeconds?: number
}

/** One of a transaction's connections: which shard, which server connection id. */
export interface ShardConnection {
  shard: string
  connectionId: number
}

/**
 * What shardtx publishes about a waiting transaction so that any detector, in any process, can
 * map connection ids back to it.
 */
export interface TransactionOwnership {
  /** shardtx's transaction id; globally unique and compared as a plain string. */
  transactionId: string
  /** When the transaction started, epoch milliseconds; the youngest (largest) is the victim. */
  startedAt: number
  /** The process that owns the transaction's connections and can roll it back itself. */
  processId: string
  /** The transaction's connection on every shard it has joined. */
  connections: ShardConnection[]
  /** Tables it touched, for the detection event (optional). */
  tables?: string[]
  /** Where in application code it was opened (`file:line:column`), for the detection event (optional). */
  origin?: string
}

/**
 * Reads the connection-level lock waits of one shard's server. One `read()` is one statement;
 * the caller decides when to read (only while a shardtx statement has waited past the
 * threshold: nothing is read while nothing waits).
 *
 * Every reader of a server shares InnoDB's lock-view cache, which refreshes only when it was last
 * read at least 100 ms earlier (measured on MariaDB 10.11, docs/deadlock.md: polling every 50 ms saw
 * an empty table for a whole 5 s deadlock). Read each server at most every ~250 ms, from all
 * detectors of a process together (see `throttleLockWaitReader`).
 */
export interface LockWaitReader {
  readonly flavor: ServerFlavor
  readonly shard: string
  read(): Promise<LockWaitEdge[]>
}
