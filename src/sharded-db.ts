import knexFactory, { type Knex } from 'knex'
import { inspect } from 'node:util'
import type { ConnectionSettings } from './config/connection.js'
import { mysql2Options } from './config/mysql2-options.js'
import type { ShardKey, ShardedDbOptions, TransactionOptions } from './config/options.js'
import { resolveConfig, type ResolvedConfig } from './config/resolve.js'
import { assertWarnOverrideHasReason } from './config/strict-mode.js'
import { expectInteger, expectOneOf, expectPlainObject, expectKnownKeys } from './shared/validators.js'
import type { DeadlockStats } from './deadlock/detector-events.js'
import type { ShardHealthInfo } from './health/health-events.js'
import { clientOf, createCompileOnlyKnex, type KnexClientLike } from './knex/client.js'
import { startFootprintRecording, type FootprintRecording } from './logging/footprint-recorder.js'
import { availablePolicies } from './policies/registry.js'
import { SPLIT_TRANSACTION_OPTION_KEYS, validateSplitTransactionOptions } from './config/split-options.js'
import { RecoveryScheduler } from './policies/split/recovery-scheduler.js'
import { splitCoordinatorOf, type RecoverOptions, type RecoveryReport } from './policies/split/split-coordinator.js'
import { CallSite } from './shared/call-site.js'
import { runTransaction } from './transaction/run-transaction.js'
import { Runtime } from './transaction/services.js'
import { forwardQueryEvents, markSessionPool, sessionPoolHooks } from './knex/session-pool.js'
import type { ShardedTransaction } from './transaction/tx-handle.js'

/**
 * A set of MySQL/MariaDB shards used through knex, with cross-shard transactions under control.
 * Create it with {@link createShardedDb}.
 */
export interface ShardedDb {
  /**
   * Runs `fn` as one transaction. Statements are routed by shard key; what happens when they
   * reach a second shard depends on the `crossShard` policy. Deadlock-class errors retry the
   * whole callback (`retry.maxAttempts`), so keep side effects outside the database idempotent.
   *
   * @example
   * ```ts
   * const balance = await db.transaction(async (tx) => {
   *   await tx('accounts').where({ id: 42 }).decrement('balance', 10)
   *   return (await tx('accounts').where({ id: 42 }).first()).balance
   * }, { crossShard: 'warn', reason: 'https://tracker/123' })
   * ```
   */
  transaction<T>(fn: (tx: ShardedTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>
  /**
   * The shard holding `key` of `table`.
   * @example
   * ```ts
   * db.shardOf('accounts', 42) // '-80'
   * ```
   */
  shardOf(table: string, key: ShardKey): string
  /** Shard names in canonical order (keyrange order, or declaration order for custom routers). */
  readonly shardNames: readonly string[]
  /**
   * Finishes every accepted `split` plan whose parts are not all applied (each part exactly once,
   * even if other processes recover at the same time), then prunes finished plans older than
   * `split.retainFinishedMs`. Runs by itself at start (`split.recoverOnStart`) and every
   * `split.recoveryIntervalMs`; call it after a crash to be sure. See docs/split.md.
   *
   * @example
   * ```ts
   * const db = createShardedDb({ ...config, split: { recoverOnStart: false } })
   * const report = await db.recover() // { recovered: 2, failed: 0, stillPending: 0, pruned: 0, durationMs: 12 }
   * ```
   */
  recover(options?: RecoverOptions): Promise<RecoveryReport>
  /**
   * The plain knex instance of one shard, for migrations, DDL and statements outside transactions.
   * Nothing sent through it is routed or checked.
   * @example
   * ```ts
   * for (const name of db.shardNames) await db.shard(name).schema.createTable('accounts', ...)
   * ```
   */
  shard(name: string): Knex
  /**
   * Per-shard health for monitoring: `up` (in use), `down` (transactions that need it fail at
   * once) or `probing` (down, a recovery probe in flight), since when, and the last failure (code
   * and message, never credentials). State changes are also logged (`shardtx.shard_down` at warn,
   * `shardtx.shard_up` at info) and published on the `shardtx:shard-health` diagnostics channel.
   *
   * @example
   * ```ts
   * app.get('/healthz', (_req, res) => {
   *   const shards = db.health()
   *   const down = Object.keys(shards).filter((s) => shards[s]!.state !== 'up')
   *   res.status(down.length ? 503 : 200).json({ down, shards })
   * })
   * ```
   */
  health(): Record<string, ShardHealthInfo>
  /**
   * Counters of the distributed deadlock detector since this ShardedDb was created: deadlocks
   * found, victims rolled back here or killed for other processes, lock-view reads and their
   * errors, graph truncations, servers where detection is off (no PROCESS privilege). Each
   * deadlock broken is also logged at warn as `shardtx.distributed_deadlock`. See docs/deadlock.md.
   *
   * @example
   * ```ts
   * setInterval(() => {
   *   const s = db.deadlockStats()
   *   metrics.gauge('shardtx.deadlocks', s.detections)
   *   if (s.serversDisabled.length > 0) alert(`no deadlock detection on ${s.serversDisabled.join(', ')}`)
   * }, 10_000)
   * ```
   */
  deadlockStats(): DeadlockStats
  /** Closes every shard's pool and stops health probes and the deadlock detector. */
  destroy(): Promise<void>
}

/**
 * Creates a {@link ShardedDb}. Options are validated at once (TypeErrors name the option);
 * connections open lazily, on first use.
 *
 * @example
 * ```ts
 * const db = createShardedDb({
 *   shards: { '-80': 'mysql://app:secret@127.0.0.1:3306/app_s0', '80-': 'mysql://app:secret@127.0.0.1:3306/app_s1' },
 *   tables: { accounts: { shardKey: 'id' }, countries: { shard: '-80' } },
 * })
 * ```
 */
export function createShardedDb(options: ShardedDbOptions): ShardedDb {
  return new ShardedDbImpl(resolveConfig(options))
}

class ShardedDbImpl implements ShardedDb {
  readonly #config: ResolvedConfig
  readonly #knexes: Map<string, Knex>
  /** Per shard, the pool that serves transaction sessions only (see transaction/session-pool.ts). */
  readonly #sessionKnexes: Map<string, Knex>
  readonly #runtime: Runtime
  /** Shared with every ShardedDb of the process that records to the same file. */
  readonly #footprint: FootprintRecording | undefined
  readonly #recovery: RecoveryScheduler
  #destroyed = false

  constructor(config: ResolvedConfig) {
    this.#config = config
    // First, so an unwritable footprint file fails createShardedDb before any pool exists.
    this.#footprint = config.footprint && startFootprintRecording(config.footprint.file, config.logger)
    this.#knexes = new Map(config.shardNames.map((name) => [name, createShardKnex(config, config.connections.get(name)!, false)]))
    this.#sessionKnexes = new Map(config.shardNames.map((name) => [name, createShardKnex(config, config.connections.get(name)!, true)]))
    const pools = new Map<string, KnexClientLike>([...this.#knexes].map(([name, k]) => [name, clientOf(k)]))
    const sessionPools = new Map<string, KnexClientLike>([...this.#sessionKnexes].map(([name, k]) => [name, markSessionPool(clientOf(k))]))
    // `db.shard(name).on('query', ...)` keeps seeing every statement of the shard, transactions included.
    for (const [name, k] of this.#sessionKnexes) forwardQueryEvents(clientOf(k), clientOf(this.#knexes.get(name)!))
    this.#runtime = new Runtime(config, { pools, sessionPools }, clientOf(createCompileOnlyKnex()))
    this.#recovery = new RecoveryScheduler(() => splitCoordinatorOf(this.#runtime), config.split, config.logger)
    this.#recovery.start()
  }

  get shardNames(): readonly string[] {
    return this.#config.shardMap.order
  }

  shardOf(table: string, key: ShardKey): string {
    return this.#runtime.router.shardOf(table, key)
  }

  recover(options: RecoverOptions = {}): Promise<RecoveryReport> {
    if (this.#destroyed) return Promise.reject(new Error('db.recover() called after db.destroy(); create a new ShardedDb.'))
    let olderThanMs: number
    try {
      const opts = expectPlainObject('recover options', options)
      expectKnownKeys('recover options', opts, ['olderThanMs'])
      olderThanMs = expectInteger('olderThanMs', opts.olderThanMs, 0, { min: 0, max: 2 ** 31 - 1 })
    } catch (err) {
      return Promise.reject(err)
    }
    return splitCoordinatorOf(this.#runtime).recover({ olderThanMs, trigger: 'call' })
  }

  shard(name: string): Knex {
    const k = this.#knexes.get(name)
    if (k === undefined) throw new TypeError(`Expected a shard name from ${JSON.stringify(this.shardNames)} in db.shard(), got ${JSON.stringify(name)}`)
    return k
  }

  transaction<T>(fn: (tx: ShardedTransaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const origin = new CallSite(this.transaction)
    if (this.#destroyed) return Promise.reject(new Error('db.transaction() called after db.destroy(); create a new ShardedDb.'))
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`Expected the first argument of db.transaction() to be a function (tx) => Promise, got ${typeof fn}`))
    let resolved
    try {
      resolved = resolveTransactionOptions(options, this.#config, origin)
    } catch (err) {
      return Promise.reject(err)
    }
    return runTransaction(this.#runtime, fn, { ...resolved, origin, options: options as Readonly<Record<string, unknown>> })
  }

  health(): Record<string, ShardHealthInfo> {
    return this.#runtime.health.snapshot()
  }

  deadlockStats(): DeadlockStats {
    return this.#runtime.deadlock.stats()
  }

  async destroy(): Promise<void> {
    this.#destroyed = true
    await this.#recovery.stop() // a background recovery pass must not lose its pools mid-part
    this.#runtime.health.close()
    try {
      await this.#runtime.deadlock.stop() // its own connections; a round in flight is bounded
      await Promise.all([...this.#knexes.values(), ...this.#sessionKnexes.values()].map((k) => k.destroy()))
    } finally {
      await this.#footprint?.release()
    }
  }

  /** Never shows connection settings: passwords must not reach logs through `console.log(db)`. */
  [inspect.custom](): string {
    return `ShardedDb { shards: ${JSON.stringify(this.shardNames)}, crossShard: '${this.#config.crossShard}' }`
  }

  toString(): string {
    return this[inspect.custom]()
  }

  toJSON(): object {
    return { shards: this.shardNames, crossShard: this.#config.crossShard }
  }
}

/** Keys `db.transaction(fn, options)` accepts; policy-specific ones are validated by their policy. */
const TRANSACTION_OPTION_KEYS = ['crossShard', 'reason', 'maxAttempts', 'lock', 'maxLockRestarts', ...SPLIT_TRANSACTION_OPTION_KEYS]

/** Options only the 'ordered' policy reads: given to another policy they would be silently ignored. */
const ORDERED_OPTION_KEYS = ['lock', 'maxLockRestarts']

function resolveTransactionOptions(options: unknown, config: ResolvedConfig, origin: CallSite) {
  const opts = expectPlainObject('transaction options', options)
  expectKnownKeys('transaction options', opts, TRANSACTION_OPTION_KEYS)
  const reason = opts.reason
  if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === '')) {
    throw new TypeError(`Expected \`reason\` to be a non-empty string (a link explaining why this transaction may span shards), got ${typeof reason}`)
  }
  assertWarnOverrideHasReason(opts, config.strict, origin)
  const policy = expectOneOf('crossShard', opts.crossShard, availablePolicies(), config.crossShard)
  for (const key of ORDERED_OPTION_KEYS) {
    if (opts[key] !== undefined && policy !== 'ordered') {
      throw new TypeError(`\`${key}\` is an option of crossShard: 'ordered', but this transaction uses '${policy}'. Pass { crossShard: 'ordered', ${key}: ... }.`)
    }
  }
  validateSplitTransactionOptions(opts, policy)
  return {
    policy,
    reason: reason as string | undefined,
    maxAttempts: expectInteger('maxAttempts', opts.maxAttempts, config.retry.maxAttempts, { min: 1 }),
  }
}

/** One shard's knex; `sessions`: the pool that serves transaction sessions only (autocommit off, see transaction/session-pool.ts). */
function createShardKnex(config: ResolvedConfig, connection: ConnectionSettings, sessions: boolean): Knex {
  const logger = config.logger
  return knexFactory({
    client: 'mysql2',
    connection: { ...mysql2Options(connection), connectTimeout: config.connectTimeoutMs, supportBigNumbers: true },
    pool: { min: config.pool.min, max: config.pool.max, ...(sessions ? sessionPoolHooks() : {}) },
    acquireConnectionTimeout: config.acquireTimeoutMs,
    // knex splices binding values (shard keys) into error messages unless told not to.
    compileSqlOnError: config.warnings.logKeyValues,
    // knex writes pool warnings (every failed connect to a down shard) to the console by default;
    // they belong in the application's logger, at debug: shardtx logs the health transition itself.
    log: {
      warn: (message: unknown) => logger.debug({ event: 'shardtx.knex_log', level: 'warn' }, String(message)),
      error: (message: unknown) => logger.debug({ event: 'shardtx.knex_log', level: 'error' }, String(message)),
      deprecate: (message: unknown) => logger.debug({ event: 'shardtx.knex_log', level: 'deprecate' }, String(message)),
      debug: (message: unknown) => logger.debug({ event: 'shardtx.knex_log', level: 'debug' }, String(message)),
    },
  })
}
