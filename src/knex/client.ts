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
}

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
