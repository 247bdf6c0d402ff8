import type { ShardKey } from '../config/options.js'
import type { ResolvedSequence, TablePlacement } from '../config/tables.js'
import { parseTableReference, type KnexBuilderInternals } from '../knex/builder-internals.js'
import { describeValue } from '../shared/describe-value.js'
import { SequenceBlocks, type RunOnSequenceShard } from './sequence-blocks.js'
import { isShardKeyValue } from './shard-key-extraction.js'

/** An insert whose missing shard keys were filled in, and what knex on MySQL would resolve it to. */
export interface FilledInsert {
  /** A copy of the builder with every row carrying its key (the caller's rows are not changed). */
  builder: KnexBuilderInternals
  /** The first generated key: MySQL reports the first auto-generated id of a multi-row insert. */
  firstId: ShardKey
}

/**
 * Fills the shard key of inserted rows that lack it (undefined or null), for tables with a
 * `sequence` (config/options.ts), before the insert is routed: the key decides the shard, so it
 * must exist before the row does. One {@link SequenceBlocks} per counter table, shared by the
 * tables that name it.
 *
 * @example
 * ```ts
 * const keys = new NewRowKeys(config.placements, (shard) => (sql, bindings) => pools.get(shard)!.raw(sql, bindings))
 * const filling = keys.pending(builder) // undefined unless a row needs a key
 * if (filling) ({ builder } = await filling)
 * ```
 */
export class NewRowKeys {
  readonly #placements: ReadonlyMap<string, TablePlacement>
  readonly #blocks = new Map<string, SequenceBlocks>()
  readonly #runOn: (shard: string) => RunOnSequenceShard

  constructor(placements: ReadonlyMap<string, TablePlacement>, runOn: (shard: string) => RunOnSequenceShard) {
    this.#placements = placements
    this.#runOn = runOn
  }

  /** Synchronous check: a promise of the filled insert when `builder` inserts rows that need keys, else undefined. */
  pending(builder: KnexBuilderInternals): Promise<FilledInsert> | undefined {
    if (builder._method !== 'insert') return undefined
    const table = parseTableReference(builder._single.table)?.table
    const placement = table === undefined ? undefined : this.#placements.get(table)
    if (placement?.kind !== 'sharded' || placement.sequence === undefined) return undefined
    const raw = builder._single.insert
    const rows = Array.isArray(raw) ? raw : [raw]
    if (!rows.every(isPlainRow)) return undefined
    const key = placement.shardKey
    const missing = rows.filter((row) => row[key] === undefined || row[key] === null).length
    if (missing === 0) return undefined
    return this.#fill(builder, table!, key, placement.sequence, rows, missing)
  }

  async #fill(
    builder: KnexBuilderInternals,
    table: string,
    key: string,
    sequence: ResolvedSequence,
    rows: Record<string, unknown>[],
    missing: number,
  ): Promise<FilledInsert> {
    const keys = sequence.kind === 'table' ? await this.#sequence(table, sequence).take(missing) : await generate(table, sequence.generate, missing)
    let next = 0
    const filled = rows.map((row) => (row[key] === undefined || row[key] === null ? { ...row, [key]: keys[next++] } : row))
    const copy = builder.clone()
    copy._single = { ...copy._single, insert: Array.isArray(builder._single.insert) ? filled : filled[0] }
    return { builder: copy, firstId: keys[0]! }
  }

  #sequence(table: string, sequence: Extract<ResolvedSequence, { kind: 'table' }>): SequenceBlocks {
    const id = `${sequence.shard}\u0000${sequence.table}`
    let blocks = this.#blocks.get(id)
    if (blocks === undefined) {
      blocks = new SequenceBlocks({ forTable: table, ...sequence }, this.#runOn(sequence.shard))
      this.#blocks.set(id, blocks)
    }
    return blocks
  }
}

/** A user generator, called once per row in order; its answers are checked like any shard key. */
async function generate(table: string, fn: (table: string) => ShardKey | Promise<ShardKey>, count: number): Promise<ShardKey[]> {
  const keys: ShardKey[] = []
  for (let i = 0; i < count; i++) {
    const key: unknown = await fn(table)
    if (!isShardKeyValue(key)) {
      throw new TypeError(`Expected \`tables.${table}.sequence\` to return a shard key (a number, bigint or string), got ${describeValue(key)}`)
    }
    keys.push(key)
  }
  return keys
}

function isPlainRow(row: unknown): row is Record<string, unknown> {
  return row !== null && typeof row === 'object' && !Array.isArray(row)
}
