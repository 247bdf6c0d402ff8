/**
 * Structured log events of the `atomic` policy and its recovery. Like every shardtx event they
 * carry a stable `event` name and never key values, SQL values or credentials.
 */

/**
 * A branch failed to prepare (or the commit record could not be written): every branch was
 * rolled back, nothing committed (warn level).
 *
 * @example
 * ```ts
 * const logger = { ...pino(), warn: (obj, msg) => { if (obj.event === 'shardtx.atomic_prepare_failed') metrics.inc('atomic.prepare_failed') } }
 * ```
 */
export interface AtomicPrepareFailedEvent {
  event: 'shardtx.atomic_prepare_failed'
  transactionId: string
  gtrid: string
  /** The shard whose step failed (a branch's prepare, or the coordinator's record insert). */
  failedShard: string
  /** Branches that were prepared and then rolled back. */
  preparedShards: string[]
  /** Prepared branches whose rollback failed: left prepared; recovery rolls them back (no decision record). */
  leftPrepared: string[]
  errorCode: string | undefined
  errno: number | undefined
  origin: string
}

/**
 * The coordinator's COMMIT (the decision) was not acknowledged: `AtomicOutcomeUnknownError` (error level).
 *
 * @example
 * ```ts
 * if (line.event === 'shardtx.atomic_outcome_unknown') page(`run db.recover() for ${line.transactionId}`)
 * ```
 */
export interface AtomicOutcomeUnknownEvent {
  event: 'shardtx.atomic_outcome_unknown'
  transactionId: string
  gtrid: string
  coordinator: string
  preparedShards: string[]
  errorCode: string | undefined
  errno: number | undefined
  origin: string
}

/**
 * After the decision, a branch could not be committed by its transaction (its connection or
 * server failed): the transaction is committed, and recovery commits the branch (warn level).
 *
 * @example
 * ```ts
 * if (line.event === 'shardtx.atomic_branch_in_doubt') metrics.inc(`atomic.in_doubt.${line.shard}`)
 * ```
 */
export interface AtomicBranchInDoubtEvent {
  event: 'shardtx.atomic_branch_in_doubt'
  transactionId: string
  gtrid: string
  shard: string
  errorCode: string | undefined
  errno: number | undefined
}

/**
 * Recovery found prepared branches of a transaction whose process is gone, and could not settle
 * them in this pass (warn level): `coordinator unreachable` (the decision is unknown, so nothing
 * is presumed), or the XA statement failed.
 *
 * @example
 * ```ts
 * if (line.event === 'shardtx.atomic_in_doubt_found') alert(`${line.shards.join(', ')}: ${line.reason}`)
 * ```
 */
export interface AtomicInDoubtFoundEvent {
  event: 'shardtx.atomic_in_doubt_found'
  gtrid: string
  transactionId: string
  coordinator: string | undefined
  shards: string[]
  reason: 'coordinator unreachable' | 'branch unreachable'
  errorCode: string | undefined
}

/**
 * Recovery settled a transaction's prepared branches by its decision record (info level).
 *
 * @example
 * ```ts
 * if (line.event === 'shardtx.atomic_in_doubt_resolved') audit.record(line.transactionId, line.outcome)
 * ```
 */
export interface AtomicInDoubtResolvedEvent {
  event: 'shardtx.atomic_in_doubt_resolved'
  gtrid: string
  transactionId: string
  coordinator: string
  outcome: 'commit' | 'abort'
  /** True when this pass wrote the abort record (no record existed and the branches were old enough). */
  presumedAbort: boolean
  shards: string[]
}

/**
 * One atomic recovery pass finished (debug when it found nothing, info when it settled branches,
 * warn when some stay in doubt).
 *
 * @example
 * ```ts
 * if (line.event === 'shardtx.atomic_recovery') metrics.gauge('atomic.in_doubt', line.inDoubt)
 * ```
 */
export interface AtomicRecoveryEvent extends AtomicRecoveryReport {
  event: 'shardtx.atomic_recovery'
  trigger: 'start' | 'interval' | 'call'
}

/**
 * What one atomic recovery pass did (the `atomic` part of `db.recover()`'s report).
 *
 * @example
 * ```ts
 * const { atomic } = await db.recover()
 * // { committed: 1, rolledBack: 2, inDoubt: 0, inProgress: 0, serversUnreachable: 0, pruned: 0, durationMs: 9 }
 * ```
 */
export interface AtomicRecoveryReport {
  /** Prepared branches committed (their decision record says commit). */
  committed: number
  /** Prepared branches rolled back (their record says abort, or there was none and this pass wrote the abort). */
  rolledBack: number
  /** Branches left prepared: their coordinator shard (the decision) or their own server could not be reached. Never presumed aborted. */
  inDoubt: number
  /** Branches left to the live transaction that owns them: too young to abort, or still attached to their connection. */
  inProgress: number
  /** Servers whose `XA RECOVER` failed (down, or no privilege): their branches are unknown, and nothing was pruned. */
  serversUnreachable: number
  /** Decision records deleted: older than `atomic.retainDecisionsMs`, and no branch of theirs listed anywhere. */
  pruned: number
  durationMs: number
}
