import type { ShardKey, TableConfig } from '../../config/options.js'
import { describeValue, expectInteger, fail } from '../../shared/validators.js'
import { isShardKeyValue } from '../../routing/shard-key-extraction.js'
import { LockSet } from './lock-set.js'

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

/** What validating `lock` needs: the configured tables and the router. */
export interface OrderedTables {
  tables: Readonly<Record<string, TableConfig>>
  /** The shard holding `key` of `table`; throws the router's own error for a key it refuses. */
  shardOf(table: string, key: ShardKey): string
}

/**
 * Validates `lock` and `maxLockRestarts` of one `db.transaction()` call, once per call (the
 * policy's `resolveOptions`): restarts and retries of the same call reuse the result.
 *
 * @throws TypeError naming the option (`lock.accounts[1]`), the value and what was expected.
 * @example
 * ```ts
 * const { declared } = resolveOrderedOptions({ crossShard: 'ordered', lock: { accounts: [4, 1] } }, { tables, shardOf })
 * declared.shardsInOrder((s) => shardMap.rank(s)) // ['-80', '80-']
 * ```
 */
export function resolveOrderedOptions(options: Readonly<Record<string, unknown>>, deps: OrderedTables): OrderedOptions {
  return {
    declared: declaredLockSet(options.lock, deps),
    maxLockRestarts: expectInteger('maxLockRestarts', options.maxLockRestarts, DEFAULT_MAX_LOCK_RESTARTS, { min: 0, max: MAX_LOCK_RESTARTS_LIMIT }),
  }
}

function declaredLockSet(lock: unknown, deps: OrderedTables): LockSet {
  const set = new LockSet()
  if (lock === undefined) return set
  if (lock === null || typeof lock !== 'object' || Array.isArray(lock)) {
    fail('lock', 'an object mapping table names to arrays of shard key values, e.g. { accounts: [from, to] }', lock)
  }
  const tables = deps.tables
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
        `Expected \`${option}\` to name a sharded table, but \`${table}\` is ${'shard' in config ? `pinned to shard ${config.shard}` : 'a reference table'} and has no shard key to lock rows by. ` +
          `Remove it from \`lock\`, and lock its rows at the start of the callback instead (tx('${table}').where(...).forUpdate()).`,
      )
    }
    if (!Array.isArray(keys)) fail(option, `an array of \`${table}.${config.shardKey}\` values`, keys)
    for (const [i, key] of (keys as unknown[]).entries())
      set.addKeys(shardOfKey(deps, table, config.shardKey, key, `${option}[${i}]`), table, [key as ShardKey])
  }
  return set
}

function shardOfKey(deps: OrderedTables, table: string, column: string, key: unknown, option: string): string {
  const expected = `a value of \`${table}.${column}\` (a safe integer, a bigint or a string)`
  if (!isShardKeyValue(key) || (typeof key === 'number' && !Number.isSafeInteger(key))) fail(option, expected, key)
  try {
    return deps.shardOf(table, key)
  } catch (err) {
    // The router's own message says why (e.g. `hash` needs integers); keep it, but name the option.
    throw new TypeError(`Expected \`${option}\` to be ${expected} that the router accepts, got ${describeValue(key)}: ${(err as Error).message}`)
  }
}
