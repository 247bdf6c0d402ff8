import { DEFAULT_SEQUENCE_BLOCK, MAX_SEQUENCE_BLOCK } from '../shared/limits.js'
import { expectInteger, expectKnownKeys, expectPlainObject, fail } from '../shared/validators.js'
import { resolveKeySpaces } from './key-spaces.js'
import type { SequenceGenerator, TableConfig } from './options.js'

/** Where a table's rows are, after validation. Routing reads this, never the raw options. */
export type TablePlacement =
  | {
      kind: 'sharded'
      shardKey: string
      /** The table its `colocatedWith` chain ends at (itself when it has none): see config/key-spaces.ts. */
      keySpace: string
      sequence: ResolvedSequence | undefined
    }
  | { kind: 'pinned'; shard: string }
  | { kind: 'reference' }

/** A validated `sequence` option. */
export type ResolvedSequence = { kind: 'table'; table: string; shard: string; blockSize: number } | { kind: 'generator'; generate: SequenceGenerator }

/** The validated `tables` option: the user's shape (for the lint rule and policies) and the placements. */
export interface ResolvedTables {
  tables: Record<string, TableConfig>
  placements: ReadonlyMap<string, TablePlacement>
}

const IDENTIFIER = /^[\w$]+$/

/**
 * Validates `tables`: each entry has exactly one of `shardKey`, `shard` or `reference: true`;
 * `colocatedWith` names a sharded table without loops; `sequence` is a generator function or a
 * counter table on a configured shard. TypeErrors name the option, the value and what was expected.
 *
 * @param shardOrder Configured shard names in canonical order (the first holds sequences by default).
 * @example
 * ```ts
 * resolveTables({ accounts: { shardKey: 'id' }, countries: { reference: true } }, ['-80', '80-'])
 * ```
 */
export function resolveTables(value: unknown, shardOrder: readonly string[]): ResolvedTables {
  const raw = expectPlainObject('tables', value)
  const tables: Record<string, TableConfig> = {}
  for (const [name, entry] of Object.entries(raw)) tables[name] = resolveEntry(`tables.${name}`, entry, shardOrder)
  const keySpaces = resolveKeySpaces(tables, (table, message) => {
    throw new TypeError(`Expected \`tables.${table}.colocatedWith\` to name a sharded table: ${message}`)
  })
  const placements = new Map<string, TablePlacement>()
  for (const [name, config] of Object.entries(tables)) {
    if ('shardKey' in config) {
      placements.set(name, {
        kind: 'sharded',
        shardKey: config.shardKey,
        keySpace: keySpaces.get(name)!,
        sequence: resolveSequence(`tables.${name}.sequence`, config.sequence, shardOrder),
      })
    } else if ('shard' in config) placements.set(name, { kind: 'pinned', shard: config.shard })
    else placements.set(name, { kind: 'reference' })
  }
  return { tables, placements }
}

function resolveEntry(option: string, value: unknown, shardOrder: readonly string[]): TableConfig {
  const table = expectPlainObject(option, value)
  expectKnownKeys(option, table, ['shardKey', 'colocatedWith', 'sequence', 'shard', 'reference'])
  const kinds = (['shardKey', 'shard', 'reference'] as const).filter((k) => table[k] !== undefined)
  if (kinds.length !== 1) {
    throw new TypeError(
      `Expected \`${option}\` to have exactly one of \`shardKey\` (a column, for a sharded table), \`shard\` (a shard name, for an unsharded table) ` +
        `or \`reference: true\` (the same rows on every shard), got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`,
    )
  }
  if (kinds[0] !== 'shardKey') {
    for (const key of ['colocatedWith', 'sequence'] as const) {
      if (table[key] !== undefined) throw new TypeError(`Unexpected \`${option}.${key}\`: only a sharded table (one with \`shardKey\`) can have ${key}`)
    }
  }
  if (kinds[0] === 'reference') {
    if (table.reference !== true) fail(`${option}.reference`, 'true', table.reference)
    return { reference: true }
  }
  if (kinds[0] === 'shard') {
    if (typeof table.shard !== 'string' || !shardOrder.includes(table.shard))
      fail(`${option}.shard`, `one of the configured shards ${JSON.stringify(shardOrder)}`, table.shard)
    return { shard: table.shard }
  }
  if (typeof table.shardKey !== 'string' || !IDENTIFIER.test(table.shardKey)) fail(`${option}.shardKey`, 'a column name', table.shardKey)
  const config: TableConfig = { shardKey: table.shardKey }
  if (table.colocatedWith !== undefined) {
    if (typeof table.colocatedWith !== 'string') fail(`${option}.colocatedWith`, 'the name of another sharded table', table.colocatedWith)
    config.colocatedWith = table.colocatedWith
  }
  if (table.sequence !== undefined) config.sequence = table.sequence as NonNullable<typeof config.sequence>
  return config
}

function resolveSequence(option: string, value: unknown, shardOrder: readonly string[]): ResolvedSequence | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'function') return { kind: 'generator', generate: value as SequenceGenerator }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(option, "a counter table { table: 'customer_seq' } or a function (table) => newKey", value)
  }
  const sequence = value as Record<string, unknown>
  expectKnownKeys(option, sequence, ['table', 'shard', 'blockSize'])
  if (typeof sequence.table !== 'string' || !IDENTIFIER.test(sequence.table)) fail(`${option}.table`, 'a table name (letters, digits, _ and $)', sequence.table)
  const shard = sequence.shard === undefined ? shardOrder[0]! : sequence.shard
  if (typeof shard !== 'string' || !shardOrder.includes(shard))
    fail(`${option}.shard`, `one of the configured shards ${JSON.stringify(shardOrder)}`, sequence.shard)
  const blockSize = expectInteger(`${option}.blockSize`, sequence.blockSize, DEFAULT_SEQUENCE_BLOCK, { min: 1, max: MAX_SEQUENCE_BLOCK })
  return { kind: 'table', table: sequence.table, shard, blockSize }
}
