import { commitInCanonicalOrder } from '../../transaction/commit-in-order.js'
import { createLockOrderPolicy, type LockOrderAttempt, type OrderedPolicyDeps } from '../../transaction/lock-order/lock-order-policy.js'
import type { OrderedOptions } from '../../transaction/lock-order/options.js'
import type { CrossShardPolicy } from '../../transaction/policy.js'

export type { OrderedPolicyDeps }

/**
 * `ordered`: a transaction may write to several shards, and cannot take part in a distributed
 * deadlock, because it never waits for a lock on a shard ranked below one where it holds locks
 * (the lock-order machinery of transaction/lock-order/, shared with `atomic`; the argument and
 * its limits are in docs/ordered.md). Commits one shard at a time in canonical order, like `warn`
 * (PartialCommitError on a partial commit); `atomic` adds two-phase commit on the same lock order.
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   await tx('accounts').where({ id: from }).decrement('balance', 10)
 *   await tx('accounts').where({ id: to }).increment('balance', 10)
 * }, { crossShard: 'ordered', lock: { accounts: [from, to] } }) // or without `lock`: learned
 * ```
 */
export function createOrderedPolicy(deps: OrderedPolicyDeps): CrossShardPolicy<LockOrderAttempt, OrderedOptions> {
  return createLockOrderPolicy(deps, { name: 'ordered', extend: () => undefined, commit: commitInCanonicalOrder })
}
