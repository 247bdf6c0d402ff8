import type { KnexBuilderInternals } from '../knex/builder-internals.js'
import type { Runtime } from '../transaction/runtime.js'
import { executeOnShard } from '../transaction/statement-executor.js'
import type { TransactionState } from '../transaction/transaction-state.js'

/**
 * MariaDB's per-statement variable override (10.1+). With a lock wait timeout of 0 (allowed since
 * 10.3), a statement that would wait for a lock fails at once with 1205 instead. Measured on
 * 10.11: the error arrives immediately, and only the statement is rolled back.
 * MySQL has no equivalent for this variable (its SET_VAR hint does not accept InnoDB variables;
 * Percona Server's extension does), so there such statements cannot be sent (docs/ordered.md, limits).
 */
const NO_WAIT_PREFIX = 'SET STATEMENT innodb_lock_wait_timeout=0 FOR '

/**
 * Whether each shard's server takes the no-wait form, per ShardedDb. Learned from the server's
 * greeting on the transaction's own session (no query), or, if the driver does not expose it,
 * with `SELECT VERSION()` on that session: never another pooled connection while holding locks.
 * A few entries (one per shard), so no bound beyond the shard map is needed.
 */
const flavours = new WeakMap<Runtime, Map<string, boolean>>()

/**
 * What is known, without asking, about whether `shard` takes the no-wait form: true or false once
 * any `ordered` statement ran there, undefined before. The policy plans statements synchronously
 * and only relies on what is already known.
 *
 * @example
 * ```ts
 * knownToRefuseWaits(tx.runtime, '-80') // true on MariaDB after the first ordered statement there
 * ```
 */
export function knownToRefuseWaits(runtime: Runtime, shard: string): boolean | undefined {
  return flavours.get(runtime)?.get(shard)
}

/**
 * Whether `shard` takes the no-wait form, learning it on the transaction's session if needed.
 *
 * @example
 * ```ts
 * if (await refusesToWait(tx, shard)) statement = withoutLockWait(statement)
 * ```
 */
export async function refusesToWait(tx: TransactionState, shard: string): Promise<boolean> {
  const known = knownToRefuseWaits(tx.runtime, shard)
  if (known !== undefined) return known
  const session = await tx.sessionOn(shard)
  let version = session?.serverVersion
  if (version === undefined) {
    const [rows] = (await executeOnShard(tx, shard, tx.runtime.compileClient.raw('SELECT VERSION() AS version'), {
      readOnly: false,
      callSite: undefined,
    })) as [{ version: string }[]]
    version = String(rows[0]?.version)
  }
  const answer = /mariadb/i.test(version)
  let byShard = flavours.get(tx.runtime)
  if (byShard === undefined) flavours.set(tx.runtime, (byShard = new Map()))
  byShard.set(shard, answer)
  return answer
}

/**
 * A view of `builder` whose SQL carries the no-wait prefix; results keep knex's shape (the method
 * is unchanged). A prototype-chained view rather than `builder.clone()`: cloning copies every
 * statement part and was a measurable share of the policy's CPU (bench/RESULTS.md); the view
 * reads through to the builder and only its `toSQL` differs.
 *
 * @example
 * ```ts
 * withoutLockWait(builder).toSQL().sql // 'SET STATEMENT innodb_lock_wait_timeout=0 FOR update `accounts` ...'
 * ```
 */
export function withoutLockWait(builder: KnexBuilderInternals): KnexBuilderInternals {
  const view = Object.create(builder) as KnexBuilderInternals
  view.toSQL = () => {
    const compiled = builder.toSQL() as { sql: string } | { sql: string }[]
    const prefix = (c: { sql: string }) => ({ ...c, sql: NO_WAIT_PREFIX + c.sql })
    return Array.isArray(compiled) ? compiled.map(prefix) : prefix(compiled)
  }
  return view
}

/** ER_LOCK_WAIT_TIMEOUT: what a no-wait statement fails with when its rows are busy. */
export function isLockWaitTimeout(err: unknown): boolean {
  return (err as { errno?: unknown } | null)?.errno === 1205
}
