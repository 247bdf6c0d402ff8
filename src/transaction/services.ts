import type { DeadlockDetector } from '../deadlock/detector.js'
import type { HealthRegistry } from '../health/health-registry.js'
import type { KnexClientLike } from '../knex/client.js'
import type { CrossShardReporter } from '../logging/cross-shard-reporter.js'
import type { ShardMap } from '../routing/shard-map.js'
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

/** The built services {@link TransactionServices} is made of; sharded-db.ts constructs each one. */
export interface TransactionServiceParts {
  router: StatementRouter
  shardMap: ShardMap
  logger: ShardtxLogger
  /** Compiles MySQL SQL and owns no pool; the prototype of every routing client. */
  compileClient: KnexClientLike
  /** Per shard, the plain pool (guarded, see health/). */
  pools: ReadonlyMap<string, KnexClientLike>
  /** Per shard, the pool that serves transaction sessions only (autocommit off, see knex/session-pool.ts; guarded). */
  sessionPools: ReadonlyMap<string, KnexClientLike>
  health: HealthRegistry
  deadlock: DeadlockDetector
  reporter: CrossShardReporter
  settings: TransactionSettings
}

/**
 * The services of one ShardedDb that every transaction uses: routing, the shard pools, health,
 * the deadlock detector, reporting. A plain holder: sharded-db.ts builds every
 * service and hands them in, so two ShardedDb instances in one process never share state and
 * nothing below the wiring constructs a service.
 *
 * @example
 * ```ts
 * const services = new TransactionServices({ router, shardMap, logger, compileClient, pools, sessionPools, health, deadlock, reporter, settings })
 * services.canonicalOrder(['80-', '-80']) // ['-80', '80-']
 * ```
 */
export class TransactionServices {
  readonly router: StatementRouter
  readonly shardMap: ShardMap
  readonly logger: ShardtxLogger
  readonly compileClient: KnexClientLike
  readonly health: HealthRegistry
  readonly deadlock: DeadlockDetector
  readonly reporter: CrossShardReporter
  readonly settings: TransactionSettings
  readonly #pools: ReadonlyMap<string, KnexClientLike>
  readonly #sessionPools: ReadonlyMap<string, KnexClientLike>

  constructor(parts: TransactionServiceParts) {
    this.router = parts.router
    this.shardMap = parts.shardMap
    this.logger = parts.logger
    this.compileClient = parts.compileClient
    this.health = parts.health
    this.deadlock = parts.deadlock
    this.reporter = parts.reporter
    this.settings = parts.settings
    this.#pools = parts.pools
    this.#sessionPools = parts.sessionPools
  }

  poolOf(shard: string): KnexClientLike {
    const pool = this.#pools.get(shard)
    if (pool === undefined) throw new Error(`shardtx internal error: no pool for shard ${shard}`)
    return pool
  }

  /** The pool whose connections serve this shard's transaction sessions (autocommit off: no BEGIN needed). */
  sessionPoolOf(shard: string): KnexClientLike {
    const pool = this.#sessionPools.get(shard)
    if (pool === undefined) throw new Error(`shardtx internal error: no session pool for shard ${shard}`)
    return pool
  }

  /** Shards sorted into the canonical order (keyrange order, or declaration order for custom routers). */
  canonicalOrder(shards: Iterable<string>): string[] {
    return this.shardMap.canonicalOrder(shards)
  }
}
