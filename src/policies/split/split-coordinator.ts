import { Mutex } from 'async-mutex'
import type { CodeLocation } from '../../shared/errors.js'
import type { ResolvedSplitOptions } from '../../config/split-options.js'
import type { KnexClientLike } from '../../knex/client.js'
import type { BackoffSettings } from '../../shared/backoff.js'
import type { ShardtxLogger } from '../../shared/logger.js'
import { ShardSession } from '../../transaction/shard-session.js'
import { decodeBindings } from './binding-codec.js'
import { SplitPlanFailedError, SplitPlanPendingError } from './errors.js'
import type { SplitRecoveryEvent } from './events.js'
import type { RecoveryTrigger } from '../../transaction/recovery-scheduler.js'
import { errnoOf } from './failure-kind.js'
import { AppliedMarks } from './applied-marks.js'
import { PlanInserts } from './plan-inserts.js'
import { IntentLog, type StoredPlan } from './intent-log.js'
import { splitPhase } from './phase-hook.js'
import { digestOf, serializeParts, type PlanPart, type SplitPlan } from './plan.js'
import { withoutValues } from './part-applier.js'
import { runPlan, type CompensationHook, type PlanRunContext } from './plan-runner.js'
import { sessionQuery } from '../../transaction/sql.js'

/**
 * What one split recovery pass did (the split part of `db.recover()`'s report).
 *
 * @example
 * ```ts
 * const report = await db.recover()
 * // { recovered: 3, failed: 0, stillPending: 0, pruned: 120, durationMs: 41, atomic: { ... } }
 * ```
 */
export interface SplitRecoveryReport {
  /** Pending plans this pass finished: every part applied (exactly once), plan marked applied. */
  recovered: number
  /** Pending plans this pass found failing for good (marked failed, compensation hook run). */
  failed: number
  /** Plans left pending: a shard still unreachable, or the plan is being applied by its own transaction in this process. */
  stillPending: number
  /** Finished plans (and their applied markers) deleted because they finished more than `split.retainFinishedMs` ago. */
  pruned: number
  durationMs: number
}

/**
 * Options of `db.recover()`.
 *
 * @example
 * ```ts
 * await db.recover({ olderThanMs: 30_000 }) // leave plans younger than 30 s to their own process
 * ```
 */
export interface RecoverOptions {
  /**
   * Only finish plans at least this old (by the coordinator's clock). Plans younger than this are
   * probably still being applied by the process that accepted them; finishing them too is safe
   * (the applied markers see to that) but wastes lock waits.
   * @default 0
   */
  olderThanMs?: number
}

/** Pending plans read per query during recovery; memory per pass is bounded by this, not by the backlog. */
const RECOVERY_PAGE = 100
/** Finished plans deleted per statement, and statements per pass. */
const PRUNE_BATCH = 500
const PRUNE_MAX_BATCHES = 100

/**
 * The split machinery of one ShardedDb: accepts plans (intent log first, then parts), and
 * recovers plans whose process died or whose shard was unreachable. One per ShardedDb (built by
 * sharded-db.ts), so two ShardedDb instances never share state.
 *
 * @example
 * ```ts
 * const coordinator = new SplitCoordinator({ poolOf, sessionPoolOf, shardOrder: shardMap.order, logger, backoff: retry, logKeyValues: false }, config.split)
 * await coordinator.recover({ olderThanMs: 0, trigger: 'call' })
 * ```
 */
/** What the wiring gives a {@link SplitCoordinator}. */
export interface SplitCoordinatorDeps {
  /** The plain (autocommit) pool of each shard: the intent log's statements. */
  poolOf(shard: string): KnexClientLike
  /** The session pool of each shard (autocommit off): each part's own transaction, with no BEGIN. */
  sessionPoolOf(shard: string): KnexClientLike
  /** Shard names in canonical order; the first is the coordinator shard that holds the intent log. */
  shardOrder: readonly string[]
  logger: ShardtxLogger
  /** Backoff between attempts of a part (`retry.baseDelayMs`, `retry.maxDelayMs`). */
  backoff: BackoffSettings
  /** `warnings.logKeyValues`. */
  logKeyValues: boolean
}

export class SplitCoordinator {
  readonly log: IntentLog
  readonly settings: ResolvedSplitOptions
  readonly #deps: SplitCoordinatorDeps
  readonly #ctx: PlanRunContext
  /** Plans this instance is applying right now; its own recovery leaves them alone. Bounded by concurrency. */
  readonly #inFlight = new Set<string>()
  /** One recovery pass at a time per instance (start, interval and explicit calls queue up). */
  readonly #recovery = new Mutex()
  readonly #marks: AppliedMarks
  readonly #inserts: PlanInserts

  constructor(deps: SplitCoordinatorDeps, settings: ResolvedSplitOptions) {
    this.#deps = deps
    this.settings = settings
    this.log = new IntentLog((shard) => deps.poolOf(shard), deps.shardOrder)
    const marks = (this.#marks = new AppliedMarks(this.log))
    this.#inserts = new PlanInserts(this.log)
    this.#ctx = {
      markApplied: (planId) => marks.mark(planId),
      log: this.log,
      sessionPoolOf: (shard) => deps.sessionPoolOf(shard),
      attempts: settings.partAttempts,
      backoff: deps.backoff,
      logger: deps.logger,
      logKeyValues: deps.logKeyValues,
    }
  }

  /**
   * Stores `plan` in the intent log, then applies its parts. Once the plan row is stored the
   * plan is accepted: this never throws an error that would make the caller's retry loop run
   * the callback again (that would create a second plan).
   */
  async submit(plan: SplitPlan, options: { compensate: CompensationHook | undefined; origin: CodeLocation | undefined }): Promise<void> {
    const serialized = serializeParts(plan.parts)
    const digest = digestOf(serialized)
    this.#inFlight.add(plan.planId)
    try {
      await this.log.ensurePlansTable()
      const stored = await this.#store(plan, serialized, digest)
      if (stored === 'duplicate') return await this.#replay(plan, digest, options)
      splitPhase('after-intent', { planId: plan.planId, transactionId: plan.transactionId, recovering: false })
      await runPlan(this.#ctx, plan, { recovering: false, compensate: options.compensate ?? this.settings.compensate, origin: options.origin })
    } finally {
      this.#inFlight.delete(plan.planId)
    }
  }

  /**
   * A split transaction whose writes all landed on one shard: one ordinary transaction is
   * already atomic, so it skips the intent log (no idempotency key was asked for).
   */
  async runSinglePart(part: PlanPart, transactionId: string): Promise<void> {
    const session = await ShardSession.open(part.shard, this.#deps.sessionPoolOf(part.shard), { implicitBegin: true })
    const detail = { planId: undefined, transactionId, partNo: 0, shard: part.shard, connectionId: session.connectionId, recovering: false }
    try {
      splitPhase('in-part', detail)
      for (const s of part.statements) await sessionQuery(session, s.sql, decodeBindings(s.bindings))
      await session.commit()
    } catch (err) {
      if (!this.#ctx.logKeyValues) withoutValues(err)
      if (err !== null && typeof err === 'object' && (err as { shard?: string }).shard === undefined) {
        Object.assign(err, { shard: part.shard, transactionId })
      }
      throw err
    } finally {
      await session.rollback()
      splitPhase('part-ended', detail)
    }
  }

  /**
   * Finishes every pending plan (older than `olderThanMs`) that this instance is not applying
   * itself, then prunes finished plans. Safe to run in several processes at once: each part's
   * applied marker lets only one of them apply it.
   */
  recover(options: { olderThanMs: number; trigger: RecoveryTrigger }): Promise<SplitRecoveryReport> {
    return this.#recovery.runExclusive(() => this.#recoverPass(options))
  }

  /** Writes the applied marks still queued; `db.destroy()` calls it before closing the pools. */
  drain(): Promise<void> {
    return this.#marks.drain()
  }

  async #recoverPass(options: { olderThanMs: number; trigger: RecoveryTrigger }): Promise<SplitRecoveryReport> {
    const started = performance.now()
    // Plans this instance finished but has not marked yet would otherwise look pending.
    await this.#marks.drain()
    const report: SplitRecoveryReport = { recovered: 0, failed: 0, stillPending: 0, pruned: 0, durationMs: 0 }
    // A shard that could not be reached in this pass is not tried again for every later plan:
    // with thousands of pending plans that would cost thousands of connect timeouts.
    const unreachable = new Set<string>()
    // Only plans that existed when the pass began (ids are time-prefixed): under live traffic a
    // pass that also chased new plans might never end.
    const beforeId = (Date.now() + 1).toString(16).padStart(12, '0')
    let afterId = ''
    for (;;) {
      const page = await this.log.pending({ afterId, beforeId, olderThanMs: options.olderThanMs, limit: RECOVERY_PAGE })
      if (page.unreadable.length > 0) {
        report.stillPending += page.unreadable.length
        this.#deps.logger.error(
          { event: 'shardtx.split_plan_unreadable', planIds: page.unreadable },
          `shardtx: split plans ${page.unreadable.join(', ')} cannot be read by this version of shardtx; they stay pending for a version that can`,
        )
      }
      for (const plan of page.plans) {
        if (this.#inFlight.has(plan.planId) || plan.parts.some((p) => unreachable.has(p.shard))) {
          report.stillPending++
          continue
        }
        const outcome = await this.#finish(plan)
        if (outcome === 'applied') report.recovered++
        else if (outcome === 'failed') report.failed++
        else {
          report.stillPending++
          if (outcome.unreachable !== undefined) unreachable.add(outcome.unreachable)
        }
      }
      if (page.lastId === undefined || page.plans.length + page.unreadable.length < RECOVERY_PAGE) break
      afterId = page.lastId
    }
    report.pruned = await this.log.prune({ retainMs: this.settings.retainFinishedMs, batchSize: PRUNE_BATCH, maxBatches: PRUNE_MAX_BATCHES })
    report.durationMs = Math.round(performance.now() - started)
    const event: SplitRecoveryEvent = { event: 'shardtx.split_recovery', trigger: options.trigger, ...report }
    // Quiet unless something needs attention: pruning finished plans is routine.
    const level = report.failed + report.stillPending > 0 ? 'warn' : report.recovered > 0 ? 'info' : 'debug'
    this.#deps.logger[level](
      event,
      `shardtx: split recovery (${options.trigger}): ${report.recovered} recovered, ${report.failed} failed, ${report.stillPending} still pending, ${report.pruned} pruned`,
    )
    return report
  }

  async #finish(plan: StoredPlan): Promise<'applied' | 'failed' | { unreachable: string | undefined }> {
    try {
      await runPlan(this.#ctx, plan, { recovering: true, compensate: this.settings.compensate })
      return 'applied'
    } catch (err) {
      if (err instanceof SplitPlanFailedError) return 'failed'
      const pending = err as SplitPlanPendingError
      // No server error number: the shard itself was not reachable (as opposed to, say, a deadlock).
      const unreachable = err instanceof SplitPlanPendingError && errnoOf(err.cause) === undefined ? pending.pendingShards[0] : undefined
      return { unreachable }
    }
  }

  /**
   * Inserts the plan row. When the connection broke mid-insert the row may or may not exist; it
   * is looked up, because guessing wrong either way is bad: "not stored" would let the caller
   * retry into a second plan, "stored" would report success for nothing.
   */
  async #store(plan: SplitPlan, serialized: string, digest: string): Promise<'inserted' | 'duplicate'> {
    try {
      return await this.#inserts.insert({ plan, serialized, digest })
    } catch (err) {
      if (!mayHaveReachedServer(err)) throw err // the server refused it, or it was never sent: nothing stored
      const found = await this.log.byId(plan.planId).then(
        (p) => p !== undefined,
        () => undefined,
      )
      if (found === false) throw err
      if (found === undefined) {
        throw new SplitPlanPendingError(
          { planId: plan.planId, transactionId: plan.transactionId, appliedShards: [], pendingShards: plan.parts.map((p) => p.shard), acceptance: 'unknown' },
          err,
        )
      }
      return 'inserted'
    }
  }

  /**
   * A plan with this idempotency key already exists: report its outcome instead of applying the
   * new one, finishing it first if it is still pending. The new callback's writes are dropped.
   */
  async #replay(plan: SplitPlan, digest: string, options: { compensate: CompensationHook | undefined; origin: CodeLocation | undefined }): Promise<void> {
    const original = await this.log.byIdempotencyKey(plan.idempotencyKeyHash!)
    if (original === undefined) {
      // Pruned between our insert and this read: the key's window has just closed. Store ours.
      if ((await this.log.insert({ plan, serialized: serializeParts(plan.parts), digest })) === 'inserted') {
        return runPlan(this.#ctx, plan, { recovering: false, compensate: options.compensate ?? this.settings.compensate, origin: options.origin })
      }
      return this.#replay(plan, digest, options)
    }
    this.#deps.logger.debug(
      {
        event: 'shardtx.split_idempotent_replay',
        planId: original.planId,
        transactionId: plan.transactionId,
        status: original.status,
        samePlan: original.digest === digest,
      },
      `shardtx: idempotency key matched split plan ${original.planId} (${original.status}); the new transaction's writes were not applied`,
    )
    if (original.status === 'applied') return
    if (original.status === 'failed') {
      const f = original.failure
      throw new SplitPlanFailedError(
        {
          planId: original.planId,
          transactionId: original.transactionId,
          failedShard: f?.shard ?? '(unknown)',
          appliedShards: f?.appliedShards ?? [],
          unappliedShards: f?.unappliedShards ?? [],
          causeCode: f?.code,
          replayed: true,
        },
        f,
      )
    }
    this.#inFlight.add(original.planId)
    try {
      await runPlan(this.#ctx, original, { recovering: true, compensate: options.compensate ?? this.settings.compensate, origin: options.origin })
    } finally {
      this.#inFlight.delete(original.planId)
    }
  }
}

/**
 * False when the statement certainly did not run: the server answered with an error number, the
 * pool had no connection to give (`KnexTimeoutError`), or the connection was refused.
 */
function mayHaveReachedServer(err: unknown): boolean {
  if (errnoOf(err) !== undefined) return false
  const e = err as { name?: unknown; code?: unknown } | null
  if (e?.name === 'KnexTimeoutError') return false
  return !(typeof e?.code === 'string' && ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'].includes(e.code))
}
