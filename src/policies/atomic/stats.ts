/**
 * Counters of the `atomic` policy since the ShardedDb was created, and what the last recovery
 * pass saw (`db.atomicStats()`; `db.health()` shows each shard's in-doubt count).
 *
 * @example
 * ```ts
 * const s = db.atomicStats()
 * if (s.inDoubt > 0) alert(`${s.inDoubt} prepared XA branches wait for recovery: ${JSON.stringify(s.inDoubtByShard)}`)
 * ```
 */
export interface AtomicStats {
  /** Multi-shard atomic transactions committed (decision durable) by this process. */
  committed: number
  /** Multi-shard atomic transactions rolled back during commit (a prepare or the record failed). */
  prepareFailures: number
  /** Decisions sent whose acknowledgement was lost (`AtomicOutcomeUnknownError`). */
  outcomeUnknown: number
  /** Branches this process's transactions could not commit after their decision (left for recovery). */
  branchesLeftInDoubt: number
  /** Recovery passes run (start, interval, `db.recover()`). */
  recoveryPasses: number
  /** Prepared branches recovery committed, and rolled back. */
  recoveredCommitted: number
  recoveredRolledBack: number
  /** Prepared shardtx branches the last recovery pass left prepared (unreachable coordinator or server). */
  inDoubt: number
  /** The same, by shard (a branch whose shard is no longer configured counts under its server). */
  inDoubtByShard: Record<string, number>
  /** When the last recovery pass finished (ms since the epoch), if any. */
  lastRecoveryAt: number | undefined
}

/** A fresh set of counters. */
export function emptyAtomicStats(): AtomicStats {
  return {
    committed: 0,
    prepareFailures: 0,
    outcomeUnknown: 0,
    branchesLeftInDoubt: 0,
    recoveryPasses: 0,
    recoveredCommitted: 0,
    recoveredRolledBack: 0,
    inDoubt: 0,
    inDoubtByShard: {},
    lastRecoveryAt: undefined,
  }
}
