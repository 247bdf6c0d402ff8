import { CHANNELS } from '../../shared/channels.js'
import { errnoOf, errorCodes } from '../../shared/driver-errors.js'
import { formatLocation } from '../../shared/errors.js'
import { sleep } from '../../shared/backoff.js'
import { commitInCanonicalOrder } from '../../transaction/commit-in-order.js'
import type { ShardSession } from '../../transaction/shard-session.js'
import { poolQuery } from '../../transaction/sql.js'
import { annotate } from '../../transaction/statement-executor.js'
import type { TransactionState } from '../../transaction/transaction-state.js'
import type { DecisionLog } from './decision-log.js'
import { AtomicOutcomeUnknownError } from './errors.js'
import type { AtomicBranchInDoubtEvent, AtomicOutcomeUnknownEvent, AtomicPrepareFailedEvent } from './events.js'
import { atomicPhase, type AtomicPhase, type AtomicPhaseDetail } from './phase-hook.js'
import type { AtomicStats } from './stats.js'

/** The XA side of one attempt (`tx.attempt.extension`): who coordinates, and the gtrid once a branch exists. */
export interface AtomicAttempt {
  /** The shard of the attempt's first session: a plain transaction that carries the decision record. */
  coordinator: string | undefined
  /** Set when the second session opened, as an XA branch (see xid.ts). */
  gtrid: string | undefined
}

/** The services of the atomic policy of one ShardedDb. */
export interface AtomicContext {
  decisions: DecisionLog
  stats: AtomicStats
}

/**
 * Server errors after which a statement may have run even though it failed: the connection was
 * killed or lost, the server is shutting down, or the statement was interrupted. A COMMIT that
 * fails with any other server error certainly did not commit.
 */
const ANSWER_LOST_ERRNOS: ReadonlySet<number> = new Set([1053, 1152, 1317, 1927, 1969, 2006, 2013, 3024])

/** Tries, 50 ms apart, to commit from another connection a branch whose own connection failed after the decision. */
const DETACHED_COMMIT_TRIES = 3

/**
 * Commits an `atomic` attempt. The coordinator is the shard of the attempt's first session, a
 * plain transaction; every later session is an XA branch (`XA START` when it opened).
 *
 * - One participant (or none), or a `readOnly` transaction: each commits on its own, as under
 *   `ordered`: a plain COMMIT for the coordinator (no XA at all, no record), `XA COMMIT ... ONE
 *   PHASE` for a branch.
 * - Several: (1) the `commit` record is inserted in the coordinator's open transaction; (2) every
 *   branch is prepared (`XA END`, `XA PREPARE`), in canonical order; (3) the coordinator
 *   COMMITs: the record and the coordinator's own writes become durable together, and that is
 *   the commit point; (4) every prepared branch gets `XA COMMIT`.
 *
 * A failure in (1) or (2) rolls every branch back and rethrows (a deadlock-class error retries
 * the callback as usual). A COMMIT in (3) that fails without an answer raises
 * {@link AtomicOutcomeUnknownError}, leaving the branches prepared for recovery. A failure in (4)
 * leaves that branch to recovery: the transaction is committed, and the caller gets its result.
 *
 * @example
 * ```ts
 * const policy = createLockOrderPolicy(deps, { name: 'atomic', extend, commit: (tx) => commitAtomic(tx, ctx) })
 * ```
 */
export async function commitAtomic(tx: TransactionState<{ extension: AtomicAttempt }>, ctx: AtomicContext): Promise<void> {
  const sessions = await tx.sessionsInCanonicalOrder()
  const xa = tx.attempt.extension
  // One participant, or a read-only transaction (it wrote nothing, so there is nothing to keep
  // atomic, and its coordinator could not hold a record): each session commits on its own.
  if (sessions.length <= 1 || xa.coordinator === undefined || xa.gtrid === undefined || tx.readOnly) return commitInCanonicalOrder(tx)
  const coordinator = await tx.sessions.get(xa.coordinator)!
  const branches = sessions.filter((s) => s !== coordinator)
  const gtrid = xa.gtrid
  const detail = (extra: Partial<AtomicPhaseDetail> = {}): AtomicPhaseDetail => ({
    transactionId: tx.id,
    gtrid,
    coordinator: coordinator.shard,
    branches: branches.map((b) => b.shard),
    branchConnections: branches.map((b) => b.connectionId),
    coordinatorConnection: coordinator.connectionId,
    ...extra,
  })
  const phase = (name: AtomicPhase, extra?: Partial<AtomicPhaseDetail>) => atomicPhase(name, () => detail(extra))

  // (1) and (2): nothing is decided yet; any failure rolls everything back.
  let step = coordinator.shard
  try {
    await ctx.decisions.ensure(coordinator.shard)
    await ctx.decisions.recordCommit(coordinator, gtrid, tx.id, branches.length)
    await phase('before-prepare')
    for (const [index, branch] of branches.entries()) {
      step = branch.shard
      await branch.prepare()
      await phase('after-prepare', { index, shard: branch.shard })
    }
  } catch (err) {
    throw await abortAfterPrepareFailure(tx, ctx, { gtrid, coordinator, branches, failedShard: step }, err)
  }

  // (3) the commit point.
  await phase('before-decision')
  try {
    await coordinator.commit()
  } catch (err) {
    const errno = errnoOf(err)
    if (errno !== undefined && !ANSWER_LOST_ERRNOS.has(errno)) {
      // The server refused the COMMIT: nothing committed, so the branches roll back.
      throw await abortAfterPrepareFailure(tx, ctx, { gtrid, coordinator, branches, failedShard: coordinator.shard }, err)
    }
    throw await outcomeUnknown(tx, ctx, { gtrid, coordinator, branches }, err)
  }
  ctx.stats.committed++
  if (CHANNELS.shardCommit.hasSubscribers) CHANNELS.shardCommit.publish({ transactionId: tx.id, shard: coordinator.shard, index: 0 })

  // (4) the decision is durable: every branch commits, now or in recovery. Nothing here may
  // throw: the core would roll back what is left, and a prepared branch of a committed
  // transaction must never be rolled back.
  for (const [index, branch] of branches.entries()) {
    try {
      await (index === 0 ? phase('after-decision') : undefined)
      await phase('before-branch-commit', { index, shard: branch.shard })
      await branch.commit()
    } catch (err) {
      await commitDetached(tx, ctx, gtrid, branch, err)
      continue
    }
    if (CHANNELS.shardCommit.hasSubscribers) CHANNELS.shardCommit.publish({ transactionId: tx.id, shard: branch.shard, index: index + 1 })
  }
  await Promise.resolve(phase('committed')).catch(() => undefined)
}

interface CommitSides {
  gtrid: string
  coordinator: ShardSession
  branches: readonly ShardSession[]
}

/** Rolls back the coordinator (its record goes with it) and every branch, and returns the error to throw. */
async function abortAfterPrepareFailure(
  tx: TransactionState,
  ctx: AtomicContext,
  sides: CommitSides & { failedShard: string },
  err: unknown,
): Promise<unknown> {
  const prepared = sides.branches.filter((b) => b.isPrepared).map((b) => b.shard)
  await sides.coordinator.rollback()
  await Promise.all(sides.branches.map((b) => b.rollback()))
  // A prepared branch whose rollback failed stays prepared with no decision record: recovery rolls it back.
  const leftPrepared = sides.branches.filter((b) => prepared.includes(b.shard) && !b.resolved).map((b) => b.shard)
  ctx.stats.prepareFailures++
  const codes = errorCodes(err)
  const event: AtomicPrepareFailedEvent = {
    event: 'shardtx.atomic_prepare_failed',
    transactionId: tx.id,
    gtrid: sides.gtrid,
    failedShard: sides.failedShard,
    preparedShards: prepared,
    leftPrepared,
    errorCode: codes.code,
    errno: codes.errno,
    origin: formatLocation(tx.origin),
  }
  tx.services.logger.warn(
    event,
    `shardtx: atomic transaction ${tx.id} could not prepare on shard ${sides.failedShard} (${codes.code}); every branch was rolled back` +
      (leftPrepared.length > 0 ? ` except ${leftPrepared.join(', ')}, left prepared for recovery to roll back` : ''),
  )
  return annotate(tx, sides.failedShard, err)
}

/** The decision's acknowledgement was lost: prepared branches are left for recovery (their connections closed, which detaches them). */
async function outcomeUnknown(tx: TransactionState, ctx: AtomicContext, sides: CommitSides, err: unknown): Promise<AtomicOutcomeUnknownError> {
  const preparedShards = sides.branches.map((b) => b.shard)
  const error = new AtomicOutcomeUnknownError(tx.facts(), { gtrid: sides.gtrid, coordinatorShard: sides.coordinator.shard, preparedShards }, err)
  await Promise.all(sides.branches.map((b) => b.abandon(error)))
  ctx.stats.outcomeUnknown++
  const codes = errorCodes(err)
  const event: AtomicOutcomeUnknownEvent = {
    event: 'shardtx.atomic_outcome_unknown',
    transactionId: tx.id,
    gtrid: sides.gtrid,
    coordinator: sides.coordinator.shard,
    preparedShards,
    errorCode: codes.code,
    errno: codes.errno,
    origin: formatLocation(tx.origin),
  }
  tx.services.logger.error(
    event,
    `shardtx: atomic transaction ${tx.id}: the decision on coordinator shard ${sides.coordinator.shard} was not acknowledged (${codes.code}); ` +
      `branches ${preparedShards.join(', ')} stay prepared until recovery applies the decision`,
  )
  return error
}

/**
 * A branch's own connection failed after the decision. Once the server notices that connection is
 * gone the branch is detached and any connection may commit it: try a few times from the pool,
 * then leave it to recovery. The transaction is committed either way.
 */
async function commitDetached(tx: TransactionState, ctx: AtomicContext, gtrid: string, branch: ShardSession, err: unknown): Promise<void> {
  const xid = branch.xid!
  // Still prepared on its own connection (the failure came before XA COMMIT was sent): close it, which detaches the branch.
  await branch.abandon(err instanceof Error ? err : new Error(String(err)))
  for (let i = 0; i < DETACHED_COMMIT_TRIES; i++) {
    await sleep(50)
    try {
      await poolQuery(tx.services.pools.get(branch.shard)!, `XA COMMIT ${xid}`)
      return
    } catch {
      // 1397 while the server still counts the dead connection as the owner; anything else: recovery.
    }
  }
  ctx.stats.branchesLeftInDoubt++
  const codes = errorCodes(err)
  const event: AtomicBranchInDoubtEvent = {
    event: 'shardtx.atomic_branch_in_doubt',
    transactionId: tx.id,
    gtrid,
    shard: branch.shard,
    errorCode: codes.code,
    errno: codes.errno,
  }
  tx.services.logger.warn(
    event,
    `shardtx: atomic transaction ${tx.id} is committed, but its branch on shard ${branch.shard} could not be committed now (${codes.code}); recovery commits it`,
  )
}
