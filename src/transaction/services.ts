import type { ResolvedConfig } from '../config/resolve.js'
import { createDeadlockDetector, type DeadlockDetector } from '../deadlock/detector-factory.js'
import type { HealthRegistry } from '../health/health-registry.js'
import { guardShardPools } from '../health/shard-health.js'
import type { KnexClientLike } from '../knex/client.js'
import { CrossShardReporter } from '../logging/cross-shard-reporter.js'
import type { ShardtxLogger } from '../shared/logger.js'
import type { TransactionOutcome } from './policy.js'
import type { ShardMap } from '../routing/shard-map.js'
import { StatementRouter } from '../routing/statement-router.js'
import type { TransactionState } from './transaction-state.js'

/**
 * The services of one ShardedDb that every transaction uses: routing, the shard pools, logging.
 * Transactions receive it instead of reaching for globals, so two ShardedDb instances in one
 * process never share state.
 */
export class Runtime {
  readonly config: ResolvedConfig
  readonly router: StatementRouter
  readonly shardMap: ShardMap
  readonly logger: ShardtxLogger
  /** Compiles MySQL SQL and owns no pool; the prototype of every routing client. */
  readonly compileClient: KnexClientLike
  /** Per-shard health: fast failure of down shards, probes that bring them back (see health/). */
  readonly health: HealthRegistry
  /** The distributed deadlock detector of this ShardedDb (see deadlock/ and docs/deadlock.md). */
  readonly deadlock: DeadlockDetector
  readonly #pools: ReadonlyMap<string, KnexClientLike>
  readonly #sessionPools: ReadonlyMap<string, KnexClientLike>
  readonly #reporter: CrossShardReporter

  /** @param shardPools per shard, the plain pool and the session pool (transaction/session-pool.ts). */
  constructor(
    config: ResolvedConfig,
    shardPools: { pools: ReadonlyMap<string, KnexClientLike>; sessionPools: ReadonlyMap<string, KnexClientLike> },
    compileClient: KnexClientLike,
  ) {
    this.config = config
    this.compileClient = compileClient
    this.shardMap = config.shardMap
    this.router = new StatementRouter(config.tables, config.shardMap)
    this.logger = config.logger
    // Every pool is handed out guarded: acquires and statements are bounded by the shard's health.
    const guarded = guardShardPools(config, shardPools)
    this.health = guarded.health
    this.#pools = guarded.pools
    this.#sessionPools = guarded.sessionPools
    this.#reporter = new CrossShardReporter(config.logger, config.warnings.intervalMs)
    this.deadlock = createDeadlockDetector(config)
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
    return [...new Set(shards)].sort((a, b) => this.shardMap.rank(a) - this.shardMap.rank(b))
  }

  /** Publishes and logs a multi-shard transaction; see CrossShardReporter for the levels. */
  reportCrossShard(tx: TransactionState, outcome: TransactionOutcome, durationMs: number, level: 'warn' | 'debug' = 'warn'): void {
    const keys = this.config.warnings.logKeyValues ? Object.fromEntries(tx.loggedKeys) : undefined
    this.#reporter.report(tx, outcome, durationMs, level, keys)
  }
}
