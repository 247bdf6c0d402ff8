import knexFactory, { type Knex } from 'knex'

/**
 * The slice of a mysql2 connection (callback API, as knex's pool hands it out) that shardtx uses.
 * Structural, so shardtx does not import mysql2's types (Kysely's approach to peer dependencies).
 */
export interface RawConnection {
  threadId: number
  query(sql: string | { sql: string; timeout?: number; values?: unknown[] }, callback: (err: Error | null, result?: unknown) => void): void
  destroy(): void
  /** knex's marker for a connection its pool must drop instead of reuse. */
  __knex__disposed?: Error
  /** mysql2's record of the server's greeting (internal, not in its types): `serverVersion` names the flavour. */
  _handshakePacket?: { serverVersion?: unknown } | null
}

/** knex's per-dialect statement hook (`Client_MySQL.prototype._query`); not in knex's types. */
export type QueryHook = (connection: RawConnection, obj: { sql: string; method?: string } | string) => Promise<unknown>

/** The slice of knex's Client that shardtx calls. */
export interface KnexClientLike {
  acquireConnection(): Promise<unknown>
  releaseConnection(connection: unknown): Promise<unknown>
  runner(builder: unknown): { run(): Promise<unknown> }
  queryBuilder(): Knex.QueryBuilder
  raw(sql: string, bindings?: unknown): Knex.Raw
}

/** knex's runtime Client class is not in its types; every knex instance exposes it as `.client`. */
export function clientOf(instance: Knex): KnexClientLike {
  return (instance as unknown as { client: KnexClientLike }).client
}

/**
 * A knex instance that compiles MySQL SQL but owns no pool: the base of every routed builder.
 * Compilation is shard-independent, so one such client serves all shards.
 */
export function createCompileOnlyKnex(): Knex {
  return knexFactory({ client: 'mysql2' })
}

/** The slice of knex's pool (tarn) that {@link canAcquireWithoutWaiting} reads; not in knex's types. */
interface PoolLike {
  max: number
  numFree(): number
  numUsed(): number
  numPendingAcquires(): number
  numPendingCreates(): number
}

/**
 * True when an acquire on `client` right now would not queue behind other transactions: nobody
 * is queued, and the pool has a free connection (tarn hands it over synchronously) or room to
 * open a new one (a wait on the server's handshake, not on another holder). False when the pool
 * is not the tarn pool knex 3 uses, so callers fall back to the cautious path.
 *
 * @example
 * ```ts
 * if (canAcquireWithoutWaiting(runtime.poolOf('-80'))) tx.join('-80', request)
 * ```
 */
export function canAcquireWithoutWaiting(client: KnexClientLike): boolean {
  const pool = (client as { pool?: Partial<PoolLike> }).pool
  if (pool === undefined || typeof pool.numFree !== 'function' || typeof pool.numUsed !== 'function') return false
  if (typeof pool.numPendingAcquires !== 'function' || typeof pool.numPendingCreates !== 'function' || typeof pool.max !== 'number') return false
  if (pool.numPendingAcquires() > 0) return false
  return pool.numFree() > 0 || pool.numUsed() + pool.numPendingCreates() < pool.max
}
