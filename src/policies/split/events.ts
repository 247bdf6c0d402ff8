/**
 * Structured log events of the split policy and recovery. Like every shardtx event they carry a
 * stable `event` name and never key values or SQL values; the driver's message of a failed part
 * (which may quote a duplicate key) is added only with `warnings.logKeyValues: true`.
 */

/**
 * A split plan failed for good (error level).
 *
 * @example
 * ```ts
 * const logger = { ...pino(), error: (obj, msg) => { if (obj.event === 'shardtx.split_plan_failed') page(obj.planId) } }
 * ```
 */
export interface SplitPlanFailedEvent {
  event: 'shardtx.split_plan_failed'
  planId: string
  transactionId: string | undefined
  origin: string | undefined
  failedShard: string
  appliedShards: string[]
  unappliedShards: string[]
  errorCode: string | undefined
  errno: number | undefined
  /** `ran`, `threw`, `none` (no hook given), or `skipped` (another runner failed the plan first and ran it). */
  compensation: 'ran' | 'threw' | 'none' | 'skipped'
  duringRecovery: boolean
  /** The driver's message; only with `warnings.logKeyValues`. */
  message?: string
}

/** A split plan is accepted but some parts could not be applied yet; recovery will finish it (warn level). */
export interface SplitPlanPendingEvent {
  event: 'shardtx.split_plan_pending'
  planId: string
  transactionId: string | undefined
  appliedShards: string[]
  pendingShards: string[]
  errorCode: string | undefined
  errno: number | undefined
  duringRecovery: boolean
}

/** One recovery pass finished (info level when it did something, debug otherwise). */
export interface SplitRecoveryEvent {
  event: 'shardtx.split_recovery'
  trigger: 'start' | 'interval' | 'call'
  /** Pending plans this pass finished (all parts applied). */
  recovered: number
  /** Pending plans this pass found failing for good. */
  failed: number
  /** Pending plans still pending after this pass (a shard unreachable, or being applied by their own transaction). */
  stillPending: number
  /** Finished plans deleted. */
  pruned: number
  durationMs: number
}

/** A recovery pass could not run to the end (warn level); the next pass tries again. */
export interface SplitRecoveryErrorEvent {
  event: 'shardtx.split_recovery_error'
  trigger: 'start' | 'interval' | 'call'
  errorCode: string | undefined
  errno: number | undefined
}
