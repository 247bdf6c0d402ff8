import type { JoinRequest, TransactionState } from '../transaction/transaction-state.js'
import type { KnexBuilderInternals } from '../knex/builder-internals.js'
import type { RoutedStatement } from '../routing/statement-router.js'
import type { ShardMode } from '../transaction/lock-set-order.js'
import { mergeResults } from '../transaction/result-merge.js'
import type { Runtime } from '../transaction/runtime.js'
import { executeOnShard } from '../transaction/statement-executor.js'

/**
 * MariaDB's per-statement variable override (10.1+). With a lock wait timeout of 0 (allowed since
 * 10.3), a statement that would wait for a lock fails at once with 1205 instead; the attempt then
 * rolls back and is retried like a deadlock. Measured on 10.11: the error arrives immediately.
 * MySQL has no equivalent for this variable (its SET_VAR hint does not accept InnoDB variables;
 * Percona Server's extension does), so there the statement is sent as is (docs/ordered.md, limits).
 */
const NO_WAIT_PREFIX = 'SET STATEMENT innodb_lock_wait_timeout=0 FOR '

/**
 * Runs one routed locking/writing statement on its shards, one after another in canonical order,
 * like the transaction core does, except that shards whose mode is `no-wait` get a statement that
 * fails rather than wait. `afterShard` runs after each shard's part succeeded.
 *
 * @example
 * ```ts
 * // from the policy's executeWrite hook, with the modes decideStatement chose
 * await runRoutedStatement(tx, routed, builder, request, ['no-wait'], (shard) => held.addKeys(shard, table, keys))
 * ```
 */
export async function runRoutedStatement(
  tx: TransactionState,
  routed: RoutedStatement,
  builder: KnexBuilderInternals,
  request: JoinRequest,
  modes: readonly ShardMode[],
  afterShard: (shard: string) => void,
): Promise<unknown> {
  const results: unknown[] = []
  for (const [i, shard] of routed.shards.entries()) {
    let statement = routed.perShard?.get(shard) ?? builder
    if (modes[i] === 'no-wait' && (await isMariaDb(tx, shard))) statement = withoutLockWait(statement)
    results.push(await executeOnShard(tx, shard, statement, { readOnly: false, callSite: request.callSite }))
    afterShard(shard)
  }
  return results.length === 1 ? results[0] : mergeResults(routed.method, results)
}

/** A copy of `builder` whose SQL carries the no-wait prefix; results keep knex's shape (the method is unchanged). */
function withoutLockWait(builder: KnexBuilderInternals): KnexBuilderInternals {
  const copy = builder.clone()
  const compile = copy.toSQL.bind(copy)
  copy.toSQL = () => {
    const compiled = compile() as { sql: string } | { sql: string }[]
    const prefix = (c: { sql: string }) => ({ ...c, sql: NO_WAIT_PREFIX + c.sql })
    return Array.isArray(compiled) ? compiled.map(prefix) : prefix(compiled)
  }
  return copy
}

/**
 * Server flavour per shard, learned once per ShardedDb. Asked on the transaction's own session, so
 * it never takes another pooled connection while holding locks. Transactions that ask before the
 * first answer arrives each ask on their own session: sharing a pending answer would tie one
 * transaction's fate to another's session.
 */
const flavours = new WeakMap<Runtime, Map<string, boolean>>()

async function isMariaDb(tx: TransactionState, shard: string): Promise<boolean> {
  let byShard = flavours.get(tx.runtime)
  if (byShard === undefined) flavours.set(tx.runtime, (byShard = new Map()))
  const known = byShard.get(shard)
  if (known !== undefined) return known
  const [rows] = (await executeOnShard(tx, shard, tx.runtime.compileClient.raw('SELECT VERSION() AS version'), {
    readOnly: false,
    callSite: undefined,
  })) as [{ version: string }[]]
  const answer = /mariadb/i.test(String(rows[0]?.version))
  byShard.set(shard, answer)
  return answer
}
