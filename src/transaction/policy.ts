import type { CrossShardPolicyName } from '../config/policy-names.js'
import type { KnexBuilderInternals } from '../knex/builder-internals.js'
import type { RoutedStatement } from '../routing/statement-router.js'
import type { TransactionOutcome } from '../shared/channels.js'
import type { AttemptPolicy, JoinRequest, TransactionState } from './transaction-state.js'

export type { TransactionOutcome }

/**
 * A cross-shard policy decides what happens when a transaction reaches for another shard, and
 * how its shards commit. The transaction core only ever talks to this interface; the
 * implementations live a layer above, in policies/ (one file or folder per policy), and the
 * wiring (sharded-db.ts) hands them to the core. `A` is the policy's state for one attempt,
 * which `begin` returns and the transaction carries (`tx.attempt`); `O` is its own transaction
 * options, resolved once per `db.transaction()` call.
 *
 * Order of calls: `resolveOptions` once per call; then per attempt `begin` -> for each
 * locking/writing statement: `beforeStatement`, then `executeWrite` if the policy takes over
 * execution, else `admit` for each shard the statement newly joins; for each plain read and
 * unrouted statement: `beforeAccess` -> `commit` -> `finished`.
 *
 * @example
 * ```ts
 * const strictest: CrossShardPolicy<undefined> = {
 *   name: 'reject',
 *   begin: () => undefined,
 *   admit(tx, shard) { if (tx.participants.length > 0) throw new Error('one shard only') },
 *   commit: commitInCanonicalOrder,
 *   finished() {},
 * }
 * ```
 */
export interface CrossShardPolicy<A = unknown, O = unknown> extends AttemptPolicy<A> {
  readonly name: CrossShardPolicyName
  /**
   * Transaction option keys only this policy reads (e.g. `lock` for `ordered`). The core refuses
   * them under any other policy: an option that silently did nothing would surprise.
   */
  readonly optionKeys?: readonly string[]
  /**
   * True for a policy that sends the callback's writes only after it returns (`split`): there is
   * then nothing a savepoint could roll back to, and the core refuses savepoints.
   */
  readonly deferredWrites?: boolean
  /**
   * Validates this policy's own keys of the caller's transaction options, once per
   * `db.transaction()` call (restarts and retries reuse the result). Throws a TypeError naming
   * the option.
   */
  resolveOptions?(options: Readonly<Record<string, unknown>>): O
  /**
   * Starts an attempt and returns the policy's state for it (`tx.attempt` from then on). `carry`
   * is what the previous attempt handed over through {@link RestartAttempt}; undefined on a first
   * attempt. May throw to abort the attempt.
   */
  begin(tx: TransactionState<A>, options: O, carry: unknown): A | Promise<A>
  /**
   * Synchronously, before a locking or writing statement is sent (reads never reach policies).
   * Throw to refuse it, or throw {@link RestartAttempt} to roll back and run the callback again.
   */
  beforeStatement?(tx: TransactionState<A>, statement: RoutedStatement, request: JoinRequest): void
  /**
   * Before a plain read of `shards`, or an unrouted statement on one (`joins`: it may write, so the
   * transaction participates there). Return a promise to hold the statement until it settles
   * (e.g. `ordered` locks declared rows first), or undefined to let it go at once. A rejection
   * fails the statement.
   */
  beforeAccess?(tx: TransactionState<A>, shards: readonly string[], joins: boolean): Promise<void> | undefined
  /**
   * Takes over a locking or writing statement instead of sending it to its shards (e.g. `split`
   * records it in a plan). Resolves to what the awaited builder resolves to.
   */
  executeWrite?(tx: TransactionState<A>, statement: RoutedStatement, builder: KnexBuilderInternals, request: JoinRequest): Promise<unknown>
  /**
   * Called synchronously before `shard` joins the transaction (it is not yet in
   * `tx.participants`). Throw to refuse: the statement is then never sent.
   */
  admit(tx: TransactionState<A>, shard: string, request: JoinRequest): void
  /** Commits every participating shard. Called once, after the callback resolved. */
  commit(tx: TransactionState<A>): Promise<void>
  /** Called once when the attempt has ended, whatever the outcome. Must not throw. */
  finished(tx: TransactionState<A>, outcome: TransactionOutcome, durationMs: number): void
}

/** A policy as the core holds it: its attempt state and options are opaque there. */
export type AnyCrossShardPolicy = CrossShardPolicy<any, any>

/** A transaction as the core sees it: its policy with every hook. */
export type CoreTransaction = TransactionState<unknown, AnyCrossShardPolicy>

export { RestartAttempt } from './restart-attempt.js'
