import type { ShardtxLogger } from '../shared/logger.js'

/**
 * How a transaction that lost a distributed deadlock ended: its first line is the
 * `shardtx.distributed_deadlock` event naming it `victim`, this is the last. Logged once per
 * `db.transaction()` call, never rate limited, at warn like the deadlock itself, so whoever sees
 * the one sees the other (the victim's own cross-shard warning says only "rolled back", and the
 * retry's warning may be rate limited away).
 */
export interface DeadlockVictimOutcomeEvent {
  event: 'shardtx.deadlock_victim_outcome'
  /** Ids of this call's attempts that were deadlock victims (each a `victim` of a `shardtx.distributed_deadlock` event). */
  victims: string[]
  /** `retried and committed`, or `gave up` (out of attempts, or the retry failed otherwise). */
  outcome: 'retried and committed' | 'gave up'
  /** Attempts made, the victims' included. */
  attempts: number
  maxAttempts: number
  /** With `gave up`: the code of the error the caller received. */
  errorCode?: string
  /** `file:line:column` of the `db.transaction()` call. */
  origin: string
}

/**
 * Logs the end of a deadlock victim's story.
 *
 * @example
 * ```ts
 * reportDeadlockOutcome(logger, { event: 'shardtx.deadlock_victim_outcome', victims: ['tx-1'], outcome: 'retried and committed', attempts: 2, maxAttempts: 3, origin: 'src/pay.ts:10:3' })
 * ```
 */
export function reportDeadlockOutcome(logger: ShardtxLogger, event: DeadlockVictimOutcomeEvent): void {
  const attempts = `${event.attempts} attempt${event.attempts === 1 ? '' : 's'} of ${event.maxAttempts}`
  logger.warn(
    event,
    event.outcome === 'retried and committed'
      ? `shardtx: transaction from ${event.origin} (deadlock victim ${event.victims.join(', ')}) was retried and committed after ${attempts}`
      : `shardtx: transaction from ${event.origin} (deadlock victim ${event.victims.join(', ')}) gave up after ${attempts}; the caller got ${event.errorCode ?? 'the error'}`,
  )
}
