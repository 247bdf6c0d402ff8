import type { ConnectionSettings } from './connection.js'

/**
 * Size of mysql2's prepared-statement cache on every connection shardtx opens. Nothing shardtx
 * or knex sends is a prepared statement (both use `query`, never `execute`), yet mysql2 allocates
 * the cache's arrays at their maximum when a connection opens: about half a megabyte of heap per
 * connection at mysql2's default of 16,000 (bench/connection-memory.ts), which 16 shards with 64
 * pooled connections in each of their two pools would turn into a gigabyte.
 */
export const MAX_PREPARED_STATEMENTS = 16

/**
 * The mysql2 options every connection shardtx opens to a shard's server shares: where and as whom
 * to connect, and the small prepared-statement cache above. `database: false` leaves the database
 * out (the health probe asks whether the server answers, not whether the database exists).
 *
 * @example
 * ```ts
 * mysql.createPool({ ...mysql2Options(settings), connectionLimit: 2 })
 * ```
 */
export function mysql2Options(settings: ConnectionSettings, { database = true }: { database?: boolean } = {}) {
  return {
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password,
    ...(database ? { database: settings.database } : {}),
    ...(settings.socketPath === undefined ? {} : { socketPath: settings.socketPath }),
    maxPreparedStatements: MAX_PREPARED_STATEMENTS,
  }
}
