/**
 * What the `split` policy tells a compensation hook: option types of `split.compensate` and of a
 * transaction's `compensate`, so they live with the other option types (config/options.ts).
 */

/** What the error of a failed split plan says about one part. */
export interface SplitPartStatement {
  /** SQL exactly as knex compiled it, with `?` placeholders. */
  sql: string
  /** Values for the placeholders, decoded (Dates already rendered as MySQL datetime text). */
  bindings: readonly unknown[]
}

/** One per-shard part of a split plan, as hooks and errors describe it. */
export interface SplitPartDescription {
  /** Position in the plan (canonical shard order). */
  partNo: number
  shard: string
  statements: readonly SplitPartStatement[]
}

/**
 * What a compensation hook receives when a split plan fails for good: which parts are committed
 * (and stay committed), which are not, and why.
 *
 * @example
 * ```ts
 * const db = createShardedDb({ ...config, split: {
 *   compensate: async (f: SplitFailure) => { await alertOps(f.planId, f.appliedShards, f.unappliedShards) },
 * } })
 * ```
 */
export interface SplitFailure {
  planId: string
  /** shardtx's id of the transaction that built the plan; undefined when recovery found the failure. */
  transactionId: string | undefined
  /** The shard whose part failed. */
  failedShard: string
  /** Shards whose parts are committed, in canonical order. */
  appliedShards: readonly string[]
  /** Shards whose parts are not applied (the failed one included), in canonical order. */
  unappliedShards: readonly string[]
  /** Every part of the plan, with its statements. */
  parts: readonly SplitPartDescription[]
  /** The driver error of the failed part (e.g. `ER_DUP_ENTRY`). */
  error: unknown
  /** True when the failure was found by `db.recover()` rather than by the transaction itself. */
  duringRecovery: boolean
}

/**
 * The `compensate` hook of `split` (database-wide or per transaction): called once when a plan
 * fails for good, with what was and was not applied.
 *
 * @example
 * ```ts
 * const compensate: CompensationHook = async (failure) => { await alertOps(failure.planId) }
 * ```
 */
export type CompensationHook = (failure: SplitFailure) => void | Promise<void>
