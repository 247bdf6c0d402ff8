import type { RoutedStatement } from '../../routing/statement-router.js'
import { formatLocation } from '../../shared/errors.js'
import { SplitPlanFailedError, SplitPlanPendingError, SplitUnsupportedError, SplitWriteResultError } from './errors.js'
import { hashIdempotencyKey, newPlanId, type PlanPart } from './plan.js'
import type { SplitCoordinator } from './split-coordinator.js'
import type { TransactionState } from '../../transaction/transaction-state.js'
import type { CrossShardPolicy } from '../../transaction/policy.js'
import { SPLIT_TRANSACTION_OPTION_KEYS, validateSplitTransactionOptions, type SplitTransactionOptions } from './transaction-options.js'
import { SplitPlanBuilder } from './plan-builder.js'
import { splitWriteResult } from './write-result.js'

/** The policy's state for one attempt (`tx.attempt`). */
interface Attempt {
  /** The plan the attempt is building; created at its first write. */
  plan: SplitPlanBuilder | undefined
  /** The plan failed or stalled after some parts committed: reported as a partial commit. */
  partlyApplied: boolean
  options: SplitTransactionOptions
  /** `split.maxPlanBytes`. */
  maxPlanBytes: number
}

/**
 * `split`: the incident team's fix, automated. The callback's writes are not sent; they are
 * recorded, grouped by shard, and after the callback returns each shard's group runs as its own
 * transaction, shards in canonical order. No transaction ever holds locks on two shards, so no
 * distributed deadlock can form. Cross-shard atomicity is traded for durability: the plan is
 * stored in an intent log before the first part runs, each part records itself as applied in
 * its own transaction, and `db.recover()` finishes accepted plans exactly once after a crash.
 *
 * Reads run at once on committed data (they never see the callback's own pending writes);
 * awaited writes resolve to a placeholder that throws if used (see split-write-result.ts);
 * locking reads and writes through `tx.shard()` are refused. docs/split.md has the details.
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   await tx('accounts').where({ id: from }).decrement('balance', 10) // shard -80
 *   await tx('accounts').where({ id: to }).increment('balance', 10)   // shard 80-
 * }, { crossShard: 'split', idempotencyKey: `transfer-${transferId}` })
 * ```
 */
export function createSplitPolicy(coordinator: SplitCoordinator): CrossShardPolicy<Attempt, SplitTransactionOptions> {
  return {
    name: 'split',
    optionKeys: SPLIT_TRANSACTION_OPTION_KEYS,
    deferredWrites: true,
    resolveOptions: validateSplitTransactionOptions,
    begin: (_tx, options) => ({ plan: undefined, partlyApplied: false, options, maxPlanBytes: coordinator.settings.maxPlanBytes }),
    commit: (tx) => commit(tx, coordinator),
    ...hooks,
  }
}

const hooks: Omit<CrossShardPolicy<Attempt, SplitTransactionOptions>, 'name' | 'begin' | 'commit' | 'optionKeys' | 'resolveOptions'> = {
  executeWrite(tx, routed, builder, request) {
    const what = `${describe(routed)} on \`${routed.table}\``
    if (routed.kind === 'lock') {
      throw tx.doom(
        new SplitUnsupportedError(
          `A locking read (${what} with forUpdate/forShare, at ${formatLocation(request.callSite?.location)}) cannot work under { crossShard: 'split' }: ` +
            `the callback holds no transaction, so the lock would be released before the writes it protects run. ` +
            `Use { crossShard: 'ordered' } to lock rows and write in one transaction, or drop the lock and make the writes conditional in their WHERE clause.`,
        ),
      )
    }
    const plan = planOf(tx)
    try {
      for (const shard of routed.shards) plan.record(shard, routed.perShard?.get(shard) ?? builder, what)
    } catch (err) {
      throw tx.doom(err as Error) // a write the plan lacks must not be committed without it
    }
    for (const shard of routed.shards) tx.participateLater(shard)
    return Promise.resolve(
      splitWriteResult(what, () => {
        const err = new SplitWriteResultError(what, request.callSite?.location, !tx.closed)
        if (!tx.closed) tx.doom(err)
        return err
      }),
    )
  },

  /** Reached only by statements sent through `tx.shard(name)`: routed writes never join a shard under split. */
  admit(tx, shard) {
    throw tx.doom(
      new SplitUnsupportedError(
        `Under { crossShard: 'split' }, writes through tx.shard('${shard}') are not supported: unrouted statements ` +
          `(raw SQL, builders that bypass routing) are not recorded in the plan. Write through tx('table') builders, ` +
          `read with tx.shard(name, { readOnly: true }), or use { crossShard: 'ordered' }.`,
      ),
    )
  },

  finished(tx, outcome, durationMs) {
    const partlyApplied = tx.begun && tx.attempt.partlyApplied
    if (tx.participants.length > 1) tx.reportCrossShard(partlyApplied ? 'partial commit' : outcome, durationMs, 'debug')
  },
}

async function commit(tx: TransactionState<Attempt>, coordinator: SplitCoordinator): Promise<void> {
  const { plan, options } = tx.attempt
  if (plan === undefined || plan.isEmpty) return
  // The callback's reads are over. Their sessions come from the session pool the parts take
  // connections from too: holding them while a part waits for a connection could exhaust the
  // pool with every transaction waiting for another's connection.
  await tx.endReadSessions()
  const parts = plan.parts((shards) => tx.services.shardMap.canonicalOrder(shards))
  if (parts.length === 1 && options.idempotencyKey === undefined) return coordinator.runSinglePart(parts[0]!, tx.id)
  try {
    await submit(tx, coordinator, parts, options)
  } catch (err) {
    if ((err instanceof SplitPlanFailedError || err instanceof SplitPlanPendingError) && err.appliedShards.length > 0) tx.attempt.partlyApplied = true
    throw err
  }
}

function submit(tx: TransactionState<Attempt>, coordinator: SplitCoordinator, parts: PlanPart[], options: SplitTransactionOptions): Promise<void> {
  const plan = {
    planId: newPlanId(),
    parts,
    parallel: options.parallelParts ?? coordinator.settings.parallelParts,
    idempotencyKeyHash: options.idempotencyKey === undefined ? undefined : hashIdempotencyKey(options.idempotencyKey),
    transactionId: tx.id,
    origin: tx.origin === undefined ? undefined : formatLocation(tx.origin),
  }
  return coordinator.submit(plan, { compensate: options.compensate, origin: tx.origin })
}

function planOf(tx: TransactionState<Attempt>): SplitPlanBuilder {
  return (tx.attempt.plan ??= new SplitPlanBuilder(tx.attempt.maxPlanBytes))
}

function describe(routed: RoutedStatement): string {
  if (routed.method === 'del') return 'a delete'
  if (routed.kind === 'lock') return 'a locking select'
  return `an ${routed.method}` // insert, update (increment/decrement compile to update), upsert
}
