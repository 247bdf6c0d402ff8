import type { JoinRequest, TransactionState } from '../transaction-state.js'
import type { KnexBuilderInternals } from '../../knex/builder-internals.js'
import type { RoutedStatement } from '../../routing/statement-router.js'
import type { ShardMode } from './lock-set-order.js'
import { mergeResults } from '../result-merge.js'
import type { ShardSession } from '../shard-session.js'
import { executeOnShard } from '../statement-executor.js'
import { isLockWaitTimeout } from '../../shared/errors.js'
import type { NoWaitSupport } from './no-wait.js'

/**
 * Runs one routed locking/writing statement on its shards, one after another in canonical order,
 * like the transaction core does, except that shards whose mode is `no-wait` or `try` get a
 * statement that fails rather than wait. `afterShard` runs after each shard's part succeeded;
 * `busy` makes the error to throw when a `try` part found its rows locked by someone else.
 *
 * @example
 * ```ts
 * // from the policy's executeWrite hook, with the modes decideStatement chose
 * await runRoutedStatement(tx, noWait, routed, builder, request, ['try'], (shard) => held.addKeys(shard, table, keys), (shard) => restart(shard))
 * ```
 */
export async function runRoutedStatement(
  tx: TransactionState,
  noWaitSupport: NoWaitSupport,
  routed: RoutedStatement,
  builder: KnexBuilderInternals,
  request: JoinRequest,
  modes: readonly ShardMode[],
  afterShard: (shard: string) => void,
  busy: (shard: string) => Error,
): Promise<unknown> {
  const results: unknown[] = []
  for (const [i, shard] of routed.shards.entries()) {
    const mode = modes[i] ?? 'wait'
    const statement = routed.perShard?.get(shard) ?? builder
    let noWait = false
    if (mode !== 'wait') {
      // Known after the first statement on the shard: no extra await on the hot path.
      noWait = noWaitSupport.known(shard) ?? (await noWaitSupport.learn(tx, shard))
      // Planned only where the no-wait form is known to work; a server that changed under us gets the cautious path.
      if (!noWait && mode === 'try') throw tx.doom(busy(shard))
    }
    try {
      const options = {
        readOnly: false,
        callSite: request.callSite,
        lockWaitExpected: mode === 'try',
        clientFor: noWait ? (session: ShardSession) => noWaitSupport.clientOf(session) : undefined,
      }
      results.push(await executeOnShard(tx, shard, statement, options))
    } catch (err) {
      if (mode === 'try' && isLockWaitTimeout(err)) throw tx.doom(busy(shard))
      throw err
    }
    // Learn the server's flavour at first contact, so later statements below the top can be tried.
    if (noWaitSupport.known(shard) === undefined) await noWaitSupport.learn(tx, shard)
    afterShard(shard)
  }
  return results.length === 1 ? results[0] : mergeResults(routed.method, results)
}
