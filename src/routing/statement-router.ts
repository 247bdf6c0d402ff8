import type { ShardKey, TableConfig } from '../config/options.js'
import { UnroutableQueryError } from '../shared/errors.js'
import {
  READ_METHODS,
  WRITE_METHODS,
  assertBuilderShape,
  parseTableReference,
  type KnexBuilderInternals,
} from '../knex/builder-internals.js'
import type { ShardMap } from './shard-map.js'
import { isKeyColumn, isShardKeyValue, keysFromWhere } from './shard-key-extraction.js'

/**
 * `read`: plain select, never makes the transaction participate in a shard.
 * `lock`: `forUpdate`/`forShare` select: takes row locks, so it participates.
 * `write`: insert/update/delete: participates.
 */
export type StatementKind = 'read' | 'lock' | 'write'

/** Where one statement goes. Produced before any SQL is compiled or sent. */
export interface RoutedStatement {
  table: string
  kind: StatementKind
  method: string
  /** Target shards in canonical order. Empty when the statement provably matches no row (`IN ()`). */
  shards: string[]
  /**
   * Per-shard builders when the statement differs by shard (a multi-row insert whose rows live on
   * several shards). Absent when every target shard runs the original builder.
   */
  perShard?: Map<string, KnexBuilderInternals>
  /** Shard key values by shard, for lock sets and opt-in logging. Empty for pinned tables and scatters. */
  keysByShard: Map<string, ShardKey[]>
  /** True for a read with no key restriction, sent to every shard. */
  scatter: boolean
}

type ResolvedTable = { shardKey: string; shard?: undefined } | { shard: string; shardKey?: undefined }

/**
 * Routes knex builders to shards using the table configuration and the shard map.
 *
 * @example
 * ```ts
 * const router = new StatementRouter(config.tables, shardMap)
 * router.route(knex('accounts').where({ id: 42 }).update({ x: 1 })) // { kind: 'write', shards: ['-80'], ... }
 * ```
 */
export class StatementRouter {
  readonly #tables: ReadonlyMap<string, ResolvedTable>
  readonly #map: ShardMap

  constructor(tables: Readonly<Record<string, TableConfig>>, shardMap: ShardMap) {
    this.#tables = new Map(Object.entries(tables) as [string, ResolvedTable][])
    this.#map = shardMap
  }

  /** The shard that holds `key` of `table` (pinned tables ignore the key). */
  shardOf(table: string, key: ShardKey): string {
    const config = this.#table(table)
    return config.shard ?? this.#map.shardForKey(table, key)
  }

  /** The table's configuration, or an error that names the table and lists the known ones. */
  tableConfig(table: string): ResolvedTable {
    return this.#table(table)
  }

  route(value: unknown): RoutedStatement {
    assertBuilderShape(value)
    const builder = value
    const ref = parseTableReference(builder._single.table)
    if (!ref) {
      throw new UnroutableQueryError(
        `shardtx routes queries by table, but this ${builder._method} has ${builder._single.table === undefined ? 'no table' : 'a table it cannot read'}. ` +
          `Start queries with tx('table'), or send raw SQL through tx.shard(name).raw(sql, bindings).`,
      )
    }
    const table = ref.table
    const config = this.#table(table)
    this.#checkJoins(builder, table)
    const kind = classify(builder, table)
    if (config.shard !== undefined) {
      return { table, kind, method: builder._method, shards: [config.shard], keysByShard: new Map(), scatter: false }
    }
    const names = ref.alias === undefined ? [table] : [table, ref.alias]
    if (builder._method === 'insert') return this.#routeInsert(builder, table, config.shardKey, kind)
    if (kind === 'write') assertKeyUnchanged(builder, table, config.shardKey, names)
    const keys = keysFromWhere(builder._statements, config.shardKey, names)
    if (keys === undefined) {
      if (kind !== 'read') {
        throw new UnroutableQueryError(
          `Cannot route ${describeMethod(builder)} on \`${table}\`: its WHERE clause does not pin the shard key column \`${config.shardKey}\`. ` +
            `Add .where({ ${config.shardKey}: value }) or .whereIn('${config.shardKey}', values) (top-level, no OR), ` +
            `or run it on each shard explicitly with tx.shard(name).`,
          { table, keyColumn: config.shardKey },
        )
      }
      const all = [...this.#map.order]
      assertMergeable(builder, table, all.length)
      return { table, kind, method: builder._method, shards: all, keysByShard: new Map(), scatter: true }
    }
    const keysByShard = this.#groupKeys(table, keys)
    const shards = this.#sorted(keysByShard.keys())
    if (kind === 'read') assertMergeable(builder, table, shards.length)
    return { table, kind, method: builder._method, shards, keysByShard, scatter: false }
  }

  #routeInsert(builder: KnexBuilderInternals, table: string, keyColumn: string, kind: StatementKind): RoutedStatement {
    const raw = builder._single.insert
    const rows = Array.isArray(raw) ? raw : [raw]
    const rowsByShard = new Map<string, object[]>()
    const keysByShard = new Map<string, ShardKey[]>()
    for (const row of rows) {
      const key = row !== null && typeof row === 'object' ? (row as Record<string, unknown>)[keyColumn] : undefined
      if (!isShardKeyValue(key)) {
        throw new UnroutableQueryError(
          `Cannot route insert into \`${table}\`: ${rows.length > 1 ? 'a row' : 'the row'} has no usable value for the shard key column \`${keyColumn}\` ` +
            `(got ${key === null ? 'null' : typeof key}). Every inserted row must carry its ${keyColumn} as a number, bigint or string; ` +
            `shardtx cannot route auto-increment keys, because the shard must be known before the row exists.`,
          { table, keyColumn },
        )
      }
      const shard = this.#map.shardForKey(table, key)
      pushTo(rowsByShard, shard, row as object)
      pushTo(keysByShard, shard, key)
    }
    const shards = this.#sorted(rowsByShard.keys())
    const result: RoutedStatement = { table, kind, method: 'insert', shards, keysByShard, scatter: false }
    if (shards.length > 1) {
      result.perShard = new Map(
        shards.map((shard) => {
          const copy = builder.clone()
          copy._single = { ...copy._single, insert: rowsByShard.get(shard) }
          return [shard, copy]
        }),
      )
    }
    return result
  }

  #groupKeys(table: string, keys: readonly ShardKey[]): Map<string, ShardKey[]> {
    const byShard = new Map<string, ShardKey[]>()
    for (const key of keys) pushTo(byShard, this.#map.shardForKey(table, key), key)
    return byShard
  }

  #sorted(shards: Iterable<string>): string[] {
    return this.#map.canonicalOrder(shards)
  }

  #table(table: string): ResolvedTable {
    const config = this.#tables.get(table)
    if (config === undefined) {
      throw new UnroutableQueryError(
        `Table \`${table}\` is not in the shardtx configuration, so shardtx does not know which shard holds it. ` +
          `Add it to \`tables\`: { ${table}: { shardKey: '<column>' } } for a sharded table or { ${table}: { shard: '<shard name>' } } for an unsharded one. ` +
          `Known tables: ${[...this.#tables.keys()].join(', ') || '(none)'}.`,
        { table },
      )
    }
    return config
  }

  #checkJoins(builder: KnexBuilderInternals, table: string): void {
    for (const st of builder._statements) {
      if (st.grouping !== 'join') continue
      const joined = parseTableReference((st as { table?: unknown }).table)
      if (joined) this.#table(joined.table) // unknown joined tables are an error too
      else {
        throw new UnroutableQueryError(`Cannot route a join on \`${table}\` whose joined table shardtx cannot read; join named tables only.`, {
          table,
        })
      }
    }
  }
}

function classify(builder: KnexBuilderInternals, table: string): StatementKind {
  if (READ_METHODS.has(builder._method)) return builder._single.lock === undefined ? 'read' : 'lock'
  if (WRITE_METHODS.has(builder._method)) return 'write'
  throw new UnroutableQueryError(
    `shardtx cannot route ${describeMethod(builder)} on \`${table}\`: only select/first/pluck, insert, update, increment/decrement and delete are routed. ` +
      `Run other statements on one shard with tx.shard(name), or on every shard with db.shard(name) for each name in db.shardNames.`,
    { table },
  )
}

function assertKeyUnchanged(builder: KnexBuilderInternals, table: string, keyColumn: string, names: readonly string[]): void {
  const changed = [builder._single.update, builder._single.counter].some(
    (set) => set !== undefined && Object.keys(set).some((column) => isKeyColumn(column, keyColumn, names)),
  )
  if (changed) {
    throw new UnroutableQueryError(
      `Cannot update the shard key column \`${keyColumn}\` of \`${table}\`: the row would have to move to another shard. ` +
        `Delete the row and insert it with the new key instead.`,
      { table, keyColumn },
    )
  }
}

/** Reads that span shards are concatenated; anything whose result depends on all rows at once is refused. */
function assertMergeable(builder: KnexBuilderInternals, table: string, shardCount: number): void {
  if (shardCount <= 1) return
  const reasons: string[] = []
  for (const st of builder._statements) {
    if (st.grouping === 'columns' && st.type === 'aggregate') reasons.push('an aggregate')
    if (st.grouping === 'order') reasons.push('ORDER BY')
    if (st.grouping === 'group') reasons.push('GROUP BY')
    if (st.grouping === 'having') reasons.push('HAVING')
    if (st.grouping === 'union') reasons.push('UNION')
    if (st.grouping === 'columns' && (st.distinct === true || st.distinctOn !== undefined)) reasons.push('DISTINCT')
  }
  if (builder._single.offset !== undefined) reasons.push('OFFSET')
  if (builder._single.limit !== undefined && builder._method !== 'first') reasons.push('LIMIT')
  if (reasons.length > 0) {
    throw new UnroutableQueryError(
      `This read on \`${table}\` spans ${shardCount} shards and uses ${[...new Set(reasons)].join(', ')}, which shardtx does not merge across shards ` +
        `(it only concatenates rows). Restrict it to one shard key value, or query each shard with tx.shard(name) and combine the results yourself.`,
      { table },
    )
  }
}

function describeMethod(builder: KnexBuilderInternals): string {
  if (builder._method === 'update' && builder._single.counter !== undefined) return 'increment/decrement'
  if (builder._method === 'del') return 'delete'
  return builder._method
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

