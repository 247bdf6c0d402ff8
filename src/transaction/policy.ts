import type { CrossShardPolicyName } from '../config/options.js'
import type { KnexBuilderInternals } from '../knex/builder-internals.js'
import type { RoutedStatement } from '../routing/statement-router.js'
import type { JoinRequest, TransactionState } from './transaction-state.js'

/** How a transaction ended, as policies and log events see it. */
export type TransactionOutcome = 'committed' | 'rolled back' | 'partial commit'

/**
 * A cross-shard policy decides what happens when a transaction reaches for another shard, and
 * how its shards commit. One file per policy in this folder; the transaction wrapper only ever
 * talks to this interface.
 *
 * Order of calls in one attempt: `begin` -> for each locking/writing statement: `beforeStatement`,
 * then `executeWrite` if the policy takes over execution, else `admit` for each shard the
 * statement newly joins; for each plain read and unrouted statement: `beforeAccess` -> `commit`
 * -> `finished`.
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
  /** Before the callback runs, e.g. to take a declared lock set. May throw to abort the attempt. */
  begin?(tx: TransactionState): Promise<void>
  /**
   * Synchronously, before a locking or writing statement is sent (reads never reach policies).
   * Throw to refuse it, or throw {@link RestartAttempt} to roll back and run the callback again.
   */
  beforeStatement?(tx: TransactionState, statement: RoutedStatement, request: JoinRequest): void
  /**
   * Before a plain read of `shards`, or an unrouted statement on one (`joins`: it may write, so the
   * transaction participates there). Return a promise to hold the statement until it settles
   * (e.g. `ordered` locks declared rows first), or undefined to let it go at once. A rejection
   * fails the statement.
   */
  beforeAccess?(tx: TransactionState, shards: readonly string[], joins: boolean): Promise<void> | undefined
  /**
   * Takes over a locking or writing statement instead of sending it to its shards (e.g. `split`
   * records it in a plan). Resolves to what the awaited builder resolves to.
   */
  executeWrite?(tx: TransactionState, statement: RoutedStatement, builder: KnexBuilderInternals, request: JoinRequest): Promise<unknown>
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

/**
 * Thrown by a policy hook to end the current attempt (rolled back on every shard) and run the
 * callback again at once, handing `carry` to the next attempt as `tx.carry`. Restarts do not
 * count against `retry.maxAttempts`; the policy that restarts must bound them itself.
 */
export class RestartAttempt extends Error {
  readonly carry: unknown
  constructor(carry: unknown, reason: string) {
    super(reason)
    this.name = 'RestartAttempt'
    this.carry = carry
  }
}
