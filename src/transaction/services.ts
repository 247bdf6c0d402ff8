import type { DeadlockDetector } from '../deadlock/detector.js'
import type { HealthRegistry } from '../health/health-registry.js'
import type { KnexClientLike } from '../knex/client.js'
import type { Knex } from 'knex'
import type { CrossShardReporter } from '../logging/cross-shard-reporter.js'
import type { ShardMap } from '../routing/shard-map.js'
import type { NewRowKeys } from '../routing/new-row-keys.js'
import type { StatementRouter } from '../routing/statement-router.js'
import type { BackoffSettings } from '../shared/backoff.js'
import type { ShardtxLogger } from '../shared/logger.js'

/** The transaction core's own settings (from `retry` and `warnings` of createShardedDb). */
export interface TransactionSettings {
  /** Backoff between whole-callback retries (`retry.baseDelayMs`, `retry.maxDelayMs`). */
  retry: BackoffSettings
  /** `warnings.logKeyValues`: key values may appear in events and driver errors. */
  logKeyValues: boolean
}

/**
 * The services of one ShardedDb that every transaction uses: routing, the shard pools, health,
 * the deadlock detector, reporting. A plain record of built services: sharded-db.ts builds every
 * one and hands them in, so two ShardedDb instances in one process never share state and nothing
 * below the wiring constructs a service.
 *
 * @example
 * ```ts
 * const services: TransactionServices = { router, newRowKeys, shardMap, logger, compileClient, pools, sessionPools, health, deadlock, reporter, settings }
 * services.shardMap.canonicalOrder(['80-', '-80']) // ['-80', '80-']
 * ```
 */
/**
 * What every transaction object of one ShardedDb shares, made once by tx-handle.ts's
 * `createHandleTemplate`: the knex instance its members are inherited from, and the families of
 * routing clients (one prototype each, see knex/derived-clients.ts) that a transaction and its
 * `tx.shard(name)` handles are derived from. Declared here, where the services are, so the
 * services do not import the handle.
 */
export interface HandleTemplate {
  readonly knex: Knex
  /** A transaction's routing client; the context is its transaction. */
  readonly routed: { derive(context: unknown): KnexClientLike }
  /** A `tx.shard(name)` handle's routing client; the context is its transaction, shard and read-only flag. */
  readonly unrouted: { derive(context: unknown): KnexClientLike }
  /** The instance call form `tx(table)`, which captures the call site with one frame. */
  readonly onTable: (instance: Knex, table: unknown, options: unknown) => Knex.QueryBuilder
}

export interface TransactionServices {
  readonly router: StatementRouter
  /** Fills the shard keys of inserted rows from table sequences, before routing. */
  readonly newRowKeys: NewRowKeys
  readonly shardMap: ShardMap
  readonly logger: ShardtxLogger
  /** Compiles MySQL SQL and owns no pool; the prototype of every routing client. */
  readonly compileClient: KnexClientLike
  /** What every transaction object inherits: knex's instance members over no pool, and its routing clients (transaction/tx-handle.ts). */
  readonly handleTemplate: HandleTemplate
  /** Per shard (every shard of the map), the plain pool, guarded (see health/shard-guard.ts). */
  readonly pools: ReadonlyMap<string, KnexClientLike>
  /** Per shard, the pool that serves transaction sessions only (autocommit off, see knex/session-pool.ts), guarded. */
  readonly sessionPools: ReadonlyMap<string, KnexClientLike>
  readonly health: HealthRegistry
  readonly deadlock: DeadlockDetector
  readonly reporter: CrossShardReporter
  readonly settings: TransactionSettings
}
