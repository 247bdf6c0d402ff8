import type { ShardKey } from '../config/options.js'
import { UnroutableQueryError } from '../shared/errors.js'
import type { ShardMap } from './shard-map.js'
import type { StatementShape, TableRef } from './statement-shape.js'

/** Where a statement runs, and why. */
export interface StatementPlacement {
  /** The table whose placement decides the target shards. */
  anchor: TableRef
  /** Target shards in canonical order. */
  shards: string[]
  /** Key values of the anchor by shard; empty for pinned and reference anchors and scatters. */
  keysByShard: Map<string, ShardKey[]>
  /** No key restriction: a read sent to every shard. */
  scatter: boolean
  /** Only reference tables: any one shard answers (the executor prefers one the transaction is on). */
  anyShard: boolean
}

/** Routes a key of a sharded table (a co-located table routes as its key space: see config/key-spaces.ts). */
export type KeyRouter = (ref: TableRef, key: ShardKey) => string

/**
 * Decides where a statement runs and proves that every table it references has, on each target
 * shard, every row the statement could match there (the Vitess rules for a single-shard plan):
 *
 * - a reference table is on every shard;
 * - a pinned table only on its shard, so the statement must run there alone;
 * - a sharded table either has its shard key equated, by AND-ed conditions, to the anchor's key
 *   in the same key space (co-located: each pair of matching rows shares a shard, so any number
 *   of target shards works), or its key is pinned to values on the one target shard.
 *
 * Anything else is refused with an UnroutableQueryError that names the table, where it lives
 * and the fix: a statement that silently read one shard's part of a table would return less.
 *
 * @example
 * ```ts
 * const placed = placeStatement(readStatementShape(builder, lookup), 'read', shardMap, route)
 * placed.shards // ['80-']
 * ```
 */
export function placeStatement(shape: StatementShape, kind: 'read' | 'lock' | 'write', map: ShardMap, route: KeyRouter): StatementPlacement {
  const anchor = findAnchor(shape, kind)
  const placed = placeAnchor(anchor, kind, map, route)
  if (anchor !== shape.main && (placed.scatter || placed.shards.length > 1)) throw notOneShard(shape.main, anchor)
  assertTablesReachable(shape, placed, map, route)
  return placed
}

/**
 * Throws unless every table the statement references has, on each of `placed.shards`, all the
 * rows the statement could match there (see {@link placeStatement}).
 *
 * @example
 * ```ts
 * assertTablesReachable(shape, { anchor: shape.main, shards: ['-80'], keysByShard, scatter: false, anyShard: false }, map, route)
 * ```
 */
export function assertTablesReachable(shape: StatementShape, placed: StatementPlacement, map: ShardMap, route: KeyRouter): void {
  if (shape.refs.length === 1) return // only the anchor: the common single-table statement
  const classes = keyClasses(shape)
  for (const ref of shape.refs) {
    if (ref === placed.anchor || ref.placement === undefined || ref.placement.kind === 'reference') continue
    const problem = refProblem(ref, placed.anchor, placed, classes, map, route)
    if (problem) throw refused(ref, placed.anchor, placed, problem)
  }
}

/**
 * The table that decides the target: the FROM table; when that is a subquery, the table its
 * subquery reads from; when it is a reference table, the first table of the statement that is
 * sharded or pinned (reference tables are everywhere, so that one decides).
 */
function findAnchor(shape: StatementShape, kind: 'read' | 'lock' | 'write'): TableRef {
  const main = shape.main
  if (main.placement?.kind === 'sharded' || main.placement?.kind === 'pinned') return main
  if (main.placement?.kind === 'reference' && kind === 'write') return main
  const inFrom = main.derived ? firstPlaced(main.derived.refs) : undefined
  return inFrom ?? shape.refs.find(isPlaced) ?? main
}

function firstPlaced(refs: readonly TableRef[]): TableRef | undefined {
  for (const ref of refs) {
    const found = ref.derived ? firstPlaced(ref.derived.refs) : isPlaced(ref) ? ref : undefined
    if (found) return found
  }
  return undefined
}

function isPlaced(ref: TableRef): boolean {
  return ref.placement !== undefined && ref.placement.kind !== 'reference'
}

/**
 * A statement routed by a table other than its FROM table runs on that table's one shard: on
 * several, a reference table or a derived table in FROM would return its rows once per shard.
 */
function notOneShard(main: TableRef, anchor: TableRef): UnroutableQueryError {
  const placement = anchor.placement
  const key = placement?.kind === 'sharded' ? `\`${anchor.alias}.${placement.shardKey}\`` : 'its key'
  return new UnroutableQueryError(
    `Cannot route this read: it reads from ${main.placement?.kind === 'reference' ? `the reference table \`${main.table}\`` : `\`${main.table}\` (${main.found})`}, ` +
      `and the sharded table \`${anchor.table}\` (${anchor.found}) that decides its shard is not pinned to one shard, ` +
      `so running it on every shard would return \`${main.table}\`'s rows once per shard. ` +
      `To fix: pin ${key} to values on one shard, or start the query from \`${anchor.table}\` (tx('${anchor.table}').join('${main.table}', ...)).`,
    { table: anchor.table },
  )
}

function placeAnchor(anchor: TableRef, kind: 'read' | 'lock' | 'write', map: ShardMap, route: KeyRouter): StatementPlacement {
  const placement = anchor.placement
  if (placement === undefined || placement.kind === 'reference') {
    return { anchor, shards: [map.order[0]!], keysByShard: new Map(), scatter: false, anyShard: true }
  }
  if (placement.kind === 'pinned') return { anchor, shards: [placement.shard], keysByShard: new Map(), scatter: false, anyShard: false }
  if (anchor.keys === undefined) {
    if (kind !== 'read') {
      throw new UnroutableQueryError(
        `Cannot route this ${kind === 'lock' ? 'locking read' : 'write'} on \`${anchor.table}\`: its WHERE clause does not pin the shard key column \`${placement.shardKey}\`. ` +
          `Add .where({ ${placement.shardKey}: value }) or .whereIn('${placement.shardKey}', values) (top-level, no OR), ` +
          `or run it on each shard explicitly with tx.shard(name).`,
        { table: anchor.table, keyColumn: placement.shardKey },
      )
    }
    return { anchor, shards: [...map.order], keysByShard: new Map(), scatter: true, anyShard: false }
  }
  const keysByShard = new Map<string, ShardKey[]>()
  for (const key of anchor.keys) {
    const shard = route(anchor, key)
    const list = keysByShard.get(shard)
    if (list) list.push(key)
    else keysByShard.set(shard, [key])
  }
  const shards = keysByShard.size === 1 ? [...keysByShard.keys()] : map.canonicalOrder(keysByShard.keys())
  return { anchor, shards, keysByShard, scatter: false, anyShard: false }
}

/**
 * Tables whose shard keys are equated by the statement's conditions, within one key space:
 * union-find over the equalities, so `a = b` and `b = c` put a, b and c in one class.
 */
function keyClasses(shape: StatementShape): (ref: TableRef) => TableRef {
  const parent = new Map<TableRef, TableRef>()
  const find = (ref: TableRef): TableRef => {
    let root = ref
    while (parent.has(root)) root = parent.get(root)!
    return root
  }
  for (const [a, b] of shape.equalities) {
    const pa = a.placement
    const pb = b.placement
    if (pa?.kind !== 'sharded' || pb?.kind !== 'sharded' || pa.keySpace !== pb.keySpace) continue
    const ra = find(a)
    const rb = find(b)
    if (ra !== rb) parent.set(ra, rb)
  }
  return find
}

function refProblem(
  ref: TableRef,
  anchor: TableRef,
  placed: StatementPlacement,
  classOf: (ref: TableRef) => TableRef,
  map: ShardMap,
  route: KeyRouter,
): string | undefined {
  const placement = ref.placement!
  const single = placed.shards.length === 1 && !placed.scatter && !placed.anyShard ? placed.shards[0] : undefined
  if (placement.kind === 'pinned') {
    if (single === placement.shard) return undefined
    return `lives only on shard ${placement.shard}`
  }
  if (placement.kind !== 'sharded') return undefined
  if (anchor.placement?.kind === 'sharded' && classOf(ref) === classOf(anchor)) return undefined
  if (ref.keys !== undefined) {
    const shards = map.canonicalOrder(ref.keys.map((key) => route(ref, key)))
    if (shards.length === 0 || (single !== undefined && shards.length === 1 && shards[0] === single)) return undefined
    return `is sharded by \`${placement.shardKey}\`, and the values this statement pins it to live on ${list(shards)}`
  }
  return `is sharded by \`${placement.shardKey}\` and this statement does not pin \`${ref.alias}.${placement.shardKey}\`, so its rows may live on any shard`
}

function refused(ref: TableRef, anchor: TableRef, placed: StatementPlacement, problem: string): UnroutableQueryError {
  const where = placed.anyShard
    ? 'on one shard (it reads only reference tables there)'
    : placed.scatter
      ? `on every shard (no \`${anchor.table}\` key is pinned)`
      : `on ${list(placed.shards)}, where ${placed.keysByShard.size > 0 ? `the pinned \`${anchor.table}\` keys live` : `\`${anchor.table}\` lives`}`
  return new UnroutableQueryError(
    `Cannot route this statement: \`${ref.table}\` (${ref.found}) ${problem}, but the statement runs ${where}. ` +
      `Each shard sees only its own rows, so it could silently miss rows of \`${ref.table}\` that live elsewhere. ${fixFor(ref, anchor)}`,
    { table: ref.table },
  )
}

function fixFor(ref: TableRef, anchor: TableRef): string {
  const p = ref.placement!
  const a = anchor.placement
  const alone = `read \`${ref.table}\` in a statement of its own and combine the results in code`
  if (p.kind === 'pinned') {
    return `To fix: ${alone} (shardtx routes it to ${p.shard}), or declare it { reference: true } if it is a small table copied to every shard.`
  }
  if (p.kind !== 'sharded') return `To fix: ${alone}.`
  const pin = `pin \`${ref.alias}.${p.shardKey}\` to values on the statement's shard`
  // A union, a WITH or a subquery in FROM cannot refer to the outer statement's rows: only a pin helps there.
  const correlatable = ref.block.parent !== undefined || ref.block.refs.includes(anchor)
  if (!correlatable || a?.kind !== 'sharded') return `To fix: ${pin}, or ${alone}.`
  if (a.keySpace === p.keySpace) {
    return `To fix: equate the co-located key columns (e.g. ${ref.alias}.${p.shardKey} = ${anchor.alias}.${a.shardKey}, in a join's ON or the subquery's WHERE, with no OR), which keeps each pair of rows on one shard; or ${pin}; or ${alone}.`
  }
  return (
    `To fix: if \`${ref.table}.${p.shardKey}\` holds \`${a.keySpace}\` key values, declare tables.${ref.table} = { shardKey: '${p.shardKey}', colocatedWith: '${a.keySpace}' } ` +
    `and equate the key columns; or ${pin}; or ${alone}.`
  )
}

function list(shards: readonly string[]): string {
  return shards.length === 1 ? `shard ${shards[0]}` : `shards ${shards.join(', ')}`
}
