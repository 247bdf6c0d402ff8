/**
 * The parts of a knex QueryBuilder that shardtx reads to route a statement before it is compiled.
 *
 * These fields are knex internals, not in its type definitions. We declare the narrow shape we
 * rely on, check it at runtime ({@link assertBuilderShape}), and pin the tested knex range in
 * package.json's peerDependencies (3.1 - 3.x), so a knex change fails loudly at the first query
 * instead of routing a statement to the wrong shard.
 */
export interface WhereStatement {
  grouping: 'where'
  type: string // 'whereBasic' | 'whereIn' | 'whereWrapped' | 'whereRaw' | ...
  column?: unknown
  operator?: string
  value?: unknown
  not?: boolean
  bool?: 'and' | 'or'
}

export interface BuilderStatement {
  grouping: string
  type?: string
  /** knex marks `distinct()` on the columns statement rather than with a type. */
  distinct?: boolean
  distinctOn?: unknown
  column?: unknown
  operator?: string
  value?: unknown
  not?: boolean
  bool?: 'and' | 'or'
  /** `whereColumn`: the value is another column. */
  asColumn?: boolean
  /** `with` (CTE) statements: the name the subquery is known by. */
  alias?: string
}

export interface BuilderSingle {
  /** A name, a sub-builder or callback (a subquery in FROM), or a Raw (`fromRaw`). */
  table?: unknown
  /** The alias of a builder used as a subquery (`.as('t')`). */
  as?: string
  insert?: unknown
  update?: Record<string, unknown>
  counter?: Record<string, number>
  lock?: 'forUpdate' | 'forShare' | 'forNoKeyUpdate' | 'forKeyShare'
  limit?: number
  offset?: number
  onConflict?: unknown
  /** `onConflict().merge(updates)`: `{ updates }`. */
  merge?: { updates?: unknown }
}

/** A knex QueryBuilder as shardtx sees it. */
export interface KnexBuilderInternals {
  _method: string
  _single: BuilderSingle
  _statements: BuilderStatement[]
  client: unknown
  clone(): KnexBuilderInternals
  toSQL(): unknown
}

/** Builder methods that only read. `first` and `pluck` are selects with a post-processing step. */
export const READ_METHODS: ReadonlySet<string> = new Set(['select', 'first', 'pluck'])
/** Builder methods that write rows. knex compiles increment/decrement as `update` with `_single.counter`. */
export const WRITE_METHODS: ReadonlySet<string> = new Set(['insert', 'update', 'del', 'upsert'])

/**
 * Throws if `value` lacks the internals shardtx routes by. Cheap: a few typeof checks per statement.
 */
export function assertBuilderShape(value: unknown): asserts value is KnexBuilderInternals {
  const b = value as Partial<KnexBuilderInternals> | null
  if (
    b === null ||
    typeof b !== 'object' ||
    typeof b._method !== 'string' ||
    typeof b._single !== 'object' ||
    b._single === null ||
    !Array.isArray(b._statements)
  ) {
    throw new Error(
      'shardtx could not read the knex query builder (_method/_single/_statements are missing). ' +
        'This knex version is not supported: install knex >=3.1 <4, the range shardtx is tested with.',
    )
  }
}

/** `accounts as a` -> { table: 'accounts', alias: 'a' }; `accounts` -> { table: 'accounts' }. */
export function parseTableReference(raw: unknown): { table: string; alias?: string } | undefined {
  if (typeof raw !== 'string') return undefined
  const match = /^\s*(?:[`"]?[\w$]+[`"]?\.)?[`"]?([\w$]+)[`"]?(?:\s+as\s+[`"]?([\w$]+)[`"]?)?\s*$/i.exec(raw)
  if (!match) return undefined
  return match[2] === undefined ? { table: match[1]! } : { table: match[1]!, alias: match[2] }
}

/** A knex Raw statement (`knex.raw(sql, bindings)`) as shardtx sees it: SQL text, no table to route by. */
export interface KnexRawInternals {
  isRawInstance: true
  sql: unknown
  toSQL(): { sql: string }
  /** Set on `knex.ref(column)`: the column it names. */
  ref?: unknown
}

/** True for a knex Raw object (knex marks its prototype with `isRawInstance`). */
export function isRawStatement(value: unknown): value is KnexRawInternals {
  return typeof value === 'object' && value !== null && (value as { isRawInstance?: unknown }).isRawInstance === true
}

/**
 * One join of a builder (knex 3's JoinClause, lib/query/joinclause.js): `grouping` is 'join' on
 * its prototype, `table` is a name, a sub-builder, a callback that builds one, or a Raw
 * (`joinRaw`, with `joinType` 'raw').
 */
export interface JoinStatement {
  grouping: 'join'
  joinType: string
  table: unknown
  clauses: JoinCondition[]
}

/** One condition of a join's ON (`onBasic`, `onVal`, `onIn`, `onNull`, `onExists`, `onBetween`, `onWrapped`, `onRaw`, `onUsing`, ...). */
export interface JoinCondition {
  type: string
  column?: unknown
  operator?: string
  value?: unknown
  not?: boolean
  bool?: 'and' | 'or'
}

/** True for a knex QueryBuilder (a subquery when found inside another builder). */
export function isQueryBuilder(value: unknown): value is KnexBuilderInternals {
  const b = value as Partial<KnexBuilderInternals> | null
  return typeof b === 'object' && b !== null && typeof b._method === 'string' && Array.isArray(b._statements) && typeof b.toSQL === 'function'
}

/**
 * The builder a callback subquery or where-group produces, made the way knex compiles it
 * (lib/formatter/formatterUtils.js `compileCallback`): a fresh builder of the same client, with the
 * callback called on it. knex calls these callbacks again when it compiles the statement.
 */
export function builderFromCallback(owner: KnexBuilderInternals, callback: (this: unknown, b: unknown) => void): KnexBuilderInternals {
  const builder = (owner.client as { queryBuilder(): unknown }).queryBuilder()
  callback.call(builder, builder)
  assertBuilderShape(builder)
  return builder
}

/**
 * The conditions a nested `on(function () { ... })` group adds, built on a fresh JoinClause the
 * way knex does (its class is the constructor of the join statement that holds the group).
 */
export function joinGroupConditions(join: JoinStatement, callback: (this: unknown, j: unknown) => void): JoinCondition[] {
  const JoinClause = join.constructor as new (table: unknown, type: string) => JoinStatement
  const group = new JoinClause(join.table, join.joinType)
  callback.call(group, group)
  return group.clauses
}

/** The SQL text of a Raw with `?` placeholders (values are never spliced in). */
export function rawSqlText(raw: KnexRawInternals): string {
  return raw.toSQL().sql
}
