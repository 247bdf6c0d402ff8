import type { ShardKey } from '../../config/options.js'
import { LockSet } from './lock-set.js'

/**
 * The rule that makes `ordered` transactions unable to form a cross-shard cycle of lock waits:
 * **a transaction never waits for a lock on a shard ranked below a shard where it already holds
 * locks.** (The argument is in docs/ordered.md.) This module decides, per statement and before
 * anything is sent, how a statement can keep that rule. Pure logic, unit-tested on its own.
 */

/** A locking or writing statement as the rule sees it. */
export interface OrderedStatement {
  table: string
  /** Target shards in canonical order. */
  shards: readonly string[]
  /**
   * Rows by shard when they can be named up front: updates, deletes and locking reads of a
   * sharded table. Undefined for inserts (the rows do not exist yet) and for tables pinned to one
   * shard (no shard key names their rows).
   */
  keysByShard: ReadonlyMap<string, readonly ShardKey[]> | undefined
}

/** Where the transaction stands when the statement is issued. */
export interface LockPosition {
  /** Shards the transaction participates in (holds locks or a session on), in any order. */
  participants: readonly string[]
  /** Rows the transaction already holds exclusively (declared rows taken so far, and rows it wrote). */
  held: LockSet
  /** Whether the transaction already has a session (a connection inside BEGIN) on `shard`. */
  isJoined(shard: string): boolean
  rank(shard: string): number
  /**
   * Whether a session on `shard` can be opened now without waiting for a connection that another
   * transaction holds: the pool has a free connection, or room to open one. Defaults to false.
   */
  canJoinWithoutWaiting?(shard: string): boolean
  /**
   * Whether a statement on `shard` can be sent so that it fails at once instead of waiting for a
   * lock (MariaDB's per-statement lock wait timeout), as far as is known before sending. Defaults to false.
   */
  canRefuseToWait?(shard: string): boolean
}

/**
 * - `wait`: the shard is at or above every shard the transaction holds: waiting there is allowed.
 * - `no-wait`: the shard is below one it holds, and the statement is expected to need no new lock
 *   (its rows are held, or it inserts new rows). It must be sent so that it fails at once rather
 *   than wait, should that expectation be wrong; such a failure is retried like a deadlock.
 * - `try`: the shard is below one it holds and the statement needs rows the transaction does not
 *   hold. It is sent so that it fails at once rather than wait: if the rows are free it simply
 *   takes them (no wait, so no wait-for edge, so no cycle); if they are busy the attempt restarts
 *   with those rows in its lock set, taken in canonical order.
 */
export type ShardMode = 'wait' | 'no-wait' | 'try'

export type StatementDecision =
  | { action: 'send'; modes: ShardMode[] }
  | {
      action: 'restart'
      /** The shard the statement could not reach in order. */
      shard: string
      /** The shard ranked highest among those the transaction held at that moment. */
      above: string
      /**
       * `rows`: rows on `shard` not in the held set, and no way to try them without waiting;
       * `session`: no session on `shard` yet, and none to be had without waiting.
       */
      cause: 'rows' | 'session'
    }

/**
 * Decides how a statement keeps the canonical order: send it (saying, per shard, whether it may
 * wait), or restart the attempt so that the next one acquires what the statement needs up front.
 *
 * The shards of one statement are visited in canonical order, as the statement runs them, so a
 * multi-shard statement on unheld rows is in order as long as it starts at or above the top.
 *
 * @example
 * ```ts
 * // holds -80 and 80- (ranks 0 and 1); row 1 on -80 is held, row 3 is not
 * decideStatement(position, { table: 'accounts', shards: ['-80'], keysByShard: new Map([['-80', [1]]]) })
 * // -> { action: 'send', modes: ['no-wait'] }
 * decideStatement(position, { table: 'accounts', shards: ['-80'], keysByShard: new Map([['-80', [3]]]) })
 * // -> { action: 'send', modes: ['try'] } on MariaDB (canRefuseToWait), else
 * // -> { action: 'restart', shard: '-80', above: '80-', cause: 'rows' }
 * ```
 */
export function decideStatement(position: LockPosition, statement: OrderedStatement): StatementDecision {
  let top = topShard(position)
  const modes: ShardMode[] = []
  for (const shard of statement.shards) {
    if (top === undefined || position.rank(shard) >= position.rank(top)) {
      modes.push('wait')
      top = shard
      continue
    }
    const above = top
    // Opening a session takes a pooled connection: below the top, only one that is free right now.
    if (!position.isJoined(shard) && position.canJoinWithoutWaiting?.(shard) !== true) return { action: 'restart', shard, above, cause: 'session' }
    const keys = statement.keysByShard?.get(shard)
    // Rows we hold exclusively cannot make us wait; anything else on a lower shard might.
    if (keys === undefined || position.held.covers(shard, statement.table, keys)) {
      modes.push('no-wait')
      continue
    }
    if (position.canRefuseToWait?.(shard) !== true) return { action: 'restart', shard, above, cause: 'rows' }
    modes.push('try')
  }
  return { action: 'send', modes }
}

/** A statement as the lazy acquisition of a lock set sees it. */
export interface CatchUpStatement {
  table: string
  /** Target shards in canonical order. */
  shards: readonly string[]
  /** Rows by shard, when the statement names them (see {@link OrderedStatement.keysByShard}). */
  keysByShard: ReadonlyMap<string, readonly ShardKey[]> | undefined
  /** True when the statement locks its rows exclusively (update, delete, `forUpdate`). */
  exclusive: boolean
}

/**
 * A declared (or carried) lock set is taken lazily, and still in canonical order: before a
 * statement reaches a shard, every entry of the set on a shard ranked below it is taken, and so
 * are the entries on the statement's own highest shard, unless the statement itself locks exactly
 * that row (then a separate `SELECT ... FOR UPDATE` would only repeat it). Returns what to take
 * first (removed from `pending`); a folded row is removed from `pending` without being in it.
 *
 * Taking entries in ascending order, each above everything already held, is the canonical order;
 * afterwards `pending` holds entries on shards ranked above every shard the transaction holds, so
 * a statement below the top never meets a pending row (it was taken on the way up).
 *
 * @example
 * ```ts
 * const pending = new LockSet().addKeys('-80', 'accounts', [1]).addKeys('80-', 'accounts', [4])
 * catchUp(pending, { table: 'accounts', shards: ['80-'], keysByShard: new Map([['80-', [4]]]), exclusive: true }, rank)
 * // -> {-80: accounts [1]}: 80-'s row is the statement's own; pending is now empty
 * ```
 */
export function catchUp(pending: LockSet, statement: CatchUpStatement, rank: (shard: string) => number): LockSet {
  const highest = statement.shards[statement.shards.length - 1]
  // The common case (nothing declared, or all taken): no allocation per statement.
  if (pending.isEmpty || highest === undefined) return NOTHING_TO_TAKE
  const take = new LockSet()
  for (const shard of pending.shardsInOrder(rank)) {
    if (rank(shard) < rank(highest)) take.addAll(pending.take(shard))
  }
  if (!pending.hasShard(highest)) return take
  const folded = foldsInto(pending, highest, statement)
  const own = pending.take(highest)
  if (!folded) take.addAll(own)
  return take
}

/** What catchUp returns when there is nothing to take; never mutated (callers only read a take). */
const NOTHING_TO_TAKE = new LockSet()

/** The statement locks exactly the one pending row of its highest shard (or the shard has only a session entry). */
function foldsInto(pending: LockSet, shard: string, statement: CatchUpStatement): boolean {
  const tables = pending.tablesOn(shard)
  if (tables.length === 0) return true
  if (!statement.exclusive || tables.length !== 1 || tables[0] !== statement.table) return false
  const keys = pending.keysInOrder(shard, statement.table)
  const locked = statement.keysByShard?.get(shard)
  return keys.length === 1 && locked !== undefined && new LockSet().addKeys(shard, statement.table, locked).covers(shard, statement.table, keys)
}

/**
 * For a read, or raw SQL, reaching `shards`: the pending entries it must find taken. A statement
 * that joins its shards (raw SQL that may write) steps up to the highest of them, so everything
 * pending up to there is taken first, in order. A read needs the pending rows of the shards it
 * reads locked (it must see them as the transaction's own), so everything pending up to the
 * highest such shard; a read of shards with no pending rows needs nothing.
 *
 * @example
 * ```ts
 * catchUpForAccess(pending, ['80-'], rank, false) // everything pending on -80 and 80-, in that order
 * ```
 */
export function catchUpForAccess(pending: LockSet, shards: readonly string[], rank: (shard: string) => number, joins: boolean): LockSet {
  const take = new LockSet()
  let highest: string | undefined
  for (const shard of shards) {
    if ((joins || pending.hasKeysOn(shard)) && (highest === undefined || rank(shard) > rank(highest))) highest = shard
  }
  if (highest === undefined || pending.isEmpty) return take
  for (const shard of pending.shardsInOrder(rank)) if (rank(shard) <= rank(highest)) take.addAll(pending.take(shard))
  return take
}

/**
 * For a statement that is not routed (`tx.shard(name).raw(...)`) and would open a session on
 * `shard`: joining a shard below the top breaks the order, so the attempt restarts with that
 * shard's session opened up front. Returns the shard it would have to be above, or undefined.
 *
 * @example
 * ```ts
 * joinOutOfOrder({ ...position, participants: ['80-'] }, '-80') // '80-': restart
 * joinOutOfOrder({ ...position, participants: ['-80'] }, '80-') // undefined: in order
 * ```
 */
export function joinOutOfOrder(position: LockPosition, shard: string): string | undefined {
  const top = topShard(position)
  return top !== undefined && position.rank(shard) < position.rank(top) ? top : undefined
}

/**
 * The participant ranked highest in canonical order, or undefined when there is none.
 *
 * @example
 * ```ts
 * topShard({ participants: ['80-', '-80'], rank: (s) => ['-80', '80-'].indexOf(s) }) // '80-'
 * ```
 */
export function topShard(position: Pick<LockPosition, 'participants' | 'rank'>): string | undefined {
  let top: string | undefined
  for (const shard of position.participants) if (top === undefined || position.rank(shard) > position.rank(top)) top = shard
  return top
}
