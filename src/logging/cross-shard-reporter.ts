import { CHANNELS, type CrossShardTransactionEvent, type TransactionOutcome } from '../shared/channels.js'
import { formatLocation, type CodeLocation, type TransactionFacts } from '../shared/errors.js'
import { levelEnabled } from '../shared/logger.js'
import { OriginRateLimitedLog } from '../shared/origin-rate-limiter.js'

/** What the reporter needs of a transaction that spanned shards. */
export interface CrossShardReport {
  /** Id, shards, tables, origin; read only when the event will be seen (formatting the origin costs). */
  facts(): TransactionFacts
  policy: string
  reason: string | undefined
  outcome: TransactionOutcome
  durationMs: number
  /** Shard key values by shard; given only with `warnings.logKeyValues: true`. */
  keys?: Record<string, string[]>
  /** The lines that called the function holding `db.transaction()`; read only when the event is published. */
  callers?(): CodeLocation[]
}

/**
 * Reports transactions that spanned shards: every one to the diagnostics channel (metrics and
 * footprints listen there), and at most one per origin per interval to the logger. `warn` logs
 * at warn level: a multi-shard transaction there is a smell to fix. `ordered` and `split` log at
 * debug level: for them it is the sanctioned, safe path and must not page anyone.
 *
 * @example
 * ```ts
 * const reporter = new CrossShardReporter(logger, 60_000)
 * reporter.report({ facts: () => tx.facts(), policy: 'warn', reason, outcome: 'committed', durationMs: 12 }, 'warn')
 * ```
 */
export class CrossShardReporter extends OriginRateLimitedLog {
  report(report: CrossShardReport, level: 'warn' | 'debug'): void {
    // Nobody would see it: skip the event, and the stack formatting its origin costs.
    if (!CHANNELS.crossShardTransaction.hasSubscribers && !levelEnabled(this.logger, level)) return
    const facts = report.facts()
    const origin = formatLocation(facts.origin)
    const event: CrossShardTransactionEvent = {
      event: 'shardtx.cross_shard_transaction',
      transactionId: facts.transactionId,
      policy: report.policy,
      outcome: report.outcome,
      shards: [...facts.shards],
      tables: [...facts.tables],
      origin,
      reason: report.reason,
      durationMs: Math.round(report.durationMs * 10) / 10,
      suppressed: 0,
    }
    if (report.keys !== undefined) event.keys = report.keys
    if (CHANNELS.crossShardTransaction.hasSubscribers) {
      const callers = report.callers?.().map(formatLocation) ?? []
      // On the channel only: the logged event keeps its documented shape.
      CHANNELS.crossShardTransaction.publish(callers.length > 0 ? { ...event, callers } : event)
    }
    const decision = this.limiter.decide(origin)
    if (!decision.emit) return
    event.suppressed = decision.suppressed
    if (decision.suppressedElsewhere > 0) event.suppressedElsewhere = decision.suppressedElsewhere
    this.logger[level](
      event,
      `shardtx: transaction ${facts.transactionId} from ${origin} spanned shards [${event.shards.join(', ')}] ` +
        `(tables ${event.tables.join(', ')}) under '${report.policy}'${report.reason ? ` (reason: ${report.reason})` : ''}: ${report.outcome}` +
        (decision.suppressed > 0 ? `; ${decision.suppressed} similar warnings from this origin suppressed` : ''),
    )
  }
}
