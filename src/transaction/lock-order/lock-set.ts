import type { ShardKey } from '../../config/options.js'
import { keyIdentity } from '../../routing/shard-key-extraction.js'

/**
 * Rows to lock, grouped shard -> table -> keys, plus shards to open a session on without locking
 * anything (a transaction will insert there). The `ordered` policy acquires a lock set in canonical order,
 * shard by shard in canonical order, and carries a grown one from a restarted attempt to the next.
 *
 * Keys are deduplicated by {@link keyIdentity} (42, 42n and '42' name the same row). Pure data:
 * no database, no routing; callers say which shard each key lives on.
 *
 * @example
 * ```ts
 * const set = new LockSet()
 * set.addKeys('80-', 'accounts', [4])
 * set.addKeys('-80', 'accounts', [3, 1])
 * set.covers('-80', 'accounts', [1]) // true
 * set.shardsInOrder((s) => ['-80', '80-'].indexOf(s)) // ['-80', '80-']
 * set.keysInOrder('-80', 'accounts') // [1, 3]
 * ```
 */
export class LockSet {
  readonly #shards = new Map<string, Map<string, Map<string, ShardKey>>>()

  /** Adds keys of `table` on `shard` (an empty list still makes the shard part of the set). */
  addKeys(shard: string, table: string, keys: Iterable<ShardKey>): this {
    const tables = this.#tablesOf(shard)
    let byId = tables.get(table)
    if (byId === undefined) tables.set(table, (byId = new Map()))
    for (const key of keys) byId.set(keyIdentity(key), key)
    return this
  }

  /** Makes the transaction open a session on `shard` up front, without locking rows there. */
  addShard(shard: string): this {
    this.#tablesOf(shard)
    return this
  }

  /** Everything in `other`, added to this set. */
  addAll(other: LockSet): this {
    for (const [shard, tables] of other.#shards) {
      this.addShard(shard)
      for (const [table, byId] of tables) this.addKeys(shard, table, byId.values())
    }
    return this
  }

  /** True when every key in `keys` of `table` on `shard` is in the set. */
  covers(shard: string, table: string, keys: readonly ShardKey[]): boolean {
    const byId = this.#shards.get(shard)?.get(table)
    if (byId === undefined) return keys.length === 0
    return keys.every((key) => byId.has(keyIdentity(key)))
  }

  hasShard(shard: string): boolean {
    return this.#shards.has(shard)
  }

  /** True when `shard` has keys of some table in the set (not merely a session entry). */
  hasKeysOn(shard: string): boolean {
    return this.tablesOn(shard).length > 0
  }

  /**
   * Removes `shard`'s entry and returns it as a set of its own (empty when the shard had none).
   *
   * @example
   * ```ts
   * const pending = new LockSet().addKeys('-80', 'accounts', [1]).addShard('80-')
   * pending.take('-80').keysInOrder('-80', 'accounts') // [1]; pending now holds only '80-'
   * ```
   */
  take(shard: string): LockSet {
    const taken = new LockSet()
    const tables = this.#shards.get(shard)
    if (tables === undefined) return taken
    this.#shards.delete(shard)
    taken.#shards.set(shard, tables)
    return taken
  }

  /** Shards of the set sorted by `rank` (the canonical order). */
  shardsInOrder(rank: (shard: string) => number): string[] {
    return [...this.#shards.keys()].sort((a, b) => rank(a) - rank(b))
  }

  /** Tables with keys on `shard`, by name, so every transaction locks a shard's tables in the same order. */
  tablesOn(shard: string): string[] {
    const tables = this.#shards.get(shard)
    return tables === undefined
      ? []
      : [...tables]
          .filter(([, byId]) => byId.size > 0)
          .map(([t]) => t)
          .sort()
  }

  /** Keys of `table` on `shard`, sorted (numbers and bigints numerically, before strings). */
  keysInOrder(shard: string, table: string): ShardKey[] {
    return [...(this.#shards.get(shard)?.get(table)?.values() ?? [])].sort(compareKeys)
  }

  /** Number of distinct keys over all shards and tables. */
  get keyCount(): number {
    let n = 0
    for (const tables of this.#shards.values()) for (const byId of tables.values()) n += byId.size
    return n
  }

  get isEmpty(): boolean {
    return this.#shards.size === 0
  }

  clone(): LockSet {
    return new LockSet().addAll(this)
  }

  #tablesOf(shard: string): Map<string, Map<string, ShardKey>> {
    let tables = this.#shards.get(shard)
    if (tables === undefined) this.#shards.set(shard, (tables = new Map()))
    return tables
  }
}

/**
 * A deterministic order for keys of one table. The database decides the order in which rows are
 * actually locked (the lock statement says ORDER BY the key column); sorting here only keeps the
 * SQL stable, so equal lock sets produce equal statements.
 *
 * @example
 * ```ts
 * [10, '9', 2n, 'a'].sort(compareKeys) // [2n, 10, '9', 'a']
 * ```
 */
export function compareKeys(a: ShardKey, b: ShardKey): number {
  const aNum = typeof a !== 'string'
  const bNum = typeof b !== 'string'
  if (aNum !== bNum) return aNum ? -1 : 1
  // Relational operators compare a number with a bigint exactly, so 3 < 4n needs no conversion.
  return a < b ? -1 : a > b ? 1 : 0
}
