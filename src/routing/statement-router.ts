import type { ShardKey, TableConfig } from '../config/options.js'
import { resolveTables, type TablePlacement } from '../config/tables.js'
import { UnroutableQueryError } from '../shared/errors.js'
import { READ_METHODS, WRITE_METHODS, assertBuilderShape, type KnexBuilderInternals } from '../knex/builder-internals.js'
import type { ShardMap } from './shard-map.js'
import { isKeyColumn, isShardKeyValue } from './shard-key-extraction.js'
import { assertTablesReachable, placeStatement, type KeyRouter } from './statement-placement.js'
import { readStatementShape, type StatementShape, type TableRef } from './statement-shape.js'

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
  /**
   * The statement reads only reference tables: any one shard answers. `shards` names the first in
   * canonical order; the executor may use one the transaction already participates in instead.
   */
  anyShard?: boolean
}

/**
 * Routes knex builders to shards using the table configuration and the shard map. Every table a
 * statement references is placed (routing/statement-shape.ts reads them, routing/statement-placement.ts
 * judges them): a statement is routed only when each target shard holds every row it could match.
 *
 * @example
 * ```ts
 * const router = new StatementRouter(config.tables, shardMap)
 * router.route(knex('accounts').where({ id: 42 }).update({ x: 1 })) // { kind: 'write', shards: ['-80'], ... }
 * ```
 */
export class StatementRouter {
  readonly #tables: ReadonlyMap<string, TablePlacement>
  readonly #map: ShardMap
  readonly #route: KeyRouter = (ref, key) => this.#map.shardForKey(keySpaceOf(ref), key)

  constructor(tables: Readonly<Record<string, TableConfig>>, shardMap: ShardMap) {
    this.#tables = resolveTables(tables, shardMap.order).placements
    this.#map = shardMap
  }

  /** The shard that holds `key` of `table` (pinned tables ignore the key; a co-located table routes as its key space). */
  shardOf(table: string, key: ShardKey): string {
    const placement = this.#table(table, 'db.shardOf()')
    if (placement.kind === 'pinned') return placement.shard
    if (placement.kind === 'reference') {
      throw new TypeError(`\`${table}\` is a reference table: its rows are on every shard (${this.#map.order.join(', ')}), so no key picks one.`)
    }
    return this.#map.shardForKey(placement.keySpace, key)
  }

  /** The table's shard key column, or undefined for pinned and reference tables; throws naming an unknown table. */
  shardKeyOf(table: string): string | undefined {
    const placement = this.#table(table, 'a lock set')
    return placement.kind === 'sharded' ? placement.shardKey : undefined
  }

  /** The table's placement; throws UnroutableQueryError naming an unknown table and listing the known ones. */
  placementOf(table: string): TablePlacement {
    return this.#table(table, 'the main table')
  }

  route(value: unknown): RoutedStatement {
    assertBuilderShape(value)
    const builder = value
    const shape = readStatementShape(builder, (table, found) => this.#table(table, found))
    const main = shape.main
    const kind = classify(builder, main.table)
    if (kind === 'write') assertWritable(builder, shape)
    if (builder._method === 'insert' && !shape.insertSelect && main.placement?.kind === 'sharded') {
      const routed = this.#routeInsert(builder, main.table, main.placement.shardKey, main.placement.keySpace, kind)
      const placed = { anchor: main, shards: routed.shards, keysByShard: routed.keysByShard, scatter: false, anyShard: false }
      assertTablesReachable(shape, placed, this.#map, this.#route)
      return routed
    }
    const placed = placeStatement(shape, kind, this.#map, this.#route)
    if (kind === 'lock' && placed.anyShard) {
      throw new UnroutableQueryError(
        `Cannot lock rows of the reference table \`${main.table}\` inside a transaction: its rows are copied on every shard and are never written in transactions, ` +
          `so a lock on one copy protects nothing. Read it without forUpdate()/forShare().`,
        { table: main.table },
      )
    }
    if (kind === 'read' && (placed.scatter || placed.shards.length > 1)) assertMergeable(builder, main.table, placed.shards.length)
    const routed: RoutedStatement = {
      table: placed.anchor.placement === undefined ? main.table : placed.anchor.table,
      kind,
      method: builder._method,
      shards: placed.shards,
      keysByShard: placed.keysByShard,
      scatter: placed.scatter,
    }
    if (placed.anyShard) routed.anyShard = true
    return routed
  }

  #routeInsert(builder: KnexBuilderInternals, table: string, keyColumn: string, keySpace: string, kind: StatementKind): RoutedStatement {
    const raw = builder._single.insert
    const rows = Array.isArray(raw) ? raw : [raw]
    const rowsByShard = new Map<string, object[]>()
    const keysByShard = new Map<string, ShardKey[]>()
    for (const row of rows) {
      const key = row !== null && typeof row === 'object' ? (row as Record<string, unknown>)[keyColumn] : undefined
      if (!isShardKeyValue(key)) {
        throw new UnroutableQueryError(
          `Cannot route insert into \`${table}\`: ${rows.length > 1 ? 'a row' : 'the row'} has no usable value for the shard key column \`${keyColumn}\` ` +
            `(got ${key === null ? 'null' : typeof key}). Every inserted row must carry its ${keyColumn} as a number, bigint or string, ` +
            `because the shard must be known before the row exists. For auto-increment keys, give the table a sequence: ` +
            `tables.${table} = { shardKey: '${keyColumn}', sequence: { table: '${table}_seq' } } (docs/routing.md), and shardtx fills ${keyColumn} for you.`,
          { table, keyColumn },
        )
      }
      const shard = this.#map.shardForKey(keySpace, key)
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

  #sorted(shards: Iterable<string>): string[] {
    return this.#map.canonicalOrder(shards)
  }

  #table(table: string, found: string): TablePlacement {
    const config = this.#tables.get(table)
    if (config === undefined) {
      throw new UnroutableQueryError(
        `Table \`${table}\` is not in the shardtx configuration (this statement reads it as ${found}), so shardtx does not know which shard holds it. ` +
          `Add it to \`tables\`: { ${table}: { shardKey: '<column>' } } for a sharded table, { ${table}: { shard: '<shard name>' } } for an unsharded one, ` +
          `or { ${table}: { reference: true } } for a small table copied to every shard. ` +
          `Known tables: ${[...this.#tables.keys()].join(', ') || '(none)'}.`,
        { table },
      )
    }
    return config
  }
}

function keySpaceOf(ref: TableRef): string {
  return ref.placement?.kind === 'sharded' ? ref.placement.keySpace : ref.table
}

/**
 * Writes that shardtx refuses whatever the keys: reference tables (copies on every shard), rows
 * that would change shard, and `INSERT ... SELECT` into a sharded table.
 */
function assertWritable(builder: KnexBuilderInternals, shape: StatementShape): void {
  const main = shape.main
  const written = [main, ...updatedJoinedTables(builder, shape)]
  for (const ref of written) {
    if (ref.placement?.kind === 'reference') {
      throw new UnroutableQueryError(
        `Cannot write the reference table \`${ref.table}\` inside a transaction: its rows are copied on every shard, and one write would have to reach every shard at once. ` +
          `Change reference tables outside transactions, on every shard: for (const name of db.shardNames) await db.shard(name)('${ref.table}')... (docs/routing.md, "Reference tables").`,
        { table: ref.table },
      )
    }
    if (ref.placement?.kind === 'sharded') assertKeyUnchanged(builder, ref)
  }
  if (shape.insertSelect && main.placement?.kind === 'sharded') {
    throw new UnroutableQueryError(
      `Cannot route INSERT INTO \`${main.table}\` ... SELECT: the shard of each inserted row depends on the selected value of \`${main.placement.shardKey}\`, ` +
        `which shardtx cannot know before the statement runs. Select the rows first, then insert them with tx('${main.table}').insert(rows): each row is routed by its ${main.placement.shardKey}.`,
      { table: main.table, keyColumn: main.placement.shardKey },
    )
  }
}

/** Tables other than the main one whose columns a multi-table UPDATE sets (`.update({ 'orders.x': 1 })`). */
function updatedJoinedTables(builder: KnexBuilderInternals, shape: StatementShape): TableRef[] {
  const set = builder._single.update
  if (set === undefined) return []
  const qualifiers = new Set(
    Object.keys(set)
      .filter((c) => c.includes('.'))
      .map((c) => c.slice(0, c.lastIndexOf('.')).split('.').pop()!),
  )
  return shape.top.refs.filter((ref) => ref !== shape.main && qualifiers.has(ref.alias))
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

function assertKeyUnchanged(builder: KnexBuilderInternals, ref: TableRef): void {
  if (ref.placement?.kind !== 'sharded') return
  const keyColumn = ref.placement.shardKey
  const names = ref.alias === ref.table ? [ref.table] : [ref.table, ref.alias]
  const own = (column: string) => isKeyColumn(column, keyColumn, names) && (ref.block.refs[0] === ref || column.includes('.'))
  const changed = [builder._single.update, builder._single.counter].some((set) => set !== undefined && Object.keys(set).some(own))
  if (changed) {
    throw new UnroutableQueryError(
      `Cannot update the shard key column \`${keyColumn}\` of \`${ref.table}\`: the row would have to move to another shard. ` +
        `Delete the row and insert it with the new key instead.`,
      { table: ref.table, keyColumn },
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
