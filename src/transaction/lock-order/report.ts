import { formatLocation } from '../../shared/errors.js'
import { levelEnabled } from '../../shared/logger.js'
import { OriginRateLimitedLog } from '../../shared/origin-rate-limiter.js'
import type { TransactionState } from '../transaction-state.js'
import { describeReach, type LockRestart } from './errors.js'

/** Logged at debug level when an `ordered` or `atomic` attempt restarts to take a grown lock set in canonical order. */
export interface LockRestartEvent extends LockRestart {
  event: 'shardtx.lock_restart'
  transactionId: string
  origin: string
  maxLockRestarts: number
  /** Restarts from this origin not logged since the previous one (rate limiting). */
  suppressed: number
}

/**
 * Logs `ordered` restarts: normal for learned lock sets (once per new shape of transaction), so
 * debug level, rate-limited per origin. One per ShardedDb; its limiter is bounded by
 * OriginRateLimiter's own cap on origins.
 *
 * @example
 * ```ts
 * const restarts = new LockRestartReporter(logger, 60_000)
 * restarts.report(tx, { attempt: 1, table: 'accounts', shard: '-80', above: '80-', cause: 'rows' }, 3)
 * ```
 */
export class LockRestartReporter extends OriginRateLimitedLog {
  report(tx: TransactionState, restart: LockRestart, maxLockRestarts: number): void {
    if (!levelEnabled(this.logger, 'debug')) return
    const origin = formatLocation(tx.origin)
    const decision = this.limiter.decide(origin)
    if (!decision.emit) return
    const event: LockRestartEvent = {
      event: 'shardtx.lock_restart',
      transactionId: tx.id,
      origin,
      maxLockRestarts,
      suppressed: decision.suppressed,
      ...restart,
    }
    this.logger.debug(
      event,
      `shardtx: ${tx.policyName} transaction ${tx.id} from ${origin} restarts (attempt ${restart.attempt} of at most ${maxLockRestarts + 1}): ` +
        `it reached for ${describeReach(restart)}, not held, while it held shard ${restart.above}; ` +
        `the next attempt takes them in canonical order`,
    )
  }
}
