import type { ShardKey } from '../config/options.js'
import type { BuilderStatement } from '../knex/builder-internals.js'

/**
 * The key values a builder's WHERE clause restricts its shard key column to, or `undefined` when
 * the clause does not restrict it (the statement may touch any row).
 *
 * Only conditions that provably restrict the rows count: top-level AND-ed `=` and `IN` on the key
 * column. One top-level OR anywhere makes the whole clause unprovable, because knex renders
 * `a AND b OR c` without parentheses and `c` alone may select rows on any shard. Nested groups
 * (`where(fn)`) are AND-ed with the rest and ignored, which is safe: they can only narrow further.
 *
 * @example
 * ```ts
 * keysFromWhere(builder._statements, 'id', ['accounts']) // [42] for .where({ id: 42 })
 * ```
 */
export function keysFromWhere(statements: readonly BuilderStatement[], keyColumn: string, tableNames: readonly string[]): ShardKey[] | undefined {
  return keysFromWhereMatching(statements, (column) => isKeyColumn(column, keyColumn, tableNames))
}

/**
 * {@link keysFromWhere} for any table of a statement: `isKey` says whether a WHERE column names
 * that table's shard key (routing/statement-shape.ts resolves aliases and enclosing queries).
 */
export function keysFromWhereMatching(statements: readonly BuilderStatement[], isKey: (column: unknown) => boolean): ShardKey[] | undefined {
  let keys: ShardKey[] | undefined
  let matchesNothing = false
  for (const st of statements) {
    if (st.grouping !== 'where') continue
    if (st.bool === 'or') return undefined
    // knex rewrites whereIn(col, []) to `1 = 0`: AND-ed with anything, no row can match.
    if (st.type === 'whereBasic' && st.column === 1 && st.operator === '=' && st.value === 0 && st.not !== true) matchesNothing = true
    if (st.not === true || st.asColumn === true || !isKey(st.column)) continue
    let values: ShardKey[] | undefined
    if (st.type === 'whereBasic' && st.operator === '=' && isShardKeyValue(st.value)) values = [st.value]
    else if (st.type === 'whereIn' && Array.isArray(st.value) && st.value.every(isShardKeyValue)) values = st.value
    if (values === undefined) continue
    keys = keys === undefined ? dedupe(values) : intersectKeys(keys, values)
  }
  return matchesNothing ? [] : keys
}

/** True when `column` names the key column, bare or qualified by the table or its alias. */
export function isKeyColumn(column: unknown, keyColumn: string, tableNames: readonly string[]): boolean {
  if (typeof column !== 'string') return false
  const dot = column.lastIndexOf('.')
  if (dot === -1) return column === keyColumn
  return column.slice(dot + 1) === keyColumn && tableNames.includes(column.slice(0, dot))
}

/** Values shardtx can route by. knex Raw objects, subqueries, null and dates cannot be routed. */
export function isShardKeyValue(value: unknown): value is ShardKey {
  return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string'
}

/** Identity of a key across its spellings: 42, 42n and '42' are the same row key in SQL. */
export function keyIdentity(key: ShardKey): string {
  return typeof key === 'string' ? key : String(key)
}

function dedupe(values: readonly ShardKey[]): ShardKey[] {
  const seen = new Set<string>()
  return values.filter((v) => {
    const id = keyIdentity(v)
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/** Keys of `a` also in `b` (AND-ed `=`/`IN` conditions on one key column), compared by {@link keyIdentity}. */
export function intersectKeys(a: readonly ShardKey[], b: readonly ShardKey[]): ShardKey[] {
  const inB = new Set(b.map(keyIdentity))
  return a.filter((k) => inB.has(keyIdentity(k)))
}
