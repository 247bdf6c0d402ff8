import diagnosticsChannel from 'node:diagnostics_channel'

/** How a transaction ended, as policies and log events see it. */
export type TransactionOutcome = 'committed' | 'rolled back' | 'partial commit'

/**
 * Structured events shardtx logs. Every event has a stable `event` name so log pipelines can
 * alert on it; key values and credentials never appear unless `warnings.logKeyValues` is on.
 */
export interface CrossShardTransactionEvent {
  event: 'shardtx.cross_shard_transaction'
  transactionId: string
  policy: string
  /** A {@link TransactionOutcome}. */
  outcome: string
  shards: string[]
  tables: string[]
  /** `file:line:column` of the `db.transaction()` call. */
  origin: string
  /**
   * The lines that called the function holding the `db.transaction()` call, nearest first (up to
   * two; on the diagnostics channel only, not in log lines): where a helper that wraps
   * `db.transaction` was called from. Footprints record them for `shardtx report --helper`.
   */
  callers?: string[]
  reason: string | undefined
  durationMs: number
  /** Warnings from this origin dropped by rate limiting since the previous one was logged. */
  suppressed: number
  /** Dropped warnings of origins the limiter had to forget (bounded memory), reported once. */
  suppressedElsewhere?: number
  /** Shard key values by shard; present only with `warnings.logKeyValues: true`. */
  keys?: Record<string, string[]>
}

export interface TransactionRetryEvent {
  event: 'shardtx.transaction_retry'
  transactionId: string
  attempt: number
  maxAttempts: number
  delayMs: number
  errorCode: string | undefined
  origin: string
}

export interface PartialCommitEvent {
  event: 'shardtx.partial_commit'
  transactionId: string
  committedShards: string[]
  uncommittedShards: string[]
  failedShard: string
  tables: string[]
  origin: string
}

/**
 * The `event` name of every structured log line shardtx writes, listed once; a unit test
 * (test/unit/event-names.test.ts) checks that src/ logs no other. Each event's fields and level
 * are in README.md's Observability section and the docs of its feature.
 *
 * @example
 * ```ts
 * if (EVENT_NAMES.includes(line.event)) metrics.inc(line.event)
 * ```
 */
export const EVENT_NAMES = [
  'shardtx.cross_shard_transaction',
  'shardtx.partial_commit',
  'shardtx.transaction_retry',
  'shardtx.lock_restart',
  'shardtx.distributed_deadlock',
  'shardtx.deadlock_victim_outcome',
  'shardtx.deadlock_detection_disabled',
  'shardtx.deadlock_kill_failed',
  'shardtx.deadlock_ownership_failed',
  'shardtx.deadlock_ownership_unavailable',
  'shardtx.deadlock_read_failed',
  'shardtx.shard_down',
  'shardtx.shard_up',
  'shardtx.split_plan_failed',
  'shardtx.split_plan_pending',
  'shardtx.split_plan_unreadable',
  'shardtx.split_idempotent_replay',
  'shardtx.split_recovery',
  'shardtx.split_recovery_error',
  'shardtx.atomic_prepare_failed',
  'shardtx.atomic_outcome_unknown',
  'shardtx.atomic_branch_in_doubt',
  'shardtx.atomic_in_doubt_found',
  'shardtx.atomic_in_doubt_resolved',
  'shardtx.atomic_recovery',
  'shardtx.atomic_recovery_error',
  'shardtx.footprint_write_failed',
  'shardtx.knex_log',
  'shardtx.internal_error',
] as const

/** One of {@link EVENT_NAMES}. */
export type ShardtxEventName = (typeof EVENT_NAMES)[number]

/**
 * diagnostics_channel names, mysql2-style: free when nobody subscribes, and every multi-shard
 * transaction is published here even when the logger's warning was rate limited.
 *
 * @example
 * ```ts
 * import diagnosticsChannel from 'node:diagnostics_channel'
 * diagnosticsChannel.subscribe('shardtx:cross-shard-transaction', (event) => metrics.inc(event.policy))
 * ```
 */
export const CHANNELS = {
  crossShardTransaction: diagnosticsChannel.channel('shardtx:cross-shard-transaction'),
  /** `{ transactionId, shard, index }` after each shard's COMMIT succeeds: the commit order, observable. */
  shardCommit: diagnosticsChannel.channel('shardtx:shard-commit'),
  /** A {@link TransactionRetryEvent} before each whole-callback retry after a deadlock-class error: retries as a metric. */
  transactionRetry: diagnosticsChannel.channel('shardtx:transaction-retry'),
  /** A `ShardDownEvent` or `ShardUpEvent` on every health transition: shard availability as a metric. */
  shardHealth: diagnosticsChannel.channel('shardtx:shard-health'),
} as const
