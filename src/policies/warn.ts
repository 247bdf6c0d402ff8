import { commitInCanonicalOrder } from '../transaction/commit-in-order.js'
import type { CrossShardPolicy } from '../transaction/policy.js'

/**
 * `warn`: the transaction may span shards. Shards commit one at a time in canonical order
 * (see commitInCanonicalOrder for the partial-commit window), and a structured, rate-limited
 * warning names the origin, shards and tables so the path can be found and fixed. Nothing stops
 * two such transactions from deadlocking across shards; the detector (deadlock/) is the net.
 */
export const warnPolicy: CrossShardPolicy<undefined, undefined> = {
  name: 'warn',
  begin: () => undefined,
  admit() {},
  commit: commitInCanonicalOrder,
  finished(tx, outcome, durationMs) {
    if (tx.participants.length > 1) tx.reportCrossShard(outcome, durationMs, 'warn')
  },
}
