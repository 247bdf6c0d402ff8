import type { KnexClientLike, RawConnection } from '../knex/client.js'
import type { ShardGuard } from './shard-guard.js'

/** knex's per-dialect statement hook (`Client_MySQL.prototype._query`); not in knex's types. */
interface QueryHook {
  _query(connection: RawConnection, obj: { sql?: string; method?: string } | string): Promise<unknown>
}

const GUARD = Symbol('shardtx.shardGuard')

/**
 * A copy of a shard's knex client (prototype chain, the trick knex's own transactions use) whose
 * `acquireConnection` and `_query` go through `guard`. Everything derived from it with
 * `Object.create` (the session clients of ShardSession, routed reads) inherits both, so every
 * statement shardtx sends to the shard is bounded, whichever path sent it.
 *
 * `_query` is a knex internal (present on every knex 3 dialect client); it is checked here so a
 * knex without it fails at start-up rather than running statements unguarded.
 *
 * @example
 * ```ts
 * const pool = guardClient(clientOf(knexForShard), guard)
 * await pool.runner(builder).run()   // acquire and statement both bounded by the guard
 * ```
 */
export function guardClient(client: KnexClientLike, guard: ShardGuard): KnexClientLike {
  const query = (client as unknown as Partial<QueryHook>)._query
  if (typeof query !== 'function') {
    throw new Error('shardtx could not find knex client._query; this knex version is not supported (install knex >=3.1 <4).')
  }
  const guarded = Object.create(client) as KnexClientLike & QueryHook & { [GUARD]: ShardGuard }
  guarded.acquireConnection = () =>
    guard.acquire(
      () => client.acquireConnection(),
      (connection) => client.releaseConnection(connection),
    )
  guarded._query = function guardedQuery(this: unknown, connection, obj) {
    return guard.run(connection, statementLabel(obj), () => query.call(this, connection, obj))
  }
  guarded[GUARD] = guard
  return guarded
}

/** The guard of a client made by {@link guardClient} (or derived from one); undefined otherwise. */
export function shardGuardOf(client: unknown): ShardGuard | undefined {
  return (client as { [GUARD]?: ShardGuard } | null)?.[GUARD]
}

const LABELS: Readonly<Record<string, string>> = {
  select: 'SELECT',
  first: 'SELECT',
  pluck: 'SELECT',
  insert: 'INSERT',
  upsert: 'INSERT',
  update: 'UPDATE',
  counter: 'UPDATE',
  del: 'DELETE',
  raw: 'raw statement',
}

/** A label for messages: the statement's kind, never its SQL or values. */
function statementLabel(obj: { method?: string } | string): string {
  const method = typeof obj === 'object' && obj !== null ? obj.method : undefined
  return (method !== undefined && LABELS[method]) || 'statement'
}
