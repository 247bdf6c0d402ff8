import { formatLocation, type CodeLocation } from '../../shared/errors.js'
import type { ShardtxLogger } from '../../shared/logger.js'
import type { CompensationHook } from '../../config/split-failure.js'
import { SplitPlanFailedError, SplitPlanPendingError } from './errors.js'
import type { SplitPlanFailedEvent, SplitPlanPendingEvent } from './events.js'
import { errorCodes } from './failure-kind.js'
import type { StoredFailure } from './intent-log.js'
import { applyPart, PartError, type PartRunner } from './part-applier.js'
import { splitPhase } from './phase-hook.js'
import { describeParts, type PlanPart } from './plan.js'

/** A user's compensation hook: runs once, in the process that marks the plan failed. */
export type { CompensationHook } from '../../config/split-failure.js'

export interface PlanRunContext extends PartRunner {
  logger: ShardtxLogger
  /** Marks a plan applied, possibly later and batched with others (see AppliedMarks). */
  markApplied(planId: string): void
}

export interface RunnablePlan {
  planId: string
  transactionId: string | undefined
  parts: readonly PlanPart[]
  parallel: boolean
}

export interface RunOptions {
  recovering: boolean
  compensate: CompensationHook | undefined
  origin?: CodeLocation | undefined
}

/**
 * Applies every part of an accepted plan that is not applied yet, then queues the plan to be
 * marked applied.
 *
 * Parts run one after another in canonical shard order, each its own transaction, so the plan
 * never holds locks on two shards at once; with `parallel` they run concurrently (still one
 * transaction per shard, but the plan then holds locks on several shards at the same time).
 *
 * - A part failing for good: the plan is marked failed, the failure is logged, the compensation
 *   hook runs (only in the process whose update marked it failed: at most once per plan), and a
 *   {@link SplitPlanFailedError} listing applied and unapplied shards is thrown.
 * - A part failing transiently after its tries: the plan stays pending for recovery, and a
 *   {@link SplitPlanPendingError} is thrown.
 */
export async function runPlan(ctx: PlanRunContext, plan: RunnablePlan, options: RunOptions): Promise<void> {
  const target = (partNo: number) => ({
    planId: plan.planId,
    transactionId: plan.transactionId,
    partNo,
    part: plan.parts[partNo]!,
    recovering: options.recovering,
  })
  const applied = new Set<number>()
  let failure: PartError | undefined
  if (plan.parallel) {
    const results = await Promise.allSettled(plan.parts.map((_, i) => applyPart(ctx, target(i))))
    results.forEach((r, i) => (r.status === 'fulfilled' ? applied.add(i) : (failure = worse(failure, asPartError(r.reason, i, plan)))))
  } else {
    for (let i = 0; i < plan.parts.length && failure === undefined; i++) {
      try {
        await applyPart(ctx, target(i))
        applied.add(i)
        if (i + 1 < plan.parts.length)
          splitPhase('between-parts', {
            planId: plan.planId,
            transactionId: plan.transactionId,
            partNo: i,
            shard: plan.parts[i]!.shard,
            recovering: options.recovering,
          })
      } catch (err) {
        failure = asPartError(err, i, plan)
      }
    }
  }
  if (failure?.kind === 'permanent') return failPlan(ctx, plan, options, failure, applied)
  if (failure !== undefined) return leavePending(ctx, plan, options, failure, applied)

  splitPhase('before-mark-applied', { planId: plan.planId, transactionId: plan.transactionId, recovering: options.recovering })
  // Every part is applied: the caller's transaction has succeeded. The plan's own status is
  // bookkeeping, written in batches; if it never gets written, recovery sees every part's marker
  // and marks the plan applied.
  ctx.markApplied(plan.planId)
}

async function failPlan(ctx: PlanRunContext, plan: RunnablePlan, options: RunOptions, failure: PartError, applied: Set<number>): Promise<never> {
  const cause = failure.cause
  const codes = errorCodes(cause)
  const appliedShards = plan.parts.filter((_, i) => applied.has(i)).map((p) => p.shard)
  const unappliedShards = plan.parts.filter((_, i) => !applied.has(i)).map((p) => p.shard)
  const stored: StoredFailure = {
    partNo: failure.partNo,
    shard: failure.shard,
    appliedShards,
    unappliedShards,
    ...codes,
    message: cause instanceof Error ? cause.message : undefined,
  }
  let markedHere = false
  try {
    markedHere = await ctx.log.markFailed(plan.planId, stored)
  } catch {
    // The plan stays pending: recovery runs the failing part again, fails the same way, and marks it then.
  }
  const error = new SplitPlanFailedError(
    {
      planId: plan.planId,
      transactionId: plan.transactionId,
      origin: options.origin,
      failedShard: failure.shard,
      appliedShards,
      unappliedShards,
      causeCode: codes.code,
    },
    cause,
  )
  let compensation: SplitPlanFailedEvent['compensation'] = options.compensate === undefined ? 'none' : 'skipped'
  if (markedHere && options.compensate !== undefined) {
    try {
      await options.compensate({
        planId: plan.planId,
        transactionId: plan.transactionId,
        failedShard: failure.shard,
        appliedShards,
        unappliedShards,
        parts: describeParts(plan.parts),
        error: cause,
        duringRecovery: options.recovering,
      })
      compensation = 'ran'
    } catch (hookError) {
      error.compensationError = hookError
      compensation = 'threw'
    }
  }
  const event: SplitPlanFailedEvent = {
    event: 'shardtx.split_plan_failed',
    planId: plan.planId,
    transactionId: plan.transactionId,
    origin: options.origin ? formatLocation(options.origin) : undefined,
    failedShard: failure.shard,
    appliedShards,
    unappliedShards,
    errorCode: codes.code,
    errno: codes.errno,
    compensation,
    duringRecovery: options.recovering,
  }
  if (ctx.logKeyValues && stored.message !== undefined) event.message = stored.message
  ctx.logger.error(
    event,
    `shardtx: split plan ${plan.planId} failed on shard ${failure.shard} (${codes.code}); applied [${appliedShards.join(', ')}], not applied [${unappliedShards.join(', ')}]; compensation: ${compensation}`,
  )
  throw error
}

function leavePending(ctx: PlanRunContext, plan: RunnablePlan, options: RunOptions, failure: PartError, applied: Set<number>): never {
  const codes = errorCodes(failure.cause)
  const appliedShards = plan.parts.filter((_, i) => applied.has(i)).map((p) => p.shard)
  const pendingShards = plan.parts.filter((_, i) => !applied.has(i)).map((p) => p.shard)
  const event: SplitPlanPendingEvent = {
    event: 'shardtx.split_plan_pending',
    planId: plan.planId,
    transactionId: plan.transactionId,
    appliedShards,
    pendingShards,
    errorCode: codes.code,
    errno: codes.errno,
    duringRecovery: options.recovering,
  }
  ctx.logger.warn(event, `shardtx: split plan ${plan.planId} is pending on [${pendingShards.join(', ')}] (${codes.code}); recovery will finish it`)
  throw new SplitPlanPendingError({ planId: plan.planId, transactionId: plan.transactionId, appliedShards, pendingShards }, failure.cause)
}

function asPartError(err: unknown, partNo: number, plan: RunnablePlan): PartError {
  if (err instanceof PartError) return err
  // Not from applyPart's own handling (a bug or an unexpected throw): keep the plan for recovery.
  return new PartError('transient', { planId: plan.planId, transactionId: plan.transactionId, partNo, part: plan.parts[partNo]!, recovering: false }, err)
}

/** In parallel mode, a permanent failure decides the plan's fate over a transient one. */
function worse(a: PartError | undefined, b: PartError): PartError {
  return a === undefined || (a.kind === 'transient' && b.kind === 'permanent') ? b : a
}
