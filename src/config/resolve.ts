import { MAX_DURATION_MS } from '../shared/limits.js'
import { resolveDeadlockOptions, type ResolvedDeadlockOptions } from './deadlock-options.js'
import { POLICY_NAMES } from './policy-names.js'
import { resolveSplitOptions, type ResolvedSplitOptions } from './split-options.js'
import { resolveAtomicOptions, type ResolvedAtomicOptions } from './atomic-options.js'
import { validateLogger, type ShardtxLogger } from '../shared/logger.js'
import { parseConnection, type ConnectionSettings } from './connection.js'
import type { CrossShardPolicyName, RouterFunction, ShardedDbOptions, TableConfig } from './options.js'
import { resolveFootprint, type ResolvedFootprint, resolveStrict } from './strict-mode.js'
import { resolveTables, type TablePlacement } from './tables.js'
import { expectBoolean, expectInteger, expectKnownKeys, expectOneOf, expectPlainObject, fail } from '../shared/validators.js'

/**
 * What config needs of the shard map to validate options (a pinned table's shard must exist).
 * The map itself is routing's (routing/shard-map.ts); the wiring (sharded-db.ts) hands its
 * constructor to {@link resolveConfig}, so config does not import a layer above it.
 */
export interface ShardNameSet {
  /** Shard names in canonical order. */
  readonly order: readonly string[]
  has(name: string): boolean
}

/** Builds the shard map from the validated shard names and `router` option; throws a TypeError naming the option. */
export type ShardMapFactory<M extends ShardNameSet> = (shardNames: string[], router: 'hash' | 'xxhash' | RouterFunction) => M

/** Options after validation, with every default filled in. Built once, at `createShardedDb`. */
export interface ResolvedConfig<M extends ShardNameSet = ShardNameSet> {
  /** Shard names in declaration order. */
  shardNames: string[]
  connections: Map<string, ConnectionSettings>
  tables: Record<string, TableConfig>
  /** Each table's validated placement (config/tables.ts), what routing reads. */
  placements: ReadonlyMap<string, TablePlacement>
  shardMap: M
  router: 'hash' | 'xxhash' | RouterFunction
  crossShard: CrossShardPolicyName
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number }
  warnings: { intervalMs: number; logKeyValues: boolean }
  /** See config/strict-mode.ts for how the environment decides it. */
  strict: boolean
  /** Absolute path of the footprint file, and where it came from (for errors); undefined = no recording. */
  footprint: ResolvedFootprint | undefined
  /** The `split` policy's intent log and recovery settings. */
  split: ResolvedSplitOptions
  /** The `atomic` policy's recovery settings. */
  atomic: ResolvedAtomicOptions
  logger: ShardtxLogger
  pool: { min: number; max: number }
  connectTimeoutMs: number
  acquireTimeoutMs: number
  statementTimeoutMs: number
  health: { probeIntervalMs: number }
  /** The distributed deadlock detector (config/deadlock-options.ts). */
  deadlock: ResolvedDeadlockOptions
}

const TOP_LEVEL_KEYS = [
  'shards',
  'tables',
  'router',
  'crossShard',
  'retry',
  'warnings',
  'logger',
  'pool',
  'connectTimeoutMs',
  'acquireTimeoutMs',
  'statementTimeoutMs',
  'health',
  'strict',
  'footprint',
  'split',
  'atomic',
  'deadlock',
]

/**
 * Validates every option and fills in defaults. All errors are TypeErrors naming the option, the
 * value received and what was expected, thrown before any connection is made.
 */
export function resolveConfig<M extends ShardNameSet>(input: unknown, createShardMap: ShardMapFactory<M>): ResolvedConfig<M> {
  const options = expectPlainObject('options', input) as Partial<ShardedDbOptions> & Record<string, unknown>
  expectKnownKeys('options', options, TOP_LEVEL_KEYS)

  const shards = expectPlainObject('shards', options.shards)
  const shardNames = Object.keys(shards)
  if (shardNames.length === 0) fail('shards', "an object with at least one shard, e.g. { '-80': url, '80-': url }", options.shards)
  const connections = new Map(shardNames.map((name) => [name, parseConnection(`shards.${name}`, shards[name])]))

  // Only `undefined` means "use the default": an explicit null is a mistake (a missing env var), not a choice.
  const router = options.router === undefined ? 'hash' : options.router
  if (router !== 'hash' && router !== 'xxhash' && typeof router !== 'function') {
    fail('router', "'hash', 'xxhash', or a function (table, key) => shardName", router)
  }
  const shardMap = createShardMap(shardNames, router)
  const { tables, placements } = resolveTables(options.tables, shardMap.order)

  const retry = expectPlainObject('retry', options.retry === undefined ? {} : options.retry)
  expectKnownKeys('retry', retry, ['maxAttempts', 'baseDelayMs', 'maxDelayMs'])
  const warnings = expectPlainObject('warnings', options.warnings === undefined ? {} : options.warnings)
  expectKnownKeys('warnings', warnings, ['intervalMs', 'logKeyValues'])
  const pool = expectPlainObject('pool', options.pool === undefined ? {} : options.pool)
  expectKnownKeys('pool', pool, ['min', 'max'])
  const poolMax = expectInteger('pool.max', pool.max, 10, { min: 1, max: 1000 })
  const health = expectPlainObject('health', options.health === undefined ? {} : options.health)
  expectKnownKeys('health', health, ['probeIntervalMs'])

  return {
    shardNames,
    connections,
    tables,
    placements,
    shardMap,
    router,
    crossShard: expectOneOf('crossShard', options.crossShard, POLICY_NAMES, 'reject'),
    retry: {
      maxAttempts: expectInteger('retry.maxAttempts', retry.maxAttempts, 3, { min: 1 }),
      baseDelayMs: expectInteger('retry.baseDelayMs', retry.baseDelayMs, 10, { min: 0, max: MAX_DURATION_MS }),
      maxDelayMs: expectInteger('retry.maxDelayMs', retry.maxDelayMs, 1000, { min: 0, max: MAX_DURATION_MS }),
    },
    warnings: {
      intervalMs: expectInteger('warnings.intervalMs', warnings.intervalMs, 60_000, { min: 0, max: MAX_DURATION_MS }),
      logKeyValues: expectBoolean('warnings.logKeyValues', warnings.logKeyValues, false),
    },
    split: resolveSplitOptions(options.split),
    atomic: resolveAtomicOptions(options.atomic),
    strict: resolveStrict(options.strict),
    footprint: resolveFootprint(options.footprint),
    logger: validateLogger(options.logger),
    pool: { min: expectInteger('pool.min', pool.min, 0, { min: 0, max: poolMax }), max: poolMax },
    // At least 10 ms: the bound is split in two halves (see health/), and no handshake is faster.
    connectTimeoutMs: expectInteger('connectTimeoutMs', options.connectTimeoutMs, 2000, { min: 10, max: MAX_DURATION_MS }),
    acquireTimeoutMs: expectInteger('acquireTimeoutMs', options.acquireTimeoutMs, 10_000, { min: 1, max: MAX_DURATION_MS }),
    statementTimeoutMs: expectInteger('statementTimeoutMs', options.statementTimeoutMs, 30_000, { min: 1, max: MAX_DURATION_MS }),
    health: { probeIntervalMs: expectInteger('health.probeIntervalMs', health.probeIntervalMs, 500, { min: 10, max: MAX_DURATION_MS }) },
    deadlock: resolveDeadlockOptions(options.deadlock),
  }
}
