/**
 * The cross-shard policies, listed once: option validation, types and the policy registry
 * (sharded-db.ts) all read this list. `ordered`, `split` and `atomic` make multi-shard writes safe; see the
 * README's policy table.
 *
 * @example
 * ```ts
 * POLICY_NAMES.includes(value) // validates `crossShard`
 * ```
 */
export const POLICY_NAMES = ['reject', 'warn', 'ordered', 'split', 'atomic'] as const

/** One of {@link POLICY_NAMES}. */
export type CrossShardPolicyName = (typeof POLICY_NAMES)[number]
