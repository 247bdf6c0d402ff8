/**
 * Every knex client shardtx derives, in one place. knex's own transactions use the same trick:
 * a client made with `Object.create(client)` inherits the dialect, the compiler and the pool, and
 * overrides only what differs (knex 3, lib/execution/transaction.js). The members overridden here
 * (`runner`, `acquireConnection`, `releaseConnection`, `_query`) are knex internals that are not
 * in its types; they are checked where the first client is derived, so a knex without them fails
 * at start-up rather than sending statements unguarded or unrouted.
 */
import type { KnexClientLike, QueryHook, RawConnection } from './client.js'

interface WithQueryHook {
  _query: QueryHook
}

/**
 * Clients that route instead of running: every awaited builder or raw statement made on one, or
 * switched onto it with `builder.transacting(...)`, is handed to `route` with the context the
 * client was derived for. Made the way knex makes its transaction clients
 * (lib/execution/transaction.js, makeTxClient): objects on the dialect's prototype with the base
 * client's compiler settings and `transacting = true`, which is what `builder.transacting(tx)`
 * checks before it moves a builder onto `tx.client`. They own no pool: acquiring a connection
 * through one is refused.
 *
 * Everything but the context is set up once, on a prototype shared by the family: deriving a
 * client (once per transaction attempt) costs one object and one property, and every client of
 * a family has the same shape. Event listeners stay per client (knex's emitter creates its
 * listener table on first use, on the object it is called on).
 *
 * @example
 * ```ts
 * const clients = routingClients(compileClient, (tx: Tx, builder) => executeStatement(tx, builder), refuseStream)
 * const routing = clients.derive(tx) // per attempt
 * await routing.queryBuilder().table('accounts').where({ id: 1 }) // reaches executeStatement(tx, ...)
 * ```
 */
export function routingClients<C>(
  base: KnexClientLike,
  route: (context: C, statement: unknown) => Promise<unknown>,
  refuse: (what: string) => never,
): { prototype: KnexClientLike; derive(context: C): KnexClientLike } {
  const source = base as KnexClientLike & Record<string, unknown>
  const proto = Object.create((base as { constructor: { prototype: object } }).constructor.prototype) as KnexClientLike & Record<string | symbol, unknown>
  for (const key of ['version', 'config', 'driver', 'connectionSettings', 'valueForUndefined', 'logger']) proto[key] = source[key]
  proto.transacting = true
  proto.runner = function runner(this: Record<symbol, unknown>, builder: unknown) {
    return new RoutedRunner(route, this[CONTEXT] as C, builder, refuse)
  }
  proto.acquireConnection = () => Promise.reject(refuseSync(refuse, 'acquireConnection()'))
  proto.releaseConnection = () => Promise.resolve()
  return {
    prototype: proto,
    derive(context) {
      const client = Object.create(proto) as KnexClientLike & Record<symbol, unknown>
      client[CONTEXT] = context
      return client
    },
  }
}

const CONTEXT = Symbol('shardtx.routingContext')

/** knex's runner interface (`client.runner(builder)`) for a routing client: `run` routes, streams are refused. */
class RoutedRunner<C> {
  constructor(
    readonly route: (context: C, statement: unknown) => Promise<unknown>,
    readonly context: C,
    readonly builder: unknown,
    readonly refuse: (what: string) => never,
  ) {}
  run(): Promise<unknown> {
    return this.route(this.context, this.builder)
  }
  stream(): never {
    return this.refuse('stream()')
  }
  pipe(): never {
    return this.refuse('pipe()')
  }
}

/**
 * One routing client (see {@link routingClients}) whose statements all go to `run`.
 *
 * @example
 * ```ts
 * const routing = routingClient(compileClient, (builder) => runSingleStatement(builder), refuseStream)
 * ```
 */
export function routingClient(base: KnexClientLike, run: (builder: unknown) => Promise<unknown>, refuse: (what: string) => never): KnexClientLike {
  return routingClients(base, (send: (builder: unknown) => Promise<unknown>, statement) => send(statement), refuse).derive(run)
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

/** knex's `_query` of `client`; throws at start-up on a knex without it (see the header). */
export function queryHookOf(client: KnexClientLike): QueryHook {
  const query = (client as Partial<WithQueryHook>)._query
  if (typeof query !== 'function') {
    throw new Error('shardtx could not find knex client._query; this knex version is not supported (install knex >=3.1 <4).')
  }
  return query
}
