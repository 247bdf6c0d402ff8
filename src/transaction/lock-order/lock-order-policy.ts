import type { RoutedStatement } from '../../routing/statement-router.js'
import { canAcquireWithoutWaiting } from '../../knex/client.js'
import { LockSet } from './lock-set.js'
import { catchUp, catchUpForAccess, decideStatement, joinOutOfOrder, topShard, type LockPosition, type ShardMode } from './lock-set-order.js'
import type { JoinRequest, TransactionState } from '../transaction-state.js'
import { joinInOrder, lockRows } from './acquire.js'
import { LockSetUnstableError, type LockRestart } from './errors.js'
import { runRoutedStatement } from './execute.js'
import { NoWaitSupport } from './no-wait.js'
import { resolveOrderedOptions, type OrderedOptions, type OrderedTables } from './options.js'
import { LockRestartReporter } from './report.js'
import { RestartAttempt, type CrossShardPolicy, type TransactionOutcome } from '../policy.js'
import type { ShardtxLogger } from '../../shared/logger.js'

/** What a restarted attempt hands to the next one (as `tx.carry`). */
class OrderedCarry {
  constructor(
    /** Everything the restarted attempt locked or reached for: the next attempt takes it in canonical order. */
    readonly lockSet: LockSet,
    /** Restarts so far, for the `maxLockRestarts` bound. */
    readonly restarts: number,
    /** Why each restart happened, for the error past the bound (last 10). */
    readonly history: readonly LockRestart[],
  ) {}
}

/**
 * A lock-order policy's state for one attempt (`tx.attempt`). `X` is what the policy built on
 * the lock order adds (atomic's XA transaction; nothing for `ordered`).
 */
export interface LockOrderAttempt<X = undefined> {
  options: OrderedOptions
  /**
   * Declared (and carried) rows not taken yet. They are taken lazily but in canonical order: before
   * any statement reaches a shard, everything pending below it is locked (see catchUp), so pending
   * entries only ever sit on shards ranked above every shard the attempt holds.
   */
  pending: LockSet
  /** Rows this attempt holds exclusively (or will, once the statements already issued have run). */
  held: LockSet
  /** What the next attempt would take in canonical order if this one restarts: held rows, plus every row and shard reached for. */
  learned: LockSet
  restarts: number
  history: readonly LockRestart[]
  /** Per statement, decided in beforeStatement and carried out by executeWrite. */
  plans: WeakMap<RoutedStatement, Plan>
  /** The tail of this attempt's statement queue (see executeWrite). */
  queue: Promise<unknown>
  /** The attempt as the canonical-order rule sees it; live views of participants and held rows. */
  position: LockPosition
  ctx: OrderedContext
  /** The building policy's own state for this attempt. */
  readonly extension: X
}

type Attempt = LockOrderAttempt<unknown>

/** What beforeStatement decided for one statement. */
interface Plan {
  /** Pending rows to lock before the statement (already joined and counted as held). */
  take: LockSet
  /** Per target shard, in canonical order. */
  modes: ShardMode[]
  /** The top shard when the statement was issued: what a `try` part was below. */
  above: string | undefined
}

/** The join request of sessions opened to take pending rows: in order by construction, admit has nothing to check. */
const CATCH_UP: JoinRequest = Object.freeze({ statement: undefined, table: undefined, callSite: undefined })

/**
 * The lock-order machinery shared by `ordered` and `atomic`: a transaction may write to several
 * shards, and cannot take part in a distributed deadlock, because it never waits for a lock on a
 * shard ranked below one where it holds locks (canonical order: keyrange order, or declaration
 * order for custom routers). The argument and its limits are in docs/ordered.md.
 *
 * - **Declared lock set** (`lock: { table: keys }`): taken in canonical order, keys sorted, each
 *   shard's rows before the callback's first statement on that shard or on any shard above it
 *   (reads included), so every statement finds them locked. A statement that itself locks the one
 *   declared row of its shard takes it (no separate `SELECT ... FOR UPDATE`).
 * - **Learned lock set**: a statement that needs rows it does not hold on a shard below one it
 *   holds is sent so that it fails rather than wait (MariaDB); if they were free it goes on, if
 *   they were busy the attempt rolls back and runs again with everything seen so far taken in
 *   order. Where that form is unavailable (MySQL) the statement is not sent and the attempt
 *   restarts at once. At most `maxLockRestarts` restarts, then {@link LockSetUnstableError}.
 * - Statements below the top shard that need no new row lock (held rows, inserts of new rows) are
 *   sent so that they fail rather than wait (MariaDB), and such a failure retries the attempt.
 *
 * How the shards commit is the building policy's: `ordered` one shard at a time in canonical
 * order, `atomic` with two-phase commit (policies/ordered/, policies/atomic/).
 *
 * @example
 * ```ts
 * const ordered = createLockOrderPolicy(deps, { name: 'ordered', extend: () => undefined, commit: commitInCanonicalOrder })
 * ```
 */
export function createLockOrderPolicy<X>(deps: OrderedPolicyDeps, variant: LockOrderVariant<X>): CrossShardPolicy<LockOrderAttempt<X>, OrderedOptions> {
  const noWait = new NoWaitSupport()
  const restarts = new LockRestartReporter(deps.logger, deps.warningsIntervalMs)
  const ctx: OrderedContext = { noWait, restarts }
  const typed = hooks as unknown as LockOrderHooks<X>
  return {
    name: variant.name,
    optionKeys: ['lock', 'maxLockRestarts'],

    resolveOptions: (options) => resolveOrderedOptions(options, deps),

    begin(tx, options, carried) {
      const carry = carried instanceof OrderedCarry ? carried : undefined
      const pending = options.declared.clone()
      if (carry !== undefined) pending.addAll(carry.lockSet)
      const held = new LockSet()
      return {
        options,
        pending,
        held,
        learned: pending.clone(),
        restarts: carry?.restarts ?? 0,
        history: carry?.history ?? [],
        plans: new WeakMap(),
        queue: Promise.resolve(),
        position: positionOf(tx, held, noWait),
        ctx,
        extension: variant.extend(tx),
      }
    },
    ...typed,
    async commit(tx) {
      await typed.commit(tx)
      await variant.commit(tx)
    },
    finished(tx, outcome, durationMs) {
      if (variant.finished !== undefined) variant.finished(tx, outcome, durationMs)
      else if (tx.participants.length > 1) tx.reportCrossShard(outcome, durationMs, 'debug')
    },
  }
}

/** What a policy built on the lock order adds: its name, its per-attempt state, and how the shards commit. */
export interface LockOrderVariant<X> {
  name: 'ordered' | 'atomic'
  /** The policy's own state for a new attempt (`tx.attempt.extension`). */
  extend(tx: TransactionState<LockOrderAttempt<X>>): X
  /** Commits every participating shard, after every declared row was locked in order. */
  commit(tx: TransactionState<LockOrderAttempt<X>>): Promise<void>
  /** Called once when the attempt ended; by default a multi-shard attempt is reported at debug level. */
  finished?(tx: TransactionState<LockOrderAttempt<X>>, outcome: TransactionOutcome, durationMs: number): void
}

/** The services of one lock-order policy (one per ShardedDb), reached from each attempt. */
interface OrderedContext {
  noWait: NoWaitSupport
  restarts: LockRestartReporter
}

/** What the wiring gives a lock-order policy (`ordered`, `atomic`): tables and router (to validate `lock`), and logging. */
export interface OrderedPolicyDeps extends OrderedTables {
  logger: ShardtxLogger
  /** `warnings.intervalMs`: restart logs are rate-limited per origin. */
  warningsIntervalMs: number
}

type LockOrderHooks<X> = Omit<CrossShardPolicy<LockOrderAttempt<X>, OrderedOptions>, 'name' | 'begin' | 'optionKeys' | 'resolveOptions' | 'finished'>

const hooks: LockOrderHooks<unknown> = {
  beforeStatement(tx, routed) {
    const attempt = tx.attempt
    // Inserts name rows that do not exist yet, and pinned tables have no shard key: neither can be locked by key up front.
    const keyed = routed.method !== 'insert' && routed.keysByShard.size > 0
    const keysByShard = keyed ? routed.keysByShard : undefined
    for (const shard of routed.shards) {
      if (keyed) attempt.learned.addKeys(shard, routed.table, routed.keysByShard.get(shard) ?? [])
      else attempt.learned.addShard(shard)
    }
    const rank = (shard: string) => tx.services.shardMap.rank(shard)
    const take = catchUp(attempt.pending, { table: routed.table, shards: routed.shards, keysByShard, exclusive: keyed && routed.kind === 'write' }, rank)
    takeNow(tx, attempt, take)
    const position = attempt.position
    const decision = decideStatement(position, { table: routed.table, shards: routed.shards, keysByShard })
    if (decision.action === 'restart') {
      throw tx.doom(restartOrGiveUp(tx, attempt, { table: routed.table, shard: decision.shard, above: decision.above, cause: decision.cause }))
    }
    attempt.plans.set(routed, { take, modes: decision.modes, above: topShard(position) })
  },

  /**
   * Runs the statement itself (instead of the core) for three reasons: pending rows are locked
   * first, shards below the top get the no-wait form, and statements of one attempt run one at a
   * time in the order they were issued. The last matters for callbacks that start statements
   * without awaiting them (Promise.all): the order was decided at issue time, so a statement on a
   * higher shard must not take its locks while an earlier one on a lower shard is still waiting.
   * The queue is per attempt and never waits for another transaction, so it cannot become an
   * in-process deadlock.
   */
  executeWrite(tx, routed, builder, request) {
    const attempt = tx.attempt
    const plan = attempt.plans.get(routed) ?? { take: new LockSet(), modes: routed.shards.map((): ShardMode => 'wait'), above: undefined }
    // Participation is recorded now, synchronously, so statements issued after this one see it.
    for (const shard of routed.shards) tx.join(shard, request)
    const exclusive = routed.method !== 'insert' && routed.keysByShard.size > 0 && (routed.kind === 'write' || builder._single.lock === 'forUpdate')
    const busy = (shard: string) => restartOrGiveUp(tx, attempt, { table: routed.table, shard, above: plan.above ?? shard, cause: 'busy' })
    return enqueue(attempt, async () => {
      if (!plan.take.isEmpty) await lockRows(tx, plan.take)
      return runRoutedStatement(
        tx,
        attempt.ctx.noWait,
        routed,
        builder,
        request,
        plan.modes,
        (shard) => {
          if (exclusive) attempt.held.addKeys(shard, routed.table, routed.keysByShard.get(shard) ?? [])
        },
        busy,
      )
    })
  },

  beforeAccess(tx, shards, joins) {
    const attempt = tx.attempt
    if (attempt.pending.isEmpty) return undefined
    const take = catchUpForAccess(attempt.pending, shards, (shard) => tx.services.shardMap.rank(shard), joins)
    if (take.isEmpty) return undefined
    takeNow(tx, attempt, take)
    return enqueue(attempt, () => lockRows(tx, take))
  },

  admit(tx, shard, request) {
    const attempt = tx.attempt
    // Routed statements were decided in beforeStatement; pending rows are taken in order by construction.
    if (request === CATCH_UP || request.statement !== undefined) return
    // An unrouted statement (tx.shard(name)) opening a session: its rows are unknown, only its shard is.
    attempt.learned.addShard(shard)
    const above = joinOutOfOrder(attempt.position, shard)
    if (above !== undefined) {
      throw tx.doom(restartOrGiveUp(tx, attempt, { table: request.table ?? '(raw SQL via tx.shard)', shard, above, cause: 'session' }))
    }
  },

  /** Only locks what is still pending; the variant's commit follows. */
  async commit(tx) {
    const attempt = tx.attempt
    // Declared rows the callback never reached are still locked before commit (all above the top, in order).
    if (!attempt.pending.isEmpty) {
      const take = new LockSet()
      for (const shard of attempt.pending.shardsInOrder((s) => tx.services.shardMap.rank(s))) {
        if (attempt.pending.hasKeysOn(shard)) take.addAll(attempt.pending.take(shard))
      }
      takeNow(tx, attempt, take)
      await enqueue(attempt, () => lockRows(tx, take))
    }
  },
}

/** Joins the shards of `take` in canonical order and counts its rows as held: statements issued after this see both. */
function takeNow(tx: TransactionState<Attempt>, attempt: Attempt, take: LockSet): void {
  if (take.isEmpty) return
  joinInOrder(tx, take, CATCH_UP)
  attempt.held.addAll(take)
}

/** Appends `work` to the attempt's statement queue; a failure fails `work`'s caller, not the queue. */
function enqueue<T>(attempt: Attempt, work: () => Promise<T>): Promise<T> {
  const run = attempt.queue.then(work)
  attempt.queue = run.catch(() => undefined)
  return run
}

function positionOf(tx: TransactionState<Attempt>, held: LockSet, noWait: NoWaitSupport): LockPosition {
  const runtime = tx.services
  return {
    participants: tx.participants,
    held,
    isJoined: (shard) => tx.isParticipant(shard),
    rank: (shard) => runtime.shardMap.rank(shard),
    canJoinWithoutWaiting: (shard) => runtime.health.unavailable(shard) === undefined && canAcquireWithoutWaiting(runtime.sessionPools.get(shard)!),
    canRefuseToWait: (shard) => noWait.known(shard) === true,
  }
}

/** A RestartAttempt carrying the grown lock set, or, past `maxLockRestarts`, the error that says to declare it. */
function restartOrGiveUp(tx: TransactionState<Attempt>, attempt: Attempt, what: Omit<LockRestart, 'attempt'>): Error {
  const restart: LockRestart = { attempt: attempt.restarts + 1, ...what }
  const history = [...attempt.history, restart].slice(-10)
  if (attempt.restarts >= attempt.options.maxLockRestarts) {
    return new LockSetUnstableError(tx.facts(), history, attempt.options.maxLockRestarts, tx.policyName === 'atomic' ? 'atomic' : 'ordered')
  }
  const lockSet = attempt.learned.clone()
  for (const shard of tx.participants) lockSet.addShard(shard)
  attempt.ctx.restarts.report(tx, restart, attempt.options.maxLockRestarts)
  return new RestartAttempt(
    new OrderedCarry(lockSet, attempt.restarts + 1, history),
    `${tx.policyName}: ${what.table} on shard ${what.shard} reached for after shard ${what.above}; restarting with the lock set taken in canonical order`,
  )
}
