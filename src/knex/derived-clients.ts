/**
 * Every knex client shardtx derives, in one place. knex's own transactions use the same trick:
 * a client made with `Object.create(client)` inherits the dialect, the compiler and the pool, and
 * overrides only what differs (knex 3, lib/execution/transaction.js). The members overridden here
 * (`runner`, `acquireConnection`, `releaseConnection`, `_query`) are knex internals that are not
 * in its types; they are checked where the first client is derived, so a knex without them fails
 * at start-up rather than sending statements unguarded or unrouted.
 */
import type { KnexClientLike, RawConnection } from './client.js'

/** knex's per-dialect statement hook (`Client_MySQL.prototype._query`); not in knex's types. */
export type QueryHook = (connection: RawConnection, obj: { sql: string; method?: string } | string) => Promise<unknown>

interface WithQueryHook {
  _query: QueryHook
}

/**
 * A client that routes instead of running: every awaited builder or raw statement made on it, or
 * switched onto it with `builder.transacting(...)`, is handed to `run`. Made the way knex makes
 * its transaction clients (lib/execution/transaction.js, makeTxClient): a fresh object on the
 * dialect's prototype with the base client's compiler settings, so it has its own event
 * listeners, and `transacting = true`, which is what `builder.transacting(tx)` checks before it
 * moves a builder onto `tx.client`. It owns no pool: acquiring a connection through it is refused.
 *
 * @example
 * ```ts
 * const routing = routingClient(compileClient, (builder) => executeStatement(tx, builder), refuseStream)
 * await routing.queryBuilder().table('accounts').where({ id: 1 }) // reaches executeStatement
 * ```
 */
export function routingClient(base: KnexClientLike, run: (builder: unknown) => Promise<unknown>, refuse: (what: string) => never): KnexClientLike {
  const source = base as KnexClientLike & Record<string, unknown>
  const client = Object.create((base as { constructor: { prototype: object } }).constructor.prototype) as KnexClientLike & Record<string, unknown>
  for (const key of ['version', 'config', 'driver', 'connectionSettings', 'valueForUndefined', 'logger']) client[key] = source[key]
  client.transacting = true
  client.runner = (builder) => ({ run: () => run(builder), stream: () => refuse('stream()'), pipe: () => refuse('pipe()') })
  client.acquireConnection = () => Promise.reject(refuseSync(refuse, 'acquireConnection()'))
  client.releaseConnection = () => Promise.resolve()
  return client
}

function refuseSync(refuse: (what: string) => never, what: string): unknown {
  try {
    return refuse(what)
  } catch (err) {
    return err
  }
}

/**
 * A child of `pool` whose `acquireConnection` always hands out `connection` and whose release is a
 * no-op: builders run on it stay on one connection, inside its transaction.
 *
 * @example
 * ```ts
 * const bound = clientOnConnection(sessionPool, connection)
 * await bound.runner(builder).run() // on `connection`
 * ```
 */
export function clientOnConnection(pool: KnexClientLike, connection: RawConnection): KnexClientLike {
  const bound = Object.create(pool) as KnexClientLike
  bound.acquireConnection = () => Promise.resolve(connection)
  bound.releaseConnection = () => Promise.resolve()
  return bound
}

/** How {@link clientWithHooks} wraps a client's connection acquire and statement sending. */
export interface ClientHooks {
  /** Called instead of `acquireConnection`; `acquire` is the parent's. */
  acquire(acquire: () => Promise<unknown>): Promise<unknown>
  /** Called for every statement sent; `send` sends it as the parent would. */
  query(connection: RawConnection, obj: { sql: string; method?: string } | string, send: () => Promise<unknown>): Promise<unknown>
}

/**
 * A child of `client` whose connection acquires and statements go through `hooks`. Clients
 * derived from it later (session clients, routed reads) inherit both, so no path skips them.
 *
 * @example
 * ```ts
 * const guarded = clientWithHooks(pool, {
 *   acquire: (acquire) => guard.acquire(acquire, release),
 *   query: (connection, obj, send) => guard.run(connection, 'SELECT', send),
 * })
 * ```
 */
export function clientWithHooks(client: KnexClientLike, hooks: ClientHooks): KnexClientLike {
  const query = queryHookOf(client)
  const derived = Object.create(client) as KnexClientLike & WithQueryHook
  derived.acquireConnection = () => hooks.acquire(() => client.acquireConnection())
  derived._query = function hookedQuery(this: unknown, connection, obj) {
    return hooks.query(connection, obj, () => query.call(this, connection, obj))
  }
  return derived
}

/**
 * A sibling of `client` (same prototype, same connection hooks) whose statements start with
 * `prefix`. A sibling, not a child: an object used as a prototype gets a map of its own in V8, so
 * deriving from each session's client would give every session's clients unique shapes, and the
 * inline caches in knex and mysql2 that see those clients would go megamorphic.
 *
 * @example
 * ```ts
 * const noWait = clientWithStatementPrefix(session.client, 'SET STATEMENT innodb_lock_wait_timeout=0 FOR ')
 * ```
 */
export function clientWithStatementPrefix(client: KnexClientLike, prefix: string): KnexClientLike {
  const base = client as KnexClientLike & WithQueryHook
  const derived = Object.create(Object.getPrototypeOf(base) as object) as KnexClientLike & WithQueryHook
  derived.acquireConnection = base.acquireConnection
  derived.releaseConnection = base.releaseConnection
  const query = queryHookOf(base)
  derived._query = function prefixedQuery(this: unknown, connection, obj) {
    const prefixed = typeof obj === 'string' ? prefix + obj : { ...obj, sql: prefix + obj.sql }
    return query.call(this, connection, prefixed)
  }
  return derived
}

function queryHookOf(client: KnexClientLike): QueryHook {
  const query = (client as Partial<WithQueryHook>)._query
  if (typeof query !== 'function') {
    throw new Error('shardtx could not find knex client._query; this knex version is not supported (install knex >=3.1 <4).')
  }
  return query
}
