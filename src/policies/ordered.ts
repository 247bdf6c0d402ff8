import type { RoutedStatement } from '../routing/statement-router.js'
import { commitInCanonicalOrder } from '../transaction/commit-in-order.js'
import { LockSet } from '../transaction/lock-set.js'
import { decideStatement, joinOutOfOrder, type LockPosition, type ShardMode } from '../transaction/lock-set-order.js'
import type { TransactionState } from '../transaction/transaction-state.js'
import { acquireLockSet } from './ordered-acquire.js'
import { LockSetUnstableError, type LockRestart } from './ordered-errors.js'
import { runRoutedStatement } from './ordered-execute.js'
import { orderedOptionsOf, type OrderedOptions } from './ordered-options.js'
import { reportLockRestart } from './ordered-report.js'
import { RestartAttempt, type CrossShardPolicy } from './policy.js'

/** What a restarted attempt hands to the next one (as `tx.carry`). */
class OrderedCarry {
  constructor(
    /** Everything the restarted attempt locked or reached for: the next attempt takes it up front. */
    readonly lockSet: LockSet,
    /** Restarts so far, for the `maxLockRestarts` bound. */
    readonly restarts: number,
    /** Why each restart happened, for the error past the bound (last 10). */
    readonly history: readonly LockRestart[],
  ) {}
}

/** The policy's state for one attempt. */
interface Attempt {
  options: OrderedOptions
  /** Rows this attempt holds exclusively: its up-front set, then rows it updated, deleted or locked FOR UPDATE. */
  held: LockSet
  /** What the next attempt would take up front if this one restarts: held rows, plus every row and shard reached for. */
  learned: LockSet
  restarts: number
  history: readonly LockRestart[]
  /** True while begin() takes the up-front set: those joins are in order by construction. */
  acquiring: boolean
  /** Per-shard modes decided in beforeStatement, picked up by executeWrite for the same statement. */
  plans: WeakMap<RoutedStatement, ShardMode[]>
  /** The tail of this attempt's statement queue (see executeWrite). */
  queue: Promise<unknown>
}

const attempts = new WeakMap<TransactionState, Attempt>()

/**
 * `ordered`: a transaction may write to several shards, and cannot take part in a distributed
 * deadlock, because it never waits for a lock on a shard ranked below one where it holds locks
 * (canonical order: keyrange order, or declaration order for custom routers). The argument and
 * its limits are in docs/ordered.md.
 *
 * - **Declared lock set** (`lock: { table: keys }`): locked before the callback, shard by shard in
 *   canonical order, keys sorted.
 * - **Learned lock set**: a statement that would lock rows on a shard below one already held is
 *   not sent; the attempt rolls back and runs again with everything seen so far locked up front.
 *   At most `maxLockRestarts` times, then {@link LockSetUnstableError}.
 * - Statements below the top shard that need no new row lock (held rows, inserts of new rows) are
 *   sent so that they fail rather than wait (MariaDB), and such a failure retries the attempt.
 * - Commits one shard at a time in canonical order, like `warn` (PartialCommitError on a partial commit).
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   await tx('accounts').where({ id: from }).decrement('balance', 10)
 *   await tx('accounts').where({ id: to }).increment('balance', 10)
 * }, { crossShard: 'ordered', lock: { accounts: [from, to] } }) // or without `lock`: learned
 * ```
 */
export const orderedPolicy: CrossShardPolicy = {
  name: 'ordered',

  async begin(tx) {
    const options = orderedOptionsOf(tx.options, tx.runtime)
    const carry = tx.carry instanceof OrderedCarry ? tx.carry : undefined
    const upFront = options.declared.clone()
    if (carry !== undefined) upFront.addAll(carry.lockSet)
    const attempt: Attempt = {
      options,
      held: new LockSet(),
      learned: upFront.clone(),
      restarts: carry?.restarts ?? 0,
      history: carry?.history ?? [],
      acquiring: true,
      plans: new WeakMap(),
      queue: Promise.resolve(),
    }
    attempts.set(tx, attempt)
    try {
      await acquireLockSet(tx, upFront, attempt.held)
    } finally {
      attempt.acquiring = false
    }
  },

  beforeStatement(tx, routed) {
    const attempt = attemptOf(tx)
    // Inserts name rows that do not exist yet, and pinned tables have no shard key: neither can be locked by key up front.
    const keyed = routed.method !== 'insert' && routed.keysByShard.size > 0
    for (const shard of routed.shards) {
      if (keyed) attempt.learned.addKeys(shard, routed.table, routed.keysByShard.get(shard) ?? [])
      else attempt.learned.addShard(shard)
    }
    const decision = decideStatement(positionOf(tx, attempt), {
      table: routed.table,
      shards: routed.shards,
      keysByShard: keyed ? routed.keysByShard : undefined,
    })
    if (decision.action === 'restart') {
      throw tx.doom(restartOrGiveUp(tx, attempt, { table: routed.table, shard: decision.shard, above: decision.above, cause: decision.cause }))
    }
    attempt.plans.set(routed, decision.modes)
  },

  /**
   * Runs the statement itself (instead of the core) for two reasons: shards below the top get the
   * no-wait form, and statements of one attempt run one at a time in the order they were issued.
   * The second matters for callbacks that start statements without awaiting them (Promise.all):
   * the order was decided at issue time, so a statement on a higher shard must not take its locks
   * while an earlier one on a lower shard is still waiting. The queue is per attempt and never
   * waits for another transaction, so it cannot become an in-process deadlock.
   */
  executeWrite(tx, routed, builder, request) {
    const attempt = attemptOf(tx)
    const modes = attempt.plans.get(routed) ?? routed.shards.map((): ShardMode => 'wait')
    // Participation is recorded now, synchronously, so statements issued after this one see it.
    for (const shard of routed.shards) tx.join(shard, request)
    const exclusive = routed.method !== 'insert' && routed.keysByShard.size > 0 && (routed.kind === 'write' || builder._single.lock === 'forUpdate')
    const run = attempt.queue.then(() =>
      runRoutedStatement(tx, routed, builder, request, modes, (shard) => {
        if (exclusive) attempt.held.addKeys(shard, routed.table, routed.keysByShard.get(shard) ?? [])
      }),
    )
    attempt.queue = run.catch(() => undefined)
    return run
  },

  admit(tx, shard, request) {
    const attempt = attempts.get(tx)
    // Routed statements were decided in beforeStatement; begin() joins in order by construction.
    if (attempt === undefined || attempt.acquiring || request.statement !== undefined) return
    // An unrouted statement (tx.shard(name)) opening a session: its rows are unknown, only its shard is.
    attempt.learned.addShard(shard)
    const above = joinOutOfOrder(positionOf(tx, attempt), shard)
    if (above !== undefined) {
      throw tx.doom(restartOrGiveUp(tx, attempt, { table: request.table ?? '(raw SQL via tx.shard)', shard, above, cause: 'session' }))
    }
  },

  commit: commitInCanonicalOrder,

  finished(tx, outcome, durationMs) {
    if (tx.participants.length > 1) tx.runtime.reportCrossShard(tx, outcome, durationMs, 'debug')
  },
}

function attemptOf(tx: TransactionState): Attempt {
  const attempt = attempts.get(tx)
  if (attempt === undefined) throw new Error(`shardtx internal error: ordered transaction ${tx.id} ran a statement before begin()`)
  return attempt
}

function positionOf(tx: TransactionState, attempt: Attempt): LockPosition {
  return {
    participants: tx.participants,
    held: attempt.held,
    isJoined: (shard) => tx.isParticipant(shard),
    rank: (shard) => tx.runtime.shardMap.rank(shard),
  }
}

/** A RestartAttempt carrying the grown lock set, or, past `maxLockRestarts`, the error that says to declare it. */
function restartOrGiveUp(tx: TransactionState, attempt: Attempt, what: Omit<LockRestart, 'attempt'>): Error {
  const restart: LockRestart = { attempt: attempt.restarts + 1, ...what }
  const history = [...attempt.history, restart].slice(-10)
  if (attempt.restarts >= attempt.options.maxLockRestarts) {
    return new LockSetUnstableError(tx.facts(), history, attempt.options.maxLockRestarts)
  }
  const lockSet = attempt.learned.clone()
  for (const shard of tx.participants) lockSet.addShard(shard)
  reportLockRestart(tx, restart, attempt.options.maxLockRestarts)
  return new RestartAttempt(
    new OrderedCarry(lockSet, attempt.restarts + 1, history),
    `ordered: ${what.table} on shard ${what.shard} reached for after shard ${what.above}; restarting with the lock set taken up front`,
  )
}
