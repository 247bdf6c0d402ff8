import type { ShardKey } from '../../config/options.js'
import { describeValue, expectInteger, fail } from '../../shared/validators.js'
import { isShardKeyValue } from '../../routing/shard-key-extraction.js'
import { LockSet } from './lock-set.js'
import type { Runtime } from '../../transaction/services.js'

/** How many times an `ordered` transaction may restart to grow its lock set, unless `maxLockRestarts` says otherwise. */
export const DEFAULT_MAX_LOCK_RESTARTS = 3

/**
 * Upper bound of `maxLockRestarts`. Every restart keeps the rows learned so far, so memory grows
 * with restarts; a transaction whose lock set has not settled after this many attempts will not
 * settle, and declaring `lock` is the fix.
 */
export const MAX_LOCK_RESTARTS_LIMIT = 100

/** The `ordered` policy's own transaction options, validated. */
export interface OrderedOptions {
  /** Rows named by `lock`, grouped by the shard that holds them. */
  declared: LockSet
  maxLockRestarts: number
}

const resolved = new WeakMap<object, { runtime: Runtime; options: OrderedOptions }>()

/**
 * Validates `lock` and `maxLockRestarts` of one `db.transaction()` call. The result is cached on
 * the options object, so restarts and retries of the same call validate once.
 *
 * @throws TypeError naming the option (`lock.accounts[1]`), the value and what was expected.
 * @example
 * ```ts
 * const { declared } = orderedOptionsOf({ crossShard: 'ordered', lock: { accounts: [4, 1] } }, runtime)
 * declared.shardsInOrder((s) => runtime.shardMap.rank(s)) // ['-80', '80-']
 * ```
 */
export function orderedOptionsOf(options: Readonly<Record<string, unknown>>, runtime: Runtime): OrderedOptions {
  const cached = resolved.get(options)
  if (cached?.runtime === runtime) return cached.options
  const result: OrderedOptions = {
    declared: declaredLockSet(options.lock, runtime),
    maxLockRestarts: expectInteger('maxLockRestarts', options.maxLockRestarts, DEFAULT_MAX_LOCK_RESTARTS, { min: 0, max: MAX_LOCK_RESTARTS_LIMIT }),
  }
  resolved.set(options, { runtime, options: result })
  return result
}

function declaredLockSet(lock: unknown, runtime: Runtime): LockSet {
  const set = new LockSet()
  if (lock === undefined) return set
  if (lock === null || typeof lock !== 'object' || Array.isArray(lock)) {
    fail('lock', 'an object mapping table names to arrays of shard key values, e.g. { accounts: [from, to] }', lock)
  }
  const tables = runtime.config.tables
  for (const [table, keys] of Object.entries(lock)) {
    const option = `lock.${table}`
    const config = Object.hasOwn(tables, table) ? tables[table] : undefined
    if (config === undefined) {
      throw new TypeError(
        `Unknown table in \`${option}\`: it is not in the shardtx configuration. Known tables: ${Object.keys(tables).join(', ') || '(none)'}.`,
      )
    }
    if (!('shardKey' in config)) {
      throw new TypeError(
        `Expected \`${option}\` to name a sharded table, but \`${table}\` is pinned to shard ${config.shard} and has no shard key to lock rows by. ` +
          `Remove it from \`lock\`, and lock its rows at the start of the callback instead (tx('${table}').where(...).forUpdate()).`,
      )
    }
    if (!Array.isArray(keys)) fail(option, `an array of \`${table}.${config.shardKey}\` values`, keys)
    for (const [i, key] of (keys as unknown[]).entries()) set.addKeys(shardOfKey(runtime, table, config.shardKey, key, `${option}[${i}]`), table, [key as ShardKey])
  }
  return set
}

function shardOfKey(runtime: Runtime, table: string, column: string, key: unknown, option: string): string {
  const expected = `a value of \`${table}.${column}\` (a safe integer, a bigint or a string)`
  if (!isShardKeyValue(key) || (typeof key === 'number' && !Number.isSafeInteger(key))) fail(option, expected, key)
  try {
    return runtime.router.shardOf(table, key)
  } catch (err) {
    // The router's own message says why (e.g. `hash` needs integers); keep it, but name the option.
    throw new TypeError(`Expected \`${option}\` to be ${expected} that the router accepts, got ${describeValue(key)}: ${(err as Error).message}`)
  }
}
