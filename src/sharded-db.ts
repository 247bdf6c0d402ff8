import type { Knex } from 'knex'
import { inspect } from 'node:util'
import { mysql2Options } from './config/mysql2-options.js'
import type { ShardKey, ShardedDbOptions, TransactionOptions } from './config/options.js'
import { resolveConfig, type ResolvedConfig } from './config/resolve.js'
import type { DeadlockStats } from './deadlock/detector-events.js'
import { createDeadlockDetector } from './deadlock/detector-factory.js'
import type { ShardHealthInfo } from './health/health-events.js'
import { guardShardPools } from './health/shard-health.js'
import { clientOf, createCompileOnlyKnex, type KnexClientLike } from './knex/client.js'
import { forwardQueryEvents } from './knex/session-pool.js'
import { createShardKnex } from './knex/shard-knex.js'
import { CrossShardReporter } from './logging/cross-shard-reporter.js'
import { startFootprintRecording, type FootprintRecording } from './logging/footprint-recorder.js'
import { createShardedMigrator, type ShardedMigrator } from './knex/shard-migrator.js'
import { createOrderedPolicy } from './policies/ordered/ordered-policy.js'
import { rejectPolicy } from './policies/reject.js'
import { RecoveryScheduler } from './transaction/recovery-scheduler.js'
import { SplitCoordinator, type RecoverOptions, type SplitRecoveryReport } from './policies/split/split-coordinator.js'
import { createAtomicPolicy } from './policies/atomic/atomic-policy.js'
import { DecisionLog } from './policies/atomic/decision-log.js'
import type { AtomicRecoveryReport } from './policies/atomic/events.js'
import { AtomicRecoverer } from './policies/atomic/recovery.js'
import { emptyAtomicStats, type AtomicStats } from './policies/atomic/stats.js'
import { serverOf, shardIdentity } from './policies/atomic/xid.js'
import { createSplitPolicy } from './policies/split/split-policy.js'
import { warnPolicy } from './policies/warn.js'
import { createShardMap, type ShardMap } from './routing/shard-map.js'
import { NewRowKeys } from './routing/new-row-keys.js'
import { StatementRouter } from './routing/statement-router.js'
import { CallSite } from './shared/call-site.js'
import { MAX_DURATION_MS } from './shared/limits.js'
import { expectInteger, expectKnownKeys, expectPlainObject } from './shared/validators.js'
import type { CrossShardPolicyName } from './config/policy-names.js'
import type { AnyCrossShardPolicy } from './transaction/policy.js'
import { runTransaction } from './transaction/run-transaction.js'
import type { TransactionServices } from './transaction/services.js'
import { createRoutedKnex } from './transaction/routed-knex.js'
import { resolveTransactionOptions } from './transaction/transaction-options.js'
import { createHandleTemplate, type ShardedTransaction } from './transaction/tx-handle.js'

/**
 * What one `db.recover()` call did: split's pending plans (top-level fields, as before `atomic`
 * existed) and atomic's prepared XA branches (`atomic`).
 *
 * @example
 * ```ts
 * const report = await db.recover()
 * // { recovered: 0, failed: 0, stillPending: 0, pruned: 0, durationMs: 14,
 * //   atomic: { committed: 2, rolledBack: 0, inDoubt: 0, inProgress: 0, serversUnreachable: 0, pruned: 0, durationMs: 11 } }
 * ```
 */
export interface RecoveryReport extends SplitRecoveryReport {
  /** Prepared branches of `atomic` transactions settled (or left) by this call; see docs/atomic.md. */
  atomic: AtomicRecoveryReport
}

/**
 * A set of MySQL/MariaDB shards used through knex, with cross-shard transactions under control.
 * Create it with {@link createShardedDb}.
 */
export interface ShardedDb {
  /**
   * Opens a transaction without a callback, as knex's `await knex.transaction()`: end it with
   * `trx.commit()` or `trx.rollback()`. It cannot be run again, so deadlock-class errors are not
   * retried and a policy that would restart it (`ordered` with a learned lock set) fails instead:
   * prefer the callback form. A transaction nobody ends holds its connections until it is ended.
   *
   * @example
   * ```ts
   * const trx = await db.transaction({ crossShard: 'ordered', lock: { accounts: [from, to] } })
   * try {
   *   await trx('accounts').where({ id: from }).decrement('balance', 10)
   *   await trx.commit()
   * } catch (err) {
   *   await trx.rollback(err)
   * }
   * ```
   */
  transaction(options?: TransactionOptions): Promise<ShardedTransaction>
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
  transaction<T>(fn: (tx: ShardedTransaction) => T | Promise<T>, options?: TransactionOptions): Promise<T>
  /**
   * knex's `transactionProvider()`: a function that opens one transaction (no callback form) on its
   * first call and returns the same one afterwards.
   *
   * @example
   * ```ts
   * const provide = db.transactionProvider()
   * const trx = await provide()
   * await trx('accounts').insert({ id: 7, balance: 0 })
   * await (await provide()).commit()
   * ```
   */
  transactionProvider(options?: TransactionOptions): () => Promise<ShardedTransaction>
  /**
   * A routed knex instance for statements outside transactions, and for ORMs that want one at
   * start-up (`Model.knex(db.knex)`). Each statement is routed and runs as a transaction of its
   * own under the database-wide policy; `db.knex.transaction(...)` is `db.transaction(...)`.
   *
   * @example
   * ```ts
   * const account = await db.knex<Account>('accounts').where({ id: 42 }).first()
   * ```
   */
  readonly knex: Knex
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
   * `split.retainFinishedMs`. Then settles the prepared XA branches `atomic` transactions left
   * behind: commits or rolls back each by its decision record, aborts (recording it first) those
   * without one, and leaves prepared those whose coordinator shard cannot be reached. Both run by
   * themselves at start and periodically (`split.*` / `atomic.*` options); call it after a crash
   * to be sure. See docs/split.md and docs/atomic.md. If split's pass fails (its coordinator shard
   * is down), atomic's still runs, and the call then rejects with split's error.
   *
   * @example
   * ```ts
   * const db = createShardedDb({ ...config, split: { recoverOnStart: false } })
   * const report = await db.recover() // { recovered: 2, failed: 0, stillPending: 0, pruned: 0, durationMs: 12, atomic: { committed: 0, ... } }
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
   * knex's migrator on every shard, in canonical order, stopping at the first failure (see
   * {@link ShardedMigrator}); `shardtx migrate latest|rollback|status` runs it from the CLI.
   * @example
   * ```ts
   * await db.migrate.latest({ directory: './migrations' }) // creates the tables on every shard
   * ```
   */
  readonly migrate: ShardedMigrator
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
  /**
   * Counters of the `atomic` policy since this ShardedDb was created (commits, prepare failures,
   * decisions whose acknowledgement was lost), and what the last atomic recovery pass saw: how many
   * prepared branches it had to leave in doubt, by shard (also in `db.health()`'s `atomicInDoubt`).
   *
   * @example
   * ```ts
   * const s = db.atomicStats()
   * if (s.inDoubt > 0) alert(`prepared XA branches in doubt: ${JSON.stringify(s.inDoubtByShard)}`)
   * ```
   */
  atomicStats(): AtomicStats
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
  return new ShardedDbImpl(resolveConfig(options, createShardMap))
}

/**
 * The one place that constructs and wires services: pools, health guards, the deadlock detector,
 * the reporter, the policies and split's coordinator. Everything below receives what it needs.
 */
class ShardedDbImpl implements ShardedDb {
  readonly #config: ResolvedConfig<ShardMap>
  readonly #knexes: Map<string, Knex>
  /** Per shard, the pool that serves transaction sessions only (see knex/session-pool.ts). */
  readonly #sessionKnexes: Map<string, Knex>
  readonly #services: TransactionServices
  /** The policies transactions run under, by name. */
  readonly #policies: ReadonlyMap<CrossShardPolicyName, AnyCrossShardPolicy>
  readonly #split: SplitCoordinator
  /** Shared with every ShardedDb of the process that records to the same file. */
  readonly #footprint: FootprintRecording | undefined
  readonly #recovery: RecoveryScheduler
  readonly #atomicRecoverer: AtomicRecoverer
  readonly #atomicRecovery: RecoveryScheduler
  readonly #atomicStats: AtomicStats = emptyAtomicStats()
  #knex: Knex | undefined
  #destroyed = false
  readonly migrate: ShardedMigrator = createShardedMigrator(
    () => this.shardNames,
    (name) => this.shard(name),
  )

  constructor(config: ResolvedConfig<ShardMap>) {
    this.#config = config
    const { logger, shardMap } = config
    // First, so an unwritable footprint file fails createShardedDb before any pool exists.
    this.#footprint = config.footprint && startFootprintRecording(config.footprint.file, logger, config.footprint.option)
    const shardKnex = (name: string, sessions: boolean) =>
      createShardKnex({
        connection: { ...mysql2Options(config.connections.get(name)!), connectTimeout: config.connectTimeoutMs },
        pool: config.pool,
        acquireTimeoutMs: config.acquireTimeoutMs,
        logKeyValues: config.warnings.logKeyValues,
        logger,
        sessions,
      })
    this.#knexes = new Map(config.shardNames.map((name) => [name, shardKnex(name, false)]))
    this.#sessionKnexes = new Map(config.shardNames.map((name) => [name, shardKnex(name, true)]))
    const rawPools = new Map<string, KnexClientLike>([...this.#knexes].map(([name, k]) => [name, clientOf(k)]))
    const rawSessionPools = new Map<string, KnexClientLike>([...this.#sessionKnexes].map(([name, k]) => [name, clientOf(k)]))
    // `db.shard(name).on('query', ...)` keeps seeing every statement of the shard, transactions included.
    for (const [name, k] of this.#sessionKnexes) forwardQueryEvents(clientOf(k), clientOf(this.#knexes.get(name)!))
    // Every pool is handed out guarded: acquires and statements are bounded by the shard's health.
    const { health, pools, sessionPools } = guardShardPools(
      {
        connections: config.connections,
        connectTimeoutMs: config.connectTimeoutMs,
        statementTimeoutMs: config.statementTimeoutMs,
        acquireTimeoutMs: config.acquireTimeoutMs,
        poolMax: config.pool.max,
        probeIntervalMs: config.health.probeIntervalMs,
        logger,
      },
      { pools: rawPools, sessionPools: rawSessionPools },
    )
    const router = new StatementRouter(config.tables, shardMap)
    const poolOf = (shard: string) => pools.get(shard)!
    this.#split = new SplitCoordinator(
      {
        poolOf,
        sessionPoolOf: (shard) => sessionPools.get(shard)!,
        shardOrder: shardMap.order,
        logger,
        backoff: config.retry,
        logKeyValues: config.warnings.logKeyValues,
      },
      config.split,
    )
    const lockOrderDeps = {
      tables: config.tables,
      shardOf: (table: string, key: ShardKey) => router.shardOf(table, key),
      logger,
      warningsIntervalMs: config.warnings.intervalMs,
    }
    const identities = new Map(config.shardNames.map((name) => [name, shardIdentity(name, config.connections.get(name)!)]))
    const identityOf = (shard: string) => identities.get(shard)!
    const decisions = new DecisionLog(poolOf)
    this.#policies = new Map<CrossShardPolicyName, AnyCrossShardPolicy>([
      ['reject', rejectPolicy],
      ['warn', warnPolicy],
      ['ordered', createOrderedPolicy(lockOrderDeps)],
      ['split', createSplitPolicy(this.#split)],
      ['atomic', createAtomicPolicy({ ...lockOrderDeps, decisions, stats: this.#atomicStats, identityOf })],
    ])
    this.#atomicRecoverer = new AtomicRecoverer({
      shardOrder: shardMap.order,
      poolOf,
      serverOf: (shard) => serverOf(config.connections.get(shard)!),
      identityOf,
      decisions,
      stats: this.#atomicStats,
      logger,
      retainDecisionsMs: config.atomic.retainDecisionsMs,
    })
    const compileClient = clientOf(createCompileOnlyKnex())
    this.#services = {
      router,
      newRowKeys: new NewRowKeys(config.placements, (shard) => (sql, bindings) => Promise.resolve(poolOf(shard).raw(sql, bindings))),
      shardMap,
      logger,
      compileClient,
      handleTemplate: createHandleTemplate(compileClient),
      pools,
      sessionPools,
      health,
      deadlock: createDeadlockDetector({
        options: config.deadlock,
        logger,
        shardOrder: shardMap.order,
        connections: config.connections,
        connectTimeoutMs: config.connectTimeoutMs,
      }),
      reporter: new CrossShardReporter(logger, config.warnings.intervalMs),
      settings: { retry: config.retry, logKeyValues: config.warnings.logKeyValues },
    }
    this.#recovery = new RecoveryScheduler(() => this.#split, config.split, logger)
    this.#recovery.start()
    this.#atomicRecovery = new RecoveryScheduler(() => this.#atomicRecoverer, config.atomic, logger, 'atomic')
    this.#atomicRecovery.start()
  }

  get shardNames(): readonly string[] {
    return this.#config.shardMap.order
  }

  shardOf(table: string, key: ShardKey): string {
    return this.#services.router.shardOf(table, key)
  }

  async recover(options: RecoverOptions = {}): Promise<RecoveryReport> {
    if (this.#destroyed) throw new Error('db.recover() called after db.destroy(); create a new ShardedDb.')
    const opts = expectPlainObject('recover options', options)
    expectKnownKeys('recover options', opts, ['olderThanMs'])
    const olderThanMs = expectInteger('olderThanMs', opts.olderThanMs, 0, { min: 0, max: MAX_DURATION_MS })
    const split = await this.#split.recover({ olderThanMs, trigger: 'call' }).then(
      (report) => ({ report }),
      (error: unknown) => ({ error }),
    )
    const atomic = await this.#atomicRecoverer.recover({ olderThanMs, trigger: 'call' })
    if ('error' in split) throw split.error
    return { ...split.report, atomic }
  }

  shard(name: string): Knex {
    const k = this.#knexes.get(name)
    if (k === undefined) throw new TypeError(`Expected a shard name from ${JSON.stringify(this.shardNames)} in db.shard(), got ${JSON.stringify(name)}`)
    return k
  }

  transaction(options?: TransactionOptions): Promise<ShardedTransaction>
  transaction<T>(fn: (tx: ShardedTransaction) => T | Promise<T>, options?: TransactionOptions): Promise<T>
  transaction(first?: unknown, second?: unknown): Promise<unknown> {
    return this.#transaction(first, second, new CallSite(this.transaction))
  }

  transactionProvider(options?: TransactionOptions): () => Promise<ShardedTransaction> {
    const origin = new CallSite(this.transactionProvider)
    let opened: Promise<ShardedTransaction> | undefined
    return () => (opened ??= this.#transaction(options, undefined, origin) as Promise<ShardedTransaction>)
  }

  get knex(): Knex {
    return (this.#knex ??= createRoutedKnex(this.#services.compileClient, {
      statement: (statement, site) =>
        this.#transaction(
          (tx: ShardedTransaction) => (tx.client as KnexClientLike).runner(statement).run(),
          undefined,
          site ?? new CallSite(this.#transaction),
        ),
      transaction: (container, config) => this.#transaction(container, config, new CallSite(this.#transaction, 6)),
    }))
  }

  /** `db.transaction`'s overloads, knex's included: (fn, options?), (options?) and knex's (undefined, options). */
  #transaction(first: unknown, second: unknown, origin: CallSite): Promise<unknown> {
    if (this.#destroyed) return Promise.reject(new Error('db.transaction() called after db.destroy(); create a new ShardedDb.'))
    const manual = first === undefined || first === null || (typeof first === 'object' && second === undefined)
    if (!manual && typeof first !== 'function') {
      return Promise.reject(
        new TypeError(`Expected the first argument of db.transaction() to be a function (tx) => Promise, or transaction options, got ${typeof first}`),
      )
    }
    let resolved
    try {
      const defaults = { crossShard: this.#config.crossShard, maxAttempts: this.#config.retry.maxAttempts, strict: this.#config.strict }
      const options = (manual && typeof first === 'object' && first !== null ? first : second) ?? {}
      resolved = resolveTransactionOptions(options, defaults, this.#policies, origin)
    } catch (err) {
      return Promise.reject(err)
    }
    if (!manual) return runTransaction(this.#services, first as (tx: ShardedTransaction) => unknown, { ...resolved, origin })
    // No callback: hand the transaction over once it has begun; it ends when the caller commits or rolls back.
    return new Promise((resolve, reject) => {
      let handedOver = false
      const hold = (tx: ShardedTransaction) => {
        handedOver = true
        resolve(tx)
        return new Promise<never>(() => undefined)
      }
      runTransaction(this.#services, hold, { ...resolved, origin, maxAttempts: 1, manual: true }).catch((err: unknown) => {
        if (!handedOver) reject(err) // afterwards the outcome goes to trx.executionPromise and commit()/rollback()
      })
    })
  }

  health(): Record<string, ShardHealthInfo> {
    const snapshot = this.#services.health.snapshot()
    const inDoubt = this.#atomicStats.inDoubtByShard
    for (const [shard, info] of Object.entries(snapshot)) info.atomicInDoubt = inDoubt[shard] ?? 0
    return snapshot
  }

  atomicStats(): AtomicStats {
    return { ...this.#atomicStats, inDoubtByShard: { ...this.#atomicStats.inDoubtByShard } }
  }

  deadlockStats(): DeadlockStats {
    return this.#services.deadlock.stats()
  }

  async destroy(): Promise<void> {
    this.#destroyed = true
    await this.#recovery.stop() // a background recovery pass must not lose its pools mid-part
    await this.#atomicRecovery.stop()
    this.#services.health.close()
    try {
      await this.#services.deadlock.stop() // its own connections; a round in flight is bounded
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
