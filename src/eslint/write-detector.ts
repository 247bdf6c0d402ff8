import type { SourceCode } from 'eslint'
import type * as ESTree from 'estree'
import { logicalParent, propertyName, staticString, unwrap, walk } from './ast-utils.js'
import { keySpaceOf, type LintTables } from './config-loader.js'
import { keyExpression, memberKey, type KeyContext, type KeyExpr } from './key-expression.js'

/** Where a write lands, as far as the code shows. */
export type Placement =
  /** A pinned table: always the configured shard. */
  | { kind: 'pinned'; shard: string }
  /** A sharded table with a known shard key expression. */
  | { kind: 'key'; column: string; key: KeyExpr }
  /** `whereIn(column, ids)` over a collection: as many shards as the collection's keys. */
  | { kind: 'set'; column: string; key: KeyExpr }
  /** A sharded table whose key the code doesn't show (no where/insert value for the column). */
  | { kind: 'unknown'; column: string }
  /** A reference table: the same rows on every shard, never written inside a transaction. */
  | { kind: 'reference' }

/** One write (or locking read) found in a function body. */
export interface WriteSite {
  table: string
  /** The write method, e.g. `update`, `insert`, `forUpdate`. */
  method: string
  /** The outermost call of the builder chain (`tx('a').where(...).update(...)`). */
  node: ESTree.CallExpression
  /** One entry per key (a multi-row insert or `whereIn` over a literal array gives several). */
  placements: Placement[]
}

/** Methods that make a chain a write. */
const WRITES = new Set(['insert', 'update', 'del', 'delete', 'increment', 'decrement', 'upsert', 'merge', 'truncate'])
/** Locking reads take row locks on their shard, so they join the transaction there too. */
const LOCKS = new Set(['forUpdate', 'forShare', 'forNoKeyUpdate', 'forKeyShare'])
/** Methods that name the table: `tx.table('a')`, `tx.from('a')`, `tx.insert(row).into('a')`. */
const TABLE_METHODS = new Set(['table', 'from', 'into'])
const WHERE_METHODS = new Set(['where', 'andWhere'])
const WHERE_IN_METHODS = new Set(['whereIn', 'andWhereIn'])
const INSERT_METHODS = new Set(['insert', 'upsert'])

interface ChainCall {
  /** Method name; null for the root call `tx('table')`. */
  name: string | null
  args: ESTree.CallExpression['arguments']
}

/**
 * Finds writes through the transaction in `root`. `isTx` says whether an identifier is the
 * transaction (the callback's parameter, or a helper's parameter that receives it).
 * `onUnknownTable` hears of every statement, read or write, on a table missing from `tables`.
 *
 * @example
 * ```ts
 * const writes = findWrites(callback.body, sourceCode, (id) => resolve(id) === txVariable, tables, keyCtx)
 * ```
 */
export function findWrites(
  root: ESTree.Node,
  sourceCode: SourceCode,
  isTx: (id: ESTree.Identifier) => boolean,
  tables: LintTables,
  keyCtx: KeyContext,
  onUnknownTable?: (table: string, node: ESTree.CallExpression) => void,
): WriteSite[] {
  const writes: WriteSite[] = []
  walk(root, sourceCode.visitorKeys, (node) => {
    if (node.type !== 'CallExpression' || !isChainTop(node)) return
    const chain = parseChain(node)
    if (!chain || !isTx(chain.root)) return
    const table = tableOf(chain.calls)
    const config = table === undefined ? undefined : tables[table]
    // The runtime refuses every statement on an unlisted table: a typo is worth saying at once.
    if (table !== undefined && !config) onUnknownTable?.(table, node)
    const method = chain.calls.find((c) => c.name !== null && (WRITES.has(c.name) || LOCKS.has(c.name)))?.name
    if (!method) return
    // Dynamic table names are left to the runtime; unknown ones were reported above.
    if (!table || !config) return
    const placements: Placement[] =
      'reference' in config
        ? [{ kind: 'reference' }]
        : 'shard' in config
          ? [{ kind: 'pinned', shard: config.shard }]
          : keyPlacements(chain.calls, config.shardKey, keyCtx, colocatedJoinKey(chain.calls, table, tables))
    writes.push({ table, method, node, placements })
  })
  return writes
}

/** True unless the call is the object of a further `.method` (then the chain continues above). */
function isChainTop(call: ESTree.CallExpression): boolean {
  const { parent, child } = logicalParent(call)
  return !(parent?.type === 'MemberExpression' && parent.object === child)
}

function parseChain(top: ESTree.CallExpression): { root: ESTree.Identifier; calls: ChainCall[] } | undefined {
  const calls: ChainCall[] = []
  let current: ESTree.Node = top
  for (;;) {
    current = unwrap(current)
    if (current.type === 'Identifier') return { root: current, calls: calls.reverse() }
    if (current.type !== 'CallExpression') return undefined
    const callee = unwrap(current.callee)
    if (callee.type === 'Identifier') {
      calls.push({ name: null, args: current.arguments })
      return { root: callee, calls: calls.reverse() }
    }
    if (callee.type !== 'MemberExpression') return undefined
    const name = propertyName(callee)
    if (name === undefined) return undefined
    calls.push({ name, args: current.arguments })
    current = callee.object
  }
}

function tableOf(calls: ChainCall[]): string | undefined {
  for (const c of calls) {
    if (c.name === null || TABLE_METHODS.has(c.name)) {
      const name = staticString(c.args[0])
      // `'accounts as a'` -> accounts
      if (name !== undefined) return name.trim().split(/\s+as\s+|\s+/i)[0]
    }
  }
  return undefined
}

/** Join methods whose `(table, first, second)` or `(table, first, '=', second)` arguments equate two columns. */
const JOIN_METHODS = new Set(['join', 'innerJoin', 'leftJoin', 'leftOuterJoin', 'rightJoin', 'rightOuterJoin'])

/**
 * `tx('orders').join('customers', 'customers.id', 'orders.customer_id').where('customers.id', c)`:
 * when the written table is joined on its shard key to the shard key of a co-located table
 * (`colocatedWith`, the same key space), a where on the joined key pins the written rows too.
 * Returns the joined key as written (`customers.id`), or undefined.
 */
function colocatedJoinKey(calls: ChainCall[], table: string, tables: LintTables): string | undefined {
  const own = tables[table]
  if (!own || !('shardKey' in own)) return undefined
  for (const c of calls) {
    if (c.name === null || !JOIN_METHODS.has(c.name)) continue
    const joined = staticString(c.args[0])
      ?.trim()
      .split(/\s+as\s+|\s+/i)
    const config = joined?.[0] === undefined ? undefined : tables[joined[0]]
    if (!config || !('shardKey' in config) || keySpaceOf(tables, joined![0]!) !== keySpaceOf(tables, table)) continue
    const alias = joined![joined!.length - 1]!
    const columns = c.args.length === 4 && staticString(c.args[2]) === '=' ? [c.args[1], c.args[3]] : c.args.length === 3 ? [c.args[1], c.args[2]] : []
    const names = columns.map((a) => staticString(a))
    const joinedKey = `${alias}.${config.shardKey}`
    if (names.includes(joinedKey) && names.some((n) => n !== joinedKey && isColumn(n, own.shardKey))) return joinedKey
  }
  return undefined
}

function isColumn(name: string | undefined, column: string): boolean {
  return name !== undefined && (name === column || name.endsWith(`.${column}`))
}

/**
 * Where-clause keys win; insert rows are used when there is no where on the column; last, the
 * key of a co-located table joined on the shard key columns (see {@link colocatedJoinKey}).
 */
function keyPlacements(calls: ChainCall[], column: string, ctx: KeyContext, joinedKey: string | undefined): Placement[] {
  for (const c of calls) {
    if (c.name === null) continue
    const found = WHERE_METHODS.has(c.name)
      ? fromWhere(c.args, column, ctx)
      : WHERE_IN_METHODS.has(c.name) && isColumn(staticString(c.args[0]), column)
        ? fromIn(c.args[1], column, ctx)
        : undefined
    if (found) return found
  }
  if (joinedKey !== undefined) {
    for (const c of calls) {
      const found = c.name !== null && WHERE_METHODS.has(c.name) ? fromWhere(c.args, joinedKey, ctx) : undefined
      if (found) return found.map((p) => (p.kind === 'key' ? { ...p, column } : p))
    }
  }
  for (const c of calls) {
    if (c.name !== null && INSERT_METHODS.has(c.name) && c.args[0]) return fromInsert(c.args[0], column, ctx)
  }
  return [{ kind: 'unknown', column }]
}

function fromWhere(args: ESTree.CallExpression['arguments'], column: string, ctx: KeyContext): Placement[] | undefined {
  const [a0, a1, a2] = args
  if (args.length === 1 && a0) {
    const obj = unwrap(a0)
    if (obj.type !== 'ObjectExpression') return undefined
    const value = propertyValue(obj, column)
    return value ? [{ kind: 'key', column, key: keyExpression(value, ctx) }] : undefined
  }
  if (!isColumn(staticString(a0), column)) return undefined
  if (args.length === 2 && a1 && a1.type !== 'SpreadElement') return [{ kind: 'key', column, key: keyExpression(a1, ctx) }]
  const op = staticString(a1)?.toLowerCase()
  if (args.length === 3 && a2 && a2.type !== 'SpreadElement') {
    if (op === '=') return [{ kind: 'key', column, key: keyExpression(a2, ctx) }]
    if (op === 'in') return fromIn(a2, column, ctx)
  }
  return undefined
}

function fromIn(arg: ESTree.Node | undefined, column: string, ctx: KeyContext): Placement[] | undefined {
  if (!arg || arg.type === 'SpreadElement') return undefined
  const list = unwrap(arg)
  if (list.type === 'ArrayExpression') {
    const placements: Placement[] = []
    for (const el of list.elements) {
      if (!el) continue
      placements.push(
        el.type === 'SpreadElement' ? { kind: 'set', column, key: keyExpression(el.argument, ctx) } : { kind: 'key', column, key: keyExpression(el, ctx) },
      )
    }
    return placements.length > 0 ? placements : undefined
  }
  // A subquery (`whereIn('id', tx('x').select('id'))`) or a callback: the keys aren't in the code.
  if (list.type === 'CallExpression' || list.type === 'ArrowFunctionExpression' || list.type === 'FunctionExpression') {
    return [{ kind: 'unknown', column }]
  }
  return [{ kind: 'set', column, key: keyExpression(list, ctx) }]
}

function fromInsert(arg: ESTree.Node, column: string, ctx: KeyContext): Placement[] {
  const rows = unwrap(arg)
  const one = (row: ESTree.Node): Placement => {
    const r = unwrap(row)
    if (r.type === 'ObjectExpression') {
      const value = propertyValue(r, column)
      return value ? { kind: 'key', column, key: keyExpression(value, ctx) } : { kind: 'unknown', column }
    }
    // `insert(entry)`: the row's key is `entry.<column>`, which can match a where on the same value.
    if (r.type === 'Identifier' || r.type === 'MemberExpression') {
      const base = keyExpression(r, ctx)
      return base.opaque ? { kind: 'unknown', column } : { kind: 'key', column, key: memberKey(base, column) }
    }
    return { kind: 'unknown', column }
  }
  if (rows.type === 'ArrayExpression') {
    const out = rows.elements.filter((e): e is ESTree.Expression => !!e && e.type !== 'SpreadElement').map(one)
    return out.length > 0 && out.length === rows.elements.length ? out : [...out, { kind: 'unknown', column }]
  }
  return [one(rows)]
}

/** The value of `column` in an object literal (last one wins, like JS); undefined if absent. */
function propertyValue(obj: ESTree.ObjectExpression, column: string): ESTree.Node | undefined {
  let value: ESTree.Node | undefined
  for (const p of obj.properties) {
    if (p.type === 'Property' && isColumn(propertyName(p), column)) value = p.value
  }
  return value
}
