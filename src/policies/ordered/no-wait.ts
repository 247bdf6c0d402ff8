import { isMariaDbVersion } from '../../deadlock/server-flavor.js'
import type { KnexClientLike } from '../../knex/client.js'
import type { ShardSession } from '../../transaction/shard-session.js'
import type { Runtime } from '../../transaction/services.js'
import { executeOnShard } from '../../transaction/statement-executor.js'
import type { TransactionState } from '../../transaction/transaction-state.js'

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
 * const client = (await refusesToWait(tx, shard)) ? noWaitClientOf(session) : session.client
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
  const answer = isMariaDbVersion(version)
  let byShard = flavours.get(tx.runtime)
  if (byShard === undefined) flavours.set(tx.runtime, (byShard = new Map()))
  byShard.set(shard, answer)
  return answer
}

/** knex's per-dialect statement hook (`Client_MySQL.prototype._query`), as the health guard wraps it. */
interface QueryHook {
  _query(connection: unknown, obj: { sql: string } | string): Promise<unknown>
}

/** One no-wait client per session: made once, so no statement pays for deriving it. */
const noWaitClients = new WeakMap<ShardSession, KnexClientLike>()

/**
 * A client for `session` whose statements carry the no-wait prefix. It is the session's own
 * client (same connection, same health guard) with knex's `_query` hook prepending the prefix, so
 * the builder is neither cloned nor wrapped and results keep knex's shape. Deriving an object
 * from the builder per statement was measurable (bench/RESULTS.md: ~70 us of Node CPU per
 * transfer); the client is derived once per session.
 *
 * @example
 * ```ts
 * await executeOnShard(tx, shard, builder, { readOnly: false, callSite, clientFor: noWaitClientOf })
 * // sends: SET STATEMENT innodb_lock_wait_timeout=0 FOR update `accounts` set ...
 * ```
 */
export function noWaitClientOf(session: ShardSession): KnexClientLike {
  let client = noWaitClients.get(session)
  if (client === undefined) {
    const base = session.client as KnexClientLike & QueryHook
    // A sibling of the session's client (same prototype, same own properties, plus _query), not a
    // child of it: an object used as a prototype gets a map of its own in V8, so deriving from each
    // session's client would give every session's clients unique shapes, and the inline caches in
    // knex and mysql2 that see those clients would go megamorphic.
    const derived = Object.create(Object.getPrototypeOf(base) as object) as KnexClientLike & QueryHook
    derived.acquireConnection = base.acquireConnection
    derived.releaseConnection = base.releaseConnection
    const query = base._query
    derived._query = function noWaitQuery(this: unknown, connection, obj) {
      const prefixed = typeof obj === 'string' ? NO_WAIT_PREFIX + obj : { ...obj, sql: NO_WAIT_PREFIX + obj.sql }
      return query.call(this, connection, prefixed)
    }
    noWaitClients.set(session, (client = derived))
  }
  return client
}
