import { formatLocation } from '../errors.js'
import { CHANNELS, type CrossShardTransactionEvent } from '../logging/events.js'
import { OriginRateLimiter } from '../logging/origin-rate-limiter.js'
import type { TransactionState } from '../transaction/transaction-state.js'
import type { Runtime } from '../transaction/runtime.js'
import type { LockRestart } from './ordered-errors.js'
import type { TransactionOutcome } from './policy.js'

/** Logged at debug level when an `ordered` attempt restarts to take a grown lock set up front. */
export interface LockRestartEvent extends LockRestart {
  event: 'shardtx.lock_restart'
  transactionId: string
  origin: string
  maxLockRestarts: number
  /** Restarts from this origin not logged since the previous one (rate limiting). */
  suppressed: number
}

/**
 * Why debug and not warn: under `ordered` a multi-shard transaction is the sanctioned, safe path,
 * not a smell to fix, so it must not page anyone. Every one is still published on the
 * `shardtx:cross-shard-transaction` diagnostics channel (policy `ordered`) for metrics; the
 * logger gets at most one line per origin per `warnings.intervalMs` so a busy service (or the
 * 20,000-transfer test) does not flood a debug log either.
 *
 * @example
 * ```ts
 * // the policy's finished hook
 * if (tx.participants.length > 1) reportOrderedTransaction(tx, 'committed', 12.5)
 * ```
 */
export function reportOrderedTransaction(tx: TransactionState, outcome: TransactionOutcome, durationMs: number): void {
  const facts = tx.facts()
  const origin = formatLocation(facts.origin)
  const event: CrossShardTransactionEvent = {
    event: 'shardtx.cross_shard_transaction',
    transactionId: tx.id,
    policy: tx.policyName,
    outcome,
    shards: [...facts.shards],
    tables: [...facts.tables],
    origin,
    reason: tx.reason,
    durationMs: Math.round(durationMs * 10) / 10,
    suppressed: 0,
  }
  if (CHANNELS.crossShardTransaction.hasSubscribers) CHANNELS.crossShardTransaction.publish(event)
  const decision = limiterOf(tx.runtime, 'transaction').decide(origin)
  if (!decision.emit) return
  event.suppressed = decision.suppressed
  tx.runtime.logger.debug(
    event,
    `shardtx: ordered transaction ${tx.id} from ${origin} spanned shards [${event.shards.join(', ')}] (tables ${event.tables.join(', ')}): ${outcome}` +
      (decision.suppressed > 0 ? `; ${decision.suppressed} more from this origin not logged` : ''),
  )
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
  const origin = formatLocation(tx.origin)
  const decision = limiterOf(tx.runtime, 'restart').decide(origin)
  if (!decision.emit) return
  const event: LockRestartEvent = { event: 'shardtx.lock_restart', transactionId: tx.id, origin, maxLockRestarts, suppressed: decision.suppressed, ...restart }
  tx.runtime.logger.debug(
    event,
    `shardtx: ordered transaction ${tx.id} from ${origin} restarts (attempt ${restart.attempt} of at most ${maxLockRestarts + 1}): ` +
      `${restart.cause === 'rows' ? `rows of ${restart.table}` : `a session`} on shard ${restart.shard} were not held while it held shard ${restart.above}; ` +
      `the next attempt takes them up front in canonical order`,
  )
}

const limiters = new WeakMap<Runtime, Record<'transaction' | 'restart', OriginRateLimiter>>()

function limiterOf(runtime: Runtime, kind: 'transaction' | 'restart'): OriginRateLimiter {
  let pair = limiters.get(runtime)
  if (pair === undefined) {
    const interval = runtime.config.warnings.intervalMs
    limiters.set(runtime, (pair = { transaction: new OriginRateLimiter(interval), restart: new OriginRateLimiter(interval) }))
  }
  return pair[kind]
}
