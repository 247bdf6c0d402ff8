import type { CrossShardPolicyName } from '../config/options.js'
import type { JoinRequest, TransactionState } from '../transaction/transaction-state.js'

/** How a transaction ended, as policies and log events see it. */
export type TransactionOutcome = 'committed' | 'rolled back' | 'partial commit'

/**
 * A cross-shard policy decides what happens when a transaction reaches for another shard, and
 * how its shards commit. One file per policy in this folder; the transaction wrapper only ever
 * talks to this interface.
 *
 * @example
 * ```ts
 * const strictest: CrossShardPolicy = {
 *   name: 'reject',
 *   admit(tx, shard) { if (tx.participants.length > 0) throw new Error('one shard only') },
 *   commit: commitInCanonicalOrder,
 *   finished() {},
 * }
 * ```
 */
export interface CrossShardPolicy {
  readonly name: CrossShardPolicyName
  /**
   * Called synchronously before `shard` joins the transaction (it is not yet in
   * `tx.participants`). Throw to refuse: the statement is then never sent.
   */
  admit(tx: TransactionState, shard: string, request: JoinRequest): void
  /** Commits every participating shard. Called once, after the callback resolved. */
  commit(tx: TransactionState): Promise<void>
  /** Called once when the attempt has ended, whatever the outcome. Must not throw. */
  finished(tx: TransactionState, outcome: TransactionOutcome, durationMs: number): void
}
