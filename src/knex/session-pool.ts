import type { KnexClientLike } from './client.js'

/**
 * Each shard has two pools: the plain one (`db.shard(name)`, reads outside a transaction, the
 * split intent log) and this one, whose connections only ever serve transaction sessions.
 *
 * Its connections run with `autocommit = 0`, set once when the connection is made. A session
 * then needs no `BEGIN`: InnoDB starts the transaction at the session's first statement, exactly
 * where a `BEGIN` (without `WITH CONSISTENT SNAPSHOT`) would have let it start, and `COMMIT` or
 * `ROLLBACK` ends it. That is one round trip fewer per shard per transaction, which on a CPU-bound
 * machine is throughput: bench/RESULTS.md measures it. A connection always leaves a session
 * after COMMIT or ROLLBACK (or is closed), so it returns to the pool with no transaction open.
 * The plain pool keeps `autocommit = 1`, so `db.shard(name)` behaves as plain knex.
 */
/** The SQL that turns a fresh connection into a session-pool connection. */
export const SESSION_POOL_INIT_SQL = 'SET SESSION autocommit = 0'

/**
 * knex pool settings for a shard's session pool: `afterCreate` runs {@link SESSION_POOL_INIT_SQL}
 * on every new connection before the pool hands it out.
 *
 * @example
 * ```ts
 * knexFactory({ client: 'mysql2', connection, pool: { min: 0, max: 10, ...sessionPoolHooks() } })
 * ```
 */
export function sessionPoolHooks(): { afterCreate: (connection: unknown, done: (err: Error | null, connection: unknown) => void) => void } {
  return {
    afterCreate(connection, done) {
      ;(connection as { query(sql: string, cb: (err: Error | null) => void): void }).query(SESSION_POOL_INIT_SQL, (err) => done(err, connection))
    },
  }
}

/** knex's statement events, which `db.shard(name).on(...)` listeners expect for every statement of the shard. */
const QUERY_EVENTS = ['start', 'query', 'query-error', 'query-response'] as const

/**
 * Re-emits the session pool's statement events on the shard's plain client, so a listener on
 * `db.shard(name)` (knex's `on('query', ...)`) sees transaction statements as it did before the
 * session pool existed.
 *
 * @example
 * ```ts
 * forwardQueryEvents(clientOf(sessionKnex), clientOf(plainKnex))
 * ```
 */
export function forwardQueryEvents(from: KnexClientLike, to: KnexClientLike): void {
  const source = from as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }
  const target = to as unknown as { emit(event: string, ...args: unknown[]): boolean }
  // A bound emit, not a closure of ours: forwarding runs no shardtx code per statement.
  for (const event of QUERY_EVENTS) source.on(event, target.emit.bind(target, event))
}
