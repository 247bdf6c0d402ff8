import { formatLocation } from '../../shared/errors.js'
import { levelEnabled } from '../../shared/logger.js'
import { OriginRateLimiter } from '../../shared/origin-rate-limiter.js'
import type { TransactionState } from '../../transaction/transaction-state.js'
import type { Runtime } from '../../transaction/services.js'
import { describeReach, type LockRestart } from './errors.js'

/** Logged at debug level when an `ordered` attempt restarts to take a grown lock set in canonical order. */
export interface LockRestartEvent extends LockRestart {
  event: 'shardtx.lock_restart'
  transactionId: string
  origin: string
  maxLockRestarts: number
  /** Restarts from this origin not logged since the previous one (rate limiting). */
  suppressed: number
}

/**
 * A restart is normal for learned lock sets (once per new shape of transaction); debug level, rate-limited per origin.
 *
 * @example
 * ```ts
 * reportLockRestart(tx, { attempt: 1, table: 'accounts', shard: '-80', above: '80-', cause: 'rows' }, 3)
 * ```
 */
export function reportLockRestart(tx: TransactionState, restart: LockRestart, maxLockRestarts: number): void {
  if (!levelEnabled(tx.runtime.logger, 'debug')) return
  const origin = formatLocation(tx.origin)
  const decision = limiterOf(tx.runtime).decide(origin)
  if (!decision.emit) return
  const event: LockRestartEvent = { event: 'shardtx.lock_restart', transactionId: tx.id, origin, maxLockRestarts, suppressed: decision.suppressed, ...restart }
  tx.runtime.logger.debug(
    event,
    `shardtx: ordered transaction ${tx.id} from ${origin} restarts (attempt ${restart.attempt} of at most ${maxLockRestarts + 1}): ` +
      `it reached for ${describeReach(restart)}, not held, while it held shard ${restart.above}; ` +
      `the next attempt takes them in canonical order`,
  )
}

/** One restart limiter per ShardedDb (its Runtime); bounded by OriginRateLimiter's own cap on origins. */
const limiters = new WeakMap<Runtime, OriginRateLimiter>()

function limiterOf(runtime: Runtime): OriginRateLimiter {
  let limiter = limiters.get(runtime)
  if (limiter === undefined) limiters.set(runtime, (limiter = new OriginRateLimiter(runtime.config.warnings.intervalMs)))
  return limiter
}
