/**
 * Errors of the `split` policy and its intent log. They live here rather than in `src/shared/errors.ts`
 * so the split feature stays in its own files; they extend the same {@link ShardtxError} base and
 * carry stable codes.
 */
import { ShardtxError, formatLocation, type CodeLocation } from '../../shared/errors.js'

export type { SplitFailure, SplitPartDescription, SplitPartStatement } from '../../config/split-failure.js'

/**
 * A split plan failed for a reason a retry will not fix (a constraint violation, a missing column):
 * the parts listed in `appliedShards` are committed and stay committed, the others are not applied.
 * The plan is marked `failed` in the intent log; recovery will not touch it again.
 *
 * @example
 * ```ts
 * try {
 *   await db.transaction(fn, { crossShard: 'split' })
 * } catch (err) {
 *   if (err instanceof SplitPlanFailedError) await refund(err.planId, err.appliedShards)
 * }
 * ```
 */
export class SplitPlanFailedError extends ShardtxError {
  override readonly name = 'SplitPlanFailedError'
  readonly planId: string
  readonly transactionId: string | undefined
  readonly failedShard: string
  readonly appliedShards: readonly string[]
  readonly unappliedShards: readonly string[]
  /** The driver's error code of the failed part, e.g. `ER_DUP_ENTRY`. */
  readonly causeCode: string | undefined
  /** True when this error replays the stored outcome of an earlier submission with the same idempotency key. */
  readonly replayed: boolean
  /** Set when the compensation hook itself threw. */
  compensationError: unknown

  constructor(
    facts: {
      planId: string
      transactionId: string | undefined
      origin?: CodeLocation | undefined
      failedShard: string
      appliedShards: readonly string[]
      unappliedShards: readonly string[]
      causeCode: string | undefined
      replayed?: boolean
    },
    cause: unknown,
  ) {
    super(
      'SHARDTX_SPLIT_FAILED',
      `Split plan ${facts.planId}${facts.transactionId ? ` (transaction ${facts.transactionId} opened at ${formatLocation(facts.origin)})` : ''} ` +
        `failed on shard ${facts.failedShard} with ${facts.causeCode ?? 'an error'}, which a retry will not fix. ` +
        `Applied (committed, kept): [${facts.appliedShards.join(', ')}]; not applied: [${facts.unappliedShards.join(', ')}]. ` +
        `The plan is marked failed and will not be retried; undo the applied parts in a compensation hook ` +
        `(\`compensate\` option) or by hand. If the parts must succeed or fail together, use { crossShard: 'ordered' }.` +
        (facts.replayed ? ' (Replayed: an earlier submission with the same idempotency key failed this way.)' : ''),
      { cause },
    )
    this.planId = facts.planId
    this.transactionId = facts.transactionId
    this.failedShard = facts.failedShard
    this.appliedShards = facts.appliedShards
    this.unappliedShards = facts.unappliedShards
    this.causeCode = facts.causeCode
    this.replayed = facts.replayed ?? false
  }
}

/**
 * A split plan was accepted (stored in the intent log) but some parts could not be applied yet
 * (a shard is unreachable, or kept failing with deadlock-class errors). The plan is durable:
 * `db.recover()` (run at start and periodically) applies the remaining parts exactly once.
 * Do not submit the transaction again unless it carries the same `idempotencyKey`.
 *
 * @example
 * ```ts
 * try {
 *   await db.transaction(fn, { crossShard: 'split' })
 * } catch (err) {
 *   if (err instanceof SplitPlanPendingError) return accepted(err.planId) // recovery finishes it; do not resubmit
 *   throw err
 * }
 * ```
 */
export class SplitPlanPendingError extends ShardtxError {
  override readonly name = 'SplitPlanPendingError'
  readonly planId: string
  readonly transactionId: string | undefined
  readonly appliedShards: readonly string[]
  readonly pendingShards: readonly string[]
  /**
   * `accepted`: the plan is in the intent log. `unknown`: the connection to the coordinator broke
   * while the plan was being stored and shardtx could not find out whether it was; if it was,
   * recovery applies it, if not, nothing happens.
   */
  readonly acceptance: 'accepted' | 'unknown'

  constructor(
    facts: {
      planId: string
      transactionId: string | undefined
      appliedShards: readonly string[]
      pendingShards: readonly string[]
      acceptance?: 'accepted' | 'unknown'
    },
    cause: unknown,
  ) {
    const acceptance = facts.acceptance ?? 'accepted'
    const why = cause instanceof Error ? ` (${(cause as { code?: string }).code ?? cause.name})` : ''
    super(
      'SHARDTX_SPLIT_PENDING',
      (acceptance === 'accepted'
        ? `Split plan ${facts.planId} is accepted and durable, but its parts on [${facts.pendingShards.join(', ')}] could not be applied yet${why}; ` +
          `applied so far: [${facts.appliedShards.join(', ')}]. db.recover() will apply the rest exactly once ` +
          `(it runs at start and every split.recoveryIntervalMs).`
        : `Split plan ${facts.planId} may or may not have been stored: the connection to the coordinator shard broke while storing it${why}. ` +
          `If it was stored, db.recover() applies it exactly once; if not, nothing was applied.`) +
        ` Do not resubmit this transaction unless it carries the same idempotencyKey.`,
      { cause },
    )
    this.planId = facts.planId
    this.transactionId = facts.transactionId
    this.appliedShards = facts.appliedShards
    this.pendingShards = facts.pendingShards
    this.acceptance = acceptance
  }
}

/**
 * The callback used the result of a write made under `split`. Writes under split are recorded
 * in a plan and run after the callback returns, so affected-row counts and insert ids do not
 * exist while it runs. Thrown inside the callback, it also rolls the transaction back: nothing
 * is applied. See docs/split.md, "Results of writes".
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   const n = await tx('accounts').where({ id }).decrement('balance', 10)
 *   if (n > 0) await tx('audit').insert({ id })   // throws SplitWriteResultError: use crossShard 'ordered'
 * }, { crossShard: 'split' })
 * ```
 */
export class SplitWriteResultError extends ShardtxError {
  override readonly name = 'SplitWriteResultError'
  constructor(what: string, location: CodeLocation | undefined, whileRunning: boolean) {
    super(
      'SHARDTX_SPLIT_WRITE_RESULT',
      `The result of ${what} (at ${formatLocation(location)}) was used, but under { crossShard: 'split' } writes only ` +
        `run after the callback returns (one transaction per shard), so affected rows and insert ids are not available. ` +
        `If the callback needs them to decide its next step, use { crossShard: 'ordered' }, which runs writes at once ` +
        `and returns real results. Otherwise check the condition with a read first (reads see committed data), or ` +
        `move it into the WHERE clause. See docs/split.md, "Results of writes".` +
        (whileRunning ? ' The transaction was rolled back; nothing was applied.' : ''),
    )
  }
}

/**
 * A statement `split` cannot put in a plan (a locking read, raw SQL through tx.shard(), an
 * unstorable value, a plan over its size limit). The transaction is rolled back; nothing is applied.
 *
 * @example
 * ```ts
 * await db.transaction((tx) => tx('accounts').where({ id }).forUpdate().first(), { crossShard: 'split' })
 * // rejects with SplitUnsupportedError (SHARDTX_SPLIT_UNSUPPORTED): locking reads need 'ordered'
 * ```
 */
export class SplitUnsupportedError extends ShardtxError {
  override readonly name = 'SplitUnsupportedError'
  constructor(message: string) {
    super('SHARDTX_SPLIT_UNSUPPORTED', message)
  }
}
