import { formatLocation } from '../errors.js'
import { CHANNELS, type CrossShardTransactionEvent } from '../logging/events.js'
import { OriginRateLimiter } from '../logging/origin-rate-limiter.js'
import type { Runtime } from '../transaction/runtime.js'
import type { TransactionState } from '../transaction/transaction-state.js'
import type { TransactionOutcome } from './policy.js'

/**
 * Reports a split transaction that wrote to several shards. Under `split` that is the sanctioned
 * path, not a smell, so the logger gets it at debug level and at most once per origin per
 * `warnings.intervalMs`; every one is still published on the `shardtx:cross-shard-transaction`
 * diagnostics channel (policy `split`), which metrics and footprint recording listen to.
 */
export function reportSplitTransaction(tx: TransactionState, outcome: TransactionOutcome, durationMs: number): void {
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
  const decision = limiterOf(tx.runtime).decide(origin)
  if (!decision.emit) return
  event.suppressed = decision.suppressed
  tx.runtime.logger.debug(
    event,
    `shardtx: split transaction ${tx.id} from ${origin} wrote to shards [${event.shards.join(', ')}] (tables ${event.tables.join(', ')}), one transaction per shard: ${outcome}` +
      (decision.suppressed > 0 ? `; ${decision.suppressed} more from this origin not logged` : ''),
  )
}

/** One limiter per ShardedDb (its Runtime); bounded by OriginRateLimiter's own cap on origins. */
const limiters = new WeakMap<Runtime, OriginRateLimiter>()

function limiterOf(runtime: Runtime): OriginRateLimiter {
  let limiter = limiters.get(runtime)
  if (limiter === undefined) limiters.set(runtime, (limiter = new OriginRateLimiter(runtime.config.warnings.intervalMs)))
  return limiter
}
