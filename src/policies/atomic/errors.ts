import { TransactionError, formatLocation, type TransactionFacts } from '../../shared/errors.js'

/**
 * An `atomic` transaction prepared every branch and sent the decision (its coordinator shard's
 * COMMIT), but the answer never came back: the connection broke, the shard's server died or the
 * statement timed out. Whether the transaction committed is decided, durably, on the coordinator
 * shard, and nobody here can know which way yet. Nothing is partial: every branch is either
 * prepared and waiting, or resolved the same way as the decision. `db.recover()` settles it:
 * commits every branch if the decision record exists, rolls every branch back otherwise.
 * Not retryable: running the callback again could apply it twice.
 *
 * @example
 * ```ts
 * try {
 *   await db.transaction(transfer, { crossShard: 'atomic' })
 * } catch (err) {
 *   if (err instanceof AtomicOutcomeUnknownError) {
 *     await db.recover() // then look the transfer up: it is on every shard or on none
 *     console.warn(`transaction ${err.transactionId} (${err.gtrid}) settled by recovery`)
 *   }
 * }
 * ```
 */
export class AtomicOutcomeUnknownError extends TransactionError {
  override readonly name = 'AtomicOutcomeUnknownError'
  /** The XA gtrid shared by the transaction's branches and its decision record. */
  readonly gtrid: string
  /** The shard holding the decision record (the transaction's coordinator). */
  readonly coordinatorShard: string
  /** Shards whose branch is prepared and left for recovery, in canonical order. */
  readonly preparedShards: readonly string[]

  constructor(facts: TransactionFacts, details: { gtrid: string; coordinatorShard: string; preparedShards: readonly string[] }, cause: unknown) {
    super(
      'SHARDTX_ATOMIC_OUTCOME_UNKNOWN',
      `Transaction ${facts.transactionId} (opened at ${formatLocation(facts.origin)}) under crossShard: 'atomic' prepared every branch ` +
        `(${details.preparedShards.join(', ')}), but the decision on coordinator shard ${details.coordinatorShard} was not acknowledged ` +
        `(${describeCause(cause)}), so whether it committed is unknown here. It is all or nothing either way: the branches stay prepared ` +
        `until recovery applies the decision. Run db.recover() (it also runs at start and every atomic.recoveryIntervalMs) and then read ` +
        `the result; do not run the transaction again blindly, it may have committed. XA gtrid: ${details.gtrid}.`,
      facts,
      { cause },
    )
    this.gtrid = details.gtrid
    this.coordinatorShard = details.coordinatorShard
    this.preparedShards = details.preparedShards
  }
}

/** What is safe to say about a driver error in a message: its code, never its text (it may quote values). */
function describeCause(cause: unknown): string {
  const e = cause as { code?: unknown; errno?: unknown; name?: unknown } | null
  if (typeof e?.code === 'string') return typeof e.errno === 'number' ? `${e.code}, errno ${e.errno}` : e.code
  return typeof e?.name === 'string' ? e.name : 'no answer'
}
