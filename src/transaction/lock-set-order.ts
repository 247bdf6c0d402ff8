import type { ShardKey } from '../config/options.js'
import type { LockSet } from './lock-set.js'

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
  /** Rows the transaction already holds exclusively (its up-front lock set, and rows it wrote). */
  held: LockSet
  /** Whether the transaction already has a session (a connection inside BEGIN) on `shard`. */
  isJoined(shard: string): boolean
  rank(shard: string): number
}

/**
 * - `wait`: the shard is at or above every shard the transaction holds: waiting there is allowed.
 * - `no-wait`: the shard is below one it holds, and the statement is expected to need no new lock
 *   (its rows are held, or it inserts new rows). It must be sent so that it fails at once rather
 *   than wait, should that expectation be wrong.
 */
export type ShardMode = 'wait' | 'no-wait'

export type StatementDecision =
  | { action: 'send'; modes: ShardMode[] }
  | {
      action: 'restart'
      /** The shard the statement could not reach in order. */
      shard: string
      /** The shard ranked highest among those the transaction held at that moment. */
      above: string
      /** `rows`: rows on `shard` not in the held set; `session`: no session on `shard` yet. */
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
    const keys = statement.keysByShard?.get(shard)
    // Rows we hold exclusively cannot make us wait; anything else on a lower shard might.
    if (keys !== undefined && !position.held.covers(shard, statement.table, keys)) return { action: 'restart', shard, above, cause: 'rows' }
    // Opening a session takes a pooled connection: an in-process wait that must follow the order too.
    if (!position.isJoined(shard)) return { action: 'restart', shard, above, cause: 'session' }
    modes.push('no-wait')
  }
  return { action: 'send', modes }
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
