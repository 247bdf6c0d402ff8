import { formatLocation } from '../shared/errors.js'
import type { TransactionOutcome } from '../transaction/policy.js'
import type { TransactionState } from '../transaction/transaction-state.js'
import { CHANNELS, type CrossShardTransactionEvent } from '../shared/channels.js'
import { levelEnabled, type ShardtxLogger } from '../shared/logger.js'
import { OriginRateLimiter } from '../shared/origin-rate-limiter.js'

/**
 * Reports transactions that spanned shards: every one to the diagnostics channel (metrics and
 * footprints listen there), and at most one per origin per interval to the logger. `warn` logs
 * at warn level: a multi-shard transaction there is a smell to fix. `ordered` and `split` log at
 * debug level: for them it is the sanctioned, safe path and must not page anyone.
 */
export class CrossShardReporter {
  readonly #logger: ShardtxLogger
  readonly #limiter: OriginRateLimiter

  constructor(logger: ShardtxLogger, intervalMs: number) {
    this.#logger = logger
    this.#limiter = new OriginRateLimiter(intervalMs)
  }

  report(
    tx: TransactionState,
    outcome: TransactionOutcome,
    durationMs: number,
    level: 'warn' | 'debug',
    keys?: Record<string, string[]>,
  ): void {
    // Nobody would see it: skip the event, and the stack formatting its origin costs.
    if (!CHANNELS.crossShardTransaction.hasSubscribers && !levelEnabled(this.#logger, level)) return
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
    if (keys !== undefined) event.keys = keys
    if (CHANNELS.crossShardTransaction.hasSubscribers) CHANNELS.crossShardTransaction.publish(event)
    const decision = this.#limiter.decide(origin)
    if (!decision.emit) return
    event.suppressed = decision.suppressed
    if (decision.suppressedElsewhere > 0) event.suppressedElsewhere = decision.suppressedElsewhere
    this.#logger[level](
      event,
      `shardtx: transaction ${tx.id} from ${origin} spanned shards [${event.shards.join(', ')}] ` +
        `(tables ${event.tables.join(', ')}) under '${tx.policyName}'${tx.reason ? ` (reason: ${tx.reason})` : ''}: ${outcome}` +
        (decision.suppressed > 0 ? `; ${decision.suppressed} similar warnings from this origin suppressed` : ''),
    )
  }
}
