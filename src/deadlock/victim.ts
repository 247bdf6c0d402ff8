import type { TransactionOwnership } from './types.js'

/**
 * True when `a` must be chosen as victim before `b`: `a` is younger (larger `startedAt`), or both
 * started in the same millisecond and `a` has the larger id. Ids are compared by UTF-16 code
 * units (`>`), never with `localeCompare`, so every process agrees whatever its locale.
 */
export function isPreferredVictim(a: TransactionOwnership, b: TransactionOwnership): boolean {
  if (a.startedAt !== b.startedAt) return a.startedAt > b.startedAt
  return a.transactionId > b.transactionId
}

/**
 * Picks the transaction to roll back from a deadlock cycle: the youngest (largest `startedAt`),
 * ties broken by the larger `transactionId`. The rule depends only on the members, not on their
 * order, so every detector in every process that sees the same cycle picks the same victim and
 * at most one transaction of the cycle is rolled back. Rolling back the youngest loses the least
 * work, as Citus does for its distributed deadlocks.
 *
 * @throws {RangeError} when `cycle` is empty.
 * @example
 * ```ts
 * chooseVictim([
 *   { transactionId: 'p1-7', startedAt: 1000, processId: 'p1', connections: [] },
 *   { transactionId: 'p2-3', startedAt: 1005, processId: 'p2', connections: [] },
 * ]).transactionId // 'p2-3': it started last
 * ```
 */
export function chooseVictim(cycle: readonly TransactionOwnership[]): TransactionOwnership {
  let victim = cycle[0]
  if (victim === undefined) throw new RangeError('chooseVictim needs at least one transaction, got an empty cycle')
  for (let i = 1; i < cycle.length; i++) {
    const candidate = cycle[i]!
    if (isPreferredVictim(candidate, victim)) victim = candidate
  }
  return victim
}
