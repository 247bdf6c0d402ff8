import knexFactory, { type Knex } from 'knex'
import type { ShardtxLogger } from '../shared/logger.js'
import type { QueryHook } from './client.js'
import { queryHookOf } from './derived-clients.js'
import { sendingWithValues } from './send-query.js'
import { sessionPoolHooks } from './session-pool.js'

/** What one shard's knex instance is made from. */
export interface ShardKnexSettings {
  /** mysql2 connection options (config/mysql2-options.ts builds them from the shard's URL or object). */
  connection: Readonly<Record<string, unknown>>
  pool: { min: number; max: number }
  acquireTimeoutMs: number
  /** `warnings.logKeyValues`: only then may knex splice binding values (shard keys) into error messages. */
  logKeyValues: boolean
  logger: ShardtxLogger
  /** The pool that serves transaction sessions only (autocommit off, see session-pool.ts). */
  sessions: boolean
}

/**
 * One shard's knex instance (its pool). Two per shard: the plain pool, and the session pool.
 *
 * @example
 * ```ts
 * const plain = createShardKnex({ connection, pool: { min: 0, max: 10 }, acquireTimeoutMs: 10_000, logKeyValues: false, logger, sessions: false })
 * ```
 */
export function createShardKnex(settings: ShardKnexSettings): Knex {
  const logger = settings.logger
  const log = (level: string) => (message: unknown) => logger.debug({ event: 'shardtx.knex_log', level }, String(message))
  const instance = knexFactory({
    client: 'mysql2',
    connection: { ...settings.connection, supportBigNumbers: true },
    pool: { min: settings.pool.min, max: settings.pool.max, ...(settings.sessions ? sessionPoolHooks() : {}) },
    acquireConnectionTimeout: settings.acquireTimeoutMs,
    // knex splices binding values (shard keys) into error messages unless told not to.
    compileSqlOnError: settings.logKeyValues,
    // knex writes pool warnings (every failed connect to a down shard) to the console by default;
    // they belong in the application's logger, at debug: shardtx logs the health transition itself.
    log: { warn: log('warn'), error: log('error'), deprecate: log('deprecate'), debug: log('debug') },
  })
  // On the shard's own client, so every statement sent to the shard (transactions, db.shard(name),
  // migrations, shardtx's own) takes the driver's cheaper form; see send-query.ts.
  ;(instance.client as { _query: QueryHook })._query = sendingWithValues(queryHookOf(instance.client))
  return instance
}
