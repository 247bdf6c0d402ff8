/**
 * Sending SQL through the shard's knex client exactly the way a knex builder is finally sent:
 * the dialect's `_query(connection, { sql, bindings })`, which for mysql2 is
 * `connection.query({ sql }, bindings)`. Two reasons not to use `client.raw(sql, bindings)`:
 * knex's raw placeholder rewriting would sit between the compiled SQL and the server (a planned
 * statement must be replayed byte for byte as knex compiled it), and `_query` is the point every
 * statement shardtx sends passes through, so per-shard guards (timeouts, health) apply here too.
 */
import type { KnexClientLike, RawConnection } from '../knex/client.js'
import type { ShardSession } from './shard-session.js'

/** mysql2's result of a statement without a result set. */
export interface ResultHeader {
  affectedRows: number
}

/** knex's per-dialect statement hook; not in knex's types. */
interface QueryHook {
  _query(connection: RawConnection, obj: { sql: string; bindings: readonly unknown[]; method: string }): Promise<{ response: [unknown, unknown] }>
}

async function send(client: KnexClientLike, connection: RawConnection, sql: string, values: readonly unknown[]): Promise<unknown> {
  const hook = (client as unknown as Partial<QueryHook>)._query
  if (typeof hook !== 'function') throw new Error('shardtx could not find knex client._query; this knex version is not supported (install knex >=3.1 <4).')
  const obj = await hook.call(client, connection, { sql, bindings: values, method: 'raw' })
  return obj.response[0]
}

/** Sends one statement on a connection held by {@link withPooledConnection}. */
export type HeldQuery = <T = unknown>(sql: string, values?: readonly unknown[]) => Promise<T>

/**
 * Several autocommitted statements on one pooled connection of a shard, e.g. a session variable
 * set before a statement and restored after it (atomic's bounded lock wait).
 *
 * @example
 * ```ts
 * await withPooledConnection(pool, async (query) => query('XA RECOVER'))
 * ```
 */
export async function withPooledConnection<T>(pool: KnexClientLike, work: (query: HeldQuery) => Promise<T>): Promise<T> {
  const connection = (await pool.acquireConnection()) as RawConnection
  try {
    return await work(<R>(sql: string, values: readonly unknown[] = []) => send(pool, connection, sql, values) as Promise<R>)
  } finally {
    // A connection that broke mid-query is refused by knex's pool validation on the next acquire.
    await pool.releaseConnection(connection)
  }
}

/** One autocommitted statement on a pooled connection of a shard. */
export function poolQuery<T = unknown>(pool: KnexClientLike, sql: string, values: readonly unknown[] = []): Promise<T> {
  return withPooledConnection(pool, (query) => query<T>(sql, values))
}

/** A statement inside an open ShardSession (its bound client hands out the session's connection). */
export async function sessionQuery(session: ShardSession, sql: string, values: readonly unknown[] = []): Promise<unknown> {
  const connection = (await session.client.acquireConnection()) as RawConnection
  return send(session.client, connection, sql, values)
}

/** `?, ?, ?` for an IN list of n values. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ')
}
