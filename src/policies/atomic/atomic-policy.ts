import { createLockOrderPolicy, type LockOrderAttempt, type OrderedPolicyDeps } from '../../transaction/lock-order/lock-order-policy.js'
import type { OrderedOptions } from '../../transaction/lock-order/options.js'
import type { CrossShardPolicy } from '../../transaction/policy.js'
import { commitAtomic, type AtomicAttempt, type AtomicContext } from './atomic-commit.js'
import { gtridOf, xidSql } from './xid.js'

/** What the wiring gives the `atomic` policy: what `ordered` gets, plus the decision log, counters and shard identities. */
export interface AtomicPolicyDeps extends OrderedPolicyDeps, AtomicContext {
  /** The identity of a shard in xids (see xid.ts `shardIdentity`). */
  identityOf(shard: string): string
}

/**
 * `atomic`: `ordered`'s canonical lock order (no cross-shard cycle of lock waits can form, see
 * docs/ordered.md) plus two-phase commit over MariaDB/MySQL XA (no partial commit survives
 * recovery). The first session an attempt opens is a plain transaction, the coordinator; every
 * later one is an XA branch from its first statement. A transaction that stays on one shard
 * therefore commits plainly, with no XA and no record. The protocol is in atomic-commit.ts,
 * recovery in recovery.ts, and the argument in docs/atomic.md.
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   await tx('accounts').where({ id: from }).decrement('balance', 10) // shard -80
 *   await tx('accounts').where({ id: to }).increment('balance', 10)   // shard 80-
 * }, { crossShard: 'atomic', lock: { accounts: [from, to] } })         // or learned, as ordered
 * ```
 */
export function createAtomicPolicy(deps: AtomicPolicyDeps): CrossShardPolicy<LockOrderAttempt<AtomicAttempt>, OrderedOptions> {
  const ctx: AtomicContext = { decisions: deps.decisions, stats: deps.stats }
  const policy = createLockOrderPolicy<AtomicAttempt>(deps, {
    name: 'atomic',
    extend: () => ({ coordinator: undefined, gtrid: undefined }),
    commit: (tx) => commitAtomic(tx, ctx),
  })
  return {
    ...policy,
    xaBranch(tx, shard) {
      const xa = tx.attempt.extension
      if (xa.coordinator === undefined) {
        xa.coordinator = shard
        return undefined
      }
      xa.gtrid ??= gtridOf(tx.id, deps.identityOf(xa.coordinator), Date.now())
      return xidSql(xa.gtrid, deps.identityOf(shard))
    },
  }
}
