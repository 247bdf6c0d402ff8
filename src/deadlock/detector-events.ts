/**
 * What the detector reports: one structured event per deadlock it breaks (logged at warn) and
 * counters for monitoring (`db.deadlockStats()`).
 */

/** One member of a distributed deadlock, as the detection event lists it. */
export interface DeadlockMember {
  transactionId: string
  /** The process that owns it (`PROCESS_TAG` of that process). */
  processId: string
  /** Epoch ms. */
  startedAt: number
  /** Shards it holds a connection on. */
  shards: string[]
  /** Tables it touched; known only for transactions of this process. */
  tables?: string[]
  /** `file:line:column` of its `db.transaction()` call; known only for transactions of this process. */
  origin?: string
}

/** One wait of the cycle: `waiting` waits on `shard` (table `table`) for a lock `blocking` holds. */
export interface DeadlockWait {
  waiting: string
  blocking: string
  shard: string
  table?: string
}

/**
 * Logged at warn once per deadlock this process breaks, whether the victim is its own or, after
 * the grace period, another process's.
 *
 * @example
 * ```json
 * { "event": "shardtx.distributed_deadlock", "resolution": "rolled back here",
 *   "victim": "tx-1a2b3c-0000002a", "transactions": [...], "shards": ["-80", "80-"],
 *   "tables": ["accounts"], "origins": ["src/transfer.ts:12:7"], "detectionLatencyMs": 231 }
 * ```
 */
export interface DistributedDeadlockEvent {
  event: 'shardtx.distributed_deadlock'
  /** `rolled back here`: the victim belongs to this process; `killed for another process`: its owner did not break the cycle within the grace period. */
  resolution: 'rolled back here' | 'killed for another process'
  /** Transaction id of the victim (the youngest member; ties: the larger id). */
  victim: string
  /** Members in wait order, starting with the victim. */
  transactions: DeadlockMember[]
  waits: DeadlockWait[]
  /** Shards where the cycle's waits are, sorted. */
  shards: string[]
  /** Tables the members touched (and the cycle's locks are on), sorted. */
  tables: string[]
  /** Distinct origins of the members known here. */
  origins: string[]
  /** From the start of the oldest wait of the cycle (as far as this process knows it) to the decision. */
  detectionLatencyMs: number
}

/** Counters since the ShardedDb was created. */
export interface DeadlockStats {
  /** False when `deadlock.enabled` is false. */
  enabled: boolean
  /** Distinct deadlocks found (each victim counted once), including those left to another process. */
  detections: number
  /** Victims of this process rolled back (their connections killed) by this process. */
  victimsKilledLocally: number
  /** Victims of other processes whose connections this process killed after the grace period. */
  victimsKilledForOtherProcesses: number
  /** Detection rounds run (each reads the servers concerned once). */
  rounds: number
  /** Lock-view reads of a server. */
  reads: number
  /** Lock-view reads that failed (the round carries on with the other servers). */
  readErrors: number
  /** Ownership publications, withdrawals and reads that failed. */
  ownershipErrors: number
  /** KILL CONNECTION statements that failed (a connection already gone is not counted). */
  killErrors: number
  /** Rounds whose graph or cycle search hit a cap (a cycle may have been missed, none invented). */
  graphTruncations: number
  /** Sessions not tracked because the registry was full. */
  registryOverflow: number
  /** Servers (`host:port` or socket path) on which detection is off because the user lacks the PROCESS privilege (1227). */
  serversDisabled: string[]
  /** Statements currently waiting past the threshold. */
  waitingNow: number
}
