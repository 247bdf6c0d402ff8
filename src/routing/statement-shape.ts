import type { ShardKey } from '../config/options.js'
import type { TablePlacement } from '../config/tables.js'
import {
  builderFromCallback,
  isRawStatement,
  isQueryBuilder,
  joinGroupConditions,
  parseTableReference,
  rawSqlText,
  type BuilderStatement,
  type JoinCondition,
  type JoinStatement,
  type KnexBuilderInternals,
} from '../knex/builder-internals.js'
import { quoteName } from '../shared/describe-value.js'
import { UnroutableQueryError } from '../shared/errors.js'
import { rawFragmentTables, type RawFragmentPlace } from './raw-fragment-tables.js'
import { keysFromWhereMatching } from './shard-key-extraction.js'

/**
 * One table a statement reads or writes, where it appears, and what its conditions prove about
 * which of its rows can match. A derived table (a subquery in FROM or JOIN, a WITH name) has no
 * placement: its own tables are refs of its block.
 */
export interface TableRef {
  table: string
  /** The name its columns are qualified with: the alias, or the table name. */
  alias: string
  placement: TablePlacement | undefined
  /** For a derived table: the subquery (or WITH) block that produces it. */
  derived?: Block
  block: Block
  /** Where it was found, for messages: 'the main table', 'a join', 'a subquery in WHERE', ... */
  found: string
  /**
   * Values its shard key is restricted to by AND-ed conditions (`=`, `IN`), or undefined when
   * nothing restricts it. Empty when no row can match.
   */
  keys: ShardKey[] | undefined
}

/** One SELECT/INSERT/UPDATE/DELETE of the statement: the top level, or a subquery. */
export interface Block {
  parent: Block | undefined
  builder: KnexBuilderInternals
  /** Its FROM table (first) and joined tables, in order. */
  refs: TableRef[]
  found: string
}

/** Everything a statement touches, read from the knex builder before any SQL exists. */
export interface StatementShape {
  top: Block
  /** The top block's FROM table: what the statement is routed by (undefined only for a derived FROM). */
  main: TableRef
  /** Every table ref, the main table first. */
  refs: TableRef[]
  /** Pairs whose shard key columns are equated by an AND-ed condition (join ON, correlated WHERE, `IN (SELECT key ...)`). */
  equalities: [TableRef, TableRef][]
  /** Subquery blocks (derived tables, unions, CTEs, WHERE/SELECT subqueries), for merge checks. */
  blocks: Block[]
  /** `insert(subquery)`: the inserted rows come from a SELECT whose values shardtx cannot see. */
  insertSelect: boolean
}

/** Looks up the placement of a configured table; throws UnroutableQueryError naming unknown ones. */
export type PlacementLookup = (table: string, found: string) => TablePlacement

/** Plain objects nested deeper than this inside a statement are not searched for subqueries (no statement builds them). */
const MAX_VALUE_DEPTH = 8

/**
 * Reads every table a knex builder references: FROM, joins (all kinds), subqueries in WHERE,
 * HAVING, SELECT, FROM and JOIN, `whereExists`, unions, CTEs (`with`), `insert ... select`, and
 * tables named in raw fragments (through node-sql-parser). Conditions that restrict shard keys
 * and equate key columns are recorded for routing/statement-placement.ts to judge.
 *
 * @example
 * ```ts
 * const shape = readStatementShape(knex('accounts').join('customers', 'customers.id', 'accounts.owner_id').where('accounts.id', 1), lookup)
 * shape.refs.map((r) => r.table) // ['accounts', 'customers']
 * ```
 */
export function readStatementShape(builder: KnexBuilderInternals, lookup: PlacementLookup): StatementShape {
  const reader = new ShapeReader(lookup)
  const top = reader.block(builder, undefined, 'the main table', new Map(), true)
  const main = top.refs[0]!
  return { top, main, refs: reader.refs, equalities: reader.equalities, blocks: reader.blocks, insertSelect: reader.insertSelect }
}

type Ctes = ReadonlyMap<string, Block>

class ShapeReader {
  readonly refs: TableRef[] = []
  readonly equalities: [TableRef, TableRef][] = []
  readonly blocks: Block[] = []
  insertSelect = false
  readonly #lookup: PlacementLookup

  constructor(lookup: PlacementLookup) {
    this.#lookup = lookup
  }

  block(builder: KnexBuilderInternals, parent: Block | undefined, found: string, outerCtes: Ctes, top = false): Block {
    const block: Block = { parent, builder, refs: [], found }
    if (!top) this.blocks.push(block)
    const ctes = new Map(outerCtes)
    for (const st of builder._statements) {
      if (st.grouping !== 'with') continue
      const alias = (st as { alias?: unknown }).alias
      const sub = this.subquery((st as { value?: unknown }).value, { owner: builder }, 'a WITH (common table expression)', ctes, 'from')
      if (typeof alias === 'string' && sub) ctes.set(alias, sub)
    }
    this.#source(block, builder._single.table, top ? 'the main table' : found, ctes, top)
    const joins = builder._statements.filter((st) => st.grouping === 'join') as unknown as JoinStatement[]
    for (const join of joins) this.#join(block, join, ctes)
    this.#conditions(
      block,
      builder._statements.filter((st) => st.grouping === 'where'),
      ctes,
      true,
    )
    for (const st of builder._statements) this.#statement(block, st, ctes)
    this.#single(block, ctes)
    for (const ref of block.refs) ref.keys = keysOf(block, ref)
    return block
  }

  /** The FROM table of a block: a name, a WITH name, a subquery, or a raw fragment. */
  #source(block: Block, table: unknown, found: string, ctes: Ctes, top: boolean): void {
    if (table === undefined || table === null) {
      if (top) {
        throw new UnroutableQueryError(
          `shardtx routes queries by table, but this ${block.builder._method} has no table. ` +
            `Start queries with tx('table'), or send raw SQL through tx.shard(name).raw(sql, bindings).`,
        )
      }
      return
    }
    if (typeof table === 'string') {
      this.#named(block, table, found, ctes)
      return
    }
    if (isRawStatement(table)) {
      this.#raw(block, table, 'from', found)
      if (top) throw unreadableSource(block, 'a raw FROM (fromRaw)')
      return
    }
    const sub = this.subquery(table, { owner: block.builder }, 'a subquery in FROM', ctes, 'from')
    if (sub) this.#derived(block, sub, found)
    else if (top) throw unreadableSource(block, describeType(table))
  }

  #named(block: Block, name: string, found: string, ctes: Ctes): TableRef {
    const ref = parseTableReference(name)
    if (!ref) {
      throw new UnroutableQueryError(
        `The table name ${quoteName(name)} (${found}) is not a plain table name, so shardtx cannot tell where it lives. ` +
          `Use a table name listed in \`tables\` (letters, digits, _ and $, optionally 'name as alias'); ` +
          `SQL fragments belong in tx.shard(name).raw(sql, bindings).`,
        { table: name },
      )
    }
    const alias = ref.alias ?? ref.table
    const cte = ctes.get(ref.table)
    if (cte) return this.#add(block, { table: ref.table, alias, placement: undefined, derived: cte, block, found, keys: undefined })
    return this.#add(block, { table: ref.table, alias, placement: this.#lookup(ref.table, found), block, found, keys: undefined })
  }

  #derived(block: Block, sub: Block, found: string): TableRef {
    const alias = aliasOf(sub) ?? '(subquery)'
    return this.#add(block, { table: alias, alias, placement: undefined, derived: sub, block, found, keys: undefined })
  }

  #add(block: Block, ref: TableRef): TableRef {
    block.refs.push(ref)
    this.refs.push(ref)
    return ref
  }

  #join(block: Block, join: JoinStatement, ctes: Ctes): void {
    const found = join.joinType === 'raw' ? 'a joinRaw' : `${/^[aeiou]/.test(join.joinType) ? 'an' : 'a'} ${join.joinType} join`
    let joined: TableRef | undefined
    if (typeof join.table === 'string') joined = this.#named(block, join.table, found, ctes)
    else if (isRawStatement(join.table)) this.#raw(block, join.table, 'join', found)
    else {
      const sub = this.subquery(join.table, { owner: block.builder }, 'a subquery in a JOIN', ctes, 'from')
      if (sub) joined = this.#derived(block, sub, found)
    }
    const clauses = Array.isArray(join.clauses) ? join.clauses : []
    const andOnly = clauses.every((c) => c.bool !== 'or')
    for (const clause of clauses) this.#joinCondition(block, join, clause, andOnly ? joined : undefined, ctes)
  }

  #joinCondition(block: Block, join: JoinStatement, clause: JoinCondition, joined: TableRef | undefined, ctes: Ctes): void {
    switch (clause.type) {
      case 'onBasic':
        if (joined && clause.operator === '=') this.#equate(block, clause.column, clause.value)
        break
      case 'onWrapped':
        if (typeof clause.value === 'function') {
          for (const inner of joinGroupConditions(join, clause.value as (j: unknown) => void)) this.#joinCondition(block, join, inner, undefined, ctes)
          return
        }
        break
      case 'onRaw':
        if (isRawStatement(clause.value)) this.#raw(block, clause.value, 'expression', 'a raw join condition')
        return
      default:
        break
    }
    this.value(block, clause.column, ctes, 'a subquery in a JOIN condition', 'expression')
    this.value(block, clause.value, ctes, 'a subquery in a JOIN condition', 'expression')
  }

  /**
   * WHERE conditions of a block. Only the top level of a WHERE without OR restricts rows for
   * sure (knex renders `a AND b OR c` without parentheses, so one OR frees everything); nested
   * groups are searched for subqueries only.
   */
  #conditions(block: Block, statements: readonly BuilderStatement[], ctes: Ctes, topLevel: boolean): void {
    const proving = topLevel && statements.every((st) => st.bool !== 'or')
    for (const st of statements) {
      const found = st.grouping === 'having' ? 'a subquery in HAVING' : 'a subquery in WHERE'
      if (proving && st.not !== true) this.#proof(block, st)
      if ((st.type === 'whereWrapped' || st.type === 'havingWrapped') && typeof st.value === 'function') {
        const group = builderFromCallback(block.builder, st.value as (b: unknown) => void)
        this.#conditions(
          block,
          group._statements.filter((s) => s.grouping === 'where' || s.grouping === 'having'),
          ctes,
          false,
        )
        continue
      }
      if (st.type === 'whereRaw' || st.type === 'havingRaw') {
        if (isRawStatement(st.value)) this.#raw(block, st.value, 'expression', st.grouping === 'having' ? 'a havingRaw' : 'a whereRaw')
        continue
      }
      const sub = this.value(block, st.value, ctes, found, 'expression')
      this.value(block, st.column, ctes, found, 'expression')
      if (proving && sub && st.type === 'whereIn' && st.not !== true) this.#equateInSubquery(block, st.column, sub)
    }
  }

  /** Key equalities of one top-level, AND-ed, non-negated condition (key restrictions: see keysOf). */
  #proof(block: Block, st: BuilderStatement): void {
    if (st.type !== 'whereBasic' || st.operator !== '=') return
    if (st.asColumn === true) this.#equate(block, st.column, st.value)
    else if (isRawStatement(st.value) && typeof st.value.ref === 'string') this.#equate(block, st.column, st.value.ref)
  }

  #equate(block: Block, left: unknown, right: unknown): void {
    const a = resolveKeyColumn(block, left)
    const b = resolveKeyColumn(block, right)
    if (a && b && a !== b) this.equalities.push([a, b])
  }

  /** `outer.key IN (SELECT inner.key ...)`: every matching pair has equal keys. */
  #equateInSubquery(block: Block, column: unknown, sub: Block): void {
    const outer = resolveKeyColumn(block, column)
    const columns = sub.builder._statements.filter((st) => st.grouping === 'columns')
    const selected = columns.length === 1 && columns[0]!.type === undefined && Array.isArray(columns[0]!.value) ? (columns[0]!.value as unknown[]) : []
    const inner = selected.length === 1 ? resolveKeyColumn(sub, selected[0]) : undefined
    if (outer && inner) this.equalities.push([outer, inner])
  }

  #statement(block: Block, st: BuilderStatement, ctes: Ctes): void {
    switch (st.grouping) {
      case 'where':
      case 'join':
      case 'with':
      case 'hintComments':
        return // read above, or no tables in them
      case 'having':
        this.#conditions(block, [st], ctes, false)
        return
      case 'union':
        this.subquery(st.value, { owner: block.builder }, `a ${String((st as { clause?: unknown }).clause ?? 'union').toUpperCase()}`, ctes, 'from')
        return
      case 'columns':
        this.value(block, st, ctes, 'a subquery in SELECT', 'column', true)
        return
      case 'order':
        this.value(block, st, ctes, 'a subquery in ORDER BY', 'order', true)
        return
      case 'group':
        this.value(block, st, ctes, 'a subquery in GROUP BY', 'group', true)
        return
      default:
        throw new UnroutableQueryError(
          `shardtx cannot analyse a '${String(st.grouping)}' clause of this ${block.builder._method} (${block.found}), so it cannot prove which shard ` +
            `every table it reads lives on. Rewrite it with joins, where/whereIn/whereExists subqueries or unions, or run it on one shard with tx.shard(name).`,
          { table: block.refs[0]?.table },
        )
    }
  }

  /** Inserted rows, updated values, `onConflict().merge()` values: subqueries and raw values in them. */
  #single(block: Block, ctes: Ctes): void {
    const single = block.builder._single
    const insert = single.insert
    if (insert !== undefined && (isQueryBuilder(insert) || typeof insert === 'function' || isRawStatement(insert))) {
      this.insertSelect = true
      if (isRawStatement(insert)) this.#raw(block, insert, 'insert', 'INSERT ... SELECT')
      else this.subquery(insert, { owner: block.builder }, 'INSERT ... SELECT', ctes, 'from')
    } else {
      this.value(block, insert, ctes, 'a subquery in inserted values', 'expression')
    }
    this.value(block, single.update, ctes, 'a subquery in updated values', 'expression')
    this.value(block, single.merge?.updates, ctes, 'a subquery in onConflict().merge()', 'expression')
  }

  /**
   * Searches a value for subqueries and raw fragments: a builder or a callback is a subquery
   * (knex compiles a function value by calling it on a fresh builder), a Raw is parsed, arrays
   * and plain objects are searched. Returns the block when the value itself is one subquery.
   */
  value(block: Block, value: unknown, ctes: Ctes, found: string, place: RawFragmentPlace, statement = false, depth = 0): Block | undefined {
    if (value === null || value === undefined || depth > MAX_VALUE_DEPTH) return undefined
    if (isRawStatement(value)) {
      this.#raw(block, value, place, found.replace('a subquery', 'a raw fragment'))
      return undefined
    }
    if (isQueryBuilder(value) || typeof value === 'function') return this.subquery(value, { owner: block.builder, parent: block }, found, ctes, place)
    if (Array.isArray(value)) {
      for (const item of value) this.value(block, item, ctes, found, place, false, depth + 1)
      return undefined
    }
    if (typeof value === 'object' && (statement || isPlainObject(value))) {
      for (const item of Object.values(value)) this.value(block, item, ctes, found, place, false, depth + 1)
    }
    return undefined
  }

  /**
   * A nested SELECT: a builder, or a callback that builds one on `owner`'s client. `parent` is the
   * block whose tables it may refer to (a correlated subquery); derived tables, unions, CTEs and
   * INSERT ... SELECT have none. A Raw is read for its tables.
   */
  subquery(value: unknown, at: { owner: KnexBuilderInternals; parent?: Block }, found: string, ctes: Ctes, place: RawFragmentPlace): Block | undefined {
    if (isRawStatement(value)) {
      const block: Block = { parent: at.parent, builder: at.owner, refs: [], found }
      this.blocks.push(block)
      this.#raw(block, value, place, found)
      return undefined
    }
    if (isQueryBuilder(value)) return this.block(value, at.parent, found, ctes)
    if (typeof value === 'function') return this.block(builderFromCallback(at.owner, value as (b: unknown) => void), at.parent, found, ctes)
    return undefined
  }

  /** Tables named in a raw fragment become refs of the block (placement only: their conditions are not read). */
  #raw(block: Block, raw: Parameters<typeof rawSqlText>[0], place: RawFragmentPlace, found: string): void {
    const tables = rawFragmentTables(rawSqlText(raw), place)
    if (tables instanceof Error) {
      throw new UnroutableQueryError(
        `shardtx could not read ${found} of this ${block.builder._method} (${tables.message}), so it cannot tell which tables it reads. ` +
          `Write it with the query builder, or run the statement on one shard with tx.shard(name).raw(sql, bindings).`,
        { table: block.refs[0]?.table },
      )
    }
    for (const table of tables) {
      this.#add(block, { table, alias: table, placement: this.#lookup(table, `${found} (raw SQL)`), block, found: `${found} (raw SQL)`, keys: undefined })
    }
  }
}

function aliasOf(block: Block): string | undefined {
  return typeof block.builder._single.as === 'string' ? block.builder._single.as : undefined
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

function describeType(value: unknown): string {
  return value === null ? 'null' : typeof value === 'object' ? `a ${(value as object).constructor?.name ?? 'object'}` : `a ${typeof value}`
}

function unreadableSource(block: Block, what: string): UnroutableQueryError {
  return new UnroutableQueryError(
    `shardtx routes queries by their table, but this ${block.builder._method} reads from ${what}, which names no table shardtx can place. ` +
      `Start the query with tx('table'), or send raw SQL through tx.shard(name).raw(sql, bindings).`,
  )
}

/** The key values the block's top-level WHERE restricts `ref` to (undefined: unrestricted). */
function keysOf(block: Block, ref: TableRef): ShardKey[] | undefined {
  if (ref.placement?.kind !== 'sharded') return undefined
  return keysFromWhereMatching(block.builder._statements, (column) => resolveKeyColumn(block, column) === ref)
}

/**
 * The table ref whose shard key column `column` names, if it names one: `alias.column` finds the
 * alias in this block, then in enclosing blocks (a correlated subquery); a bare name counts only
 * when exactly one table of this block has it as its shard key (otherwise SQL itself would call
 * it ambiguous, or it may be any other table's column).
 */
export function resolveKeyColumn(block: Block, column: unknown): TableRef | undefined {
  if (typeof column !== 'string') return undefined
  const parts = column.split('.').map((p) => p.trim().replace(/^[`"]|[`"]$/g, ''))
  const name = parts[parts.length - 1]!
  const isKey = (ref: TableRef) => ref.placement?.kind === 'sharded' && ref.placement.shardKey === name
  if (parts.length === 1) {
    const candidates = block.refs.filter(isKey)
    return candidates.length === 1 ? candidates[0] : undefined
  }
  const qualifier = parts[parts.length - 2]!
  for (let b: Block | undefined = block; b; b = b.parent) {
    const ref = b.refs.find((r) => r.alias === qualifier)
    if (ref) return isKey(ref) ? ref : undefined
  }
  return undefined
}
