import { PartialCommitError } from '../shared/errors.js'
import { CHANNELS } from '../shared/channels.js'
import type { TransactionState } from './transaction-state.js'

/**
 * Commits the participating shards one at a time in canonical order (keyrange order, or
 * declaration order for custom routers), the order `warn` and `ordered` promise.
 *
 * If the first COMMIT fails nothing was committed: the rest roll back and the original error is
 * rethrown. If a later COMMIT fails, earlier shards keep their changes and shardtx raises
 * {@link PartialCommitError} naming both sides, because that is what the data now looks like.
 * Without two-phase commit this window cannot be closed; `split` narrows it with an intent log.
 */
export async function commitInCanonicalOrder(tx: TransactionState): Promise<void> {
  const sessions = await tx.sessionsInCanonicalOrder()
  const committed: string[] = []
  for (const [index, session] of sessions.entries()) {
    try {
      await session.commit()
      committed.push(session.shard)
      if (CHANNELS.shardCommit.hasSubscribers) CHANNELS.shardCommit.publish({ transactionId: tx.id, shard: session.shard, index })
    } catch (err) {
      const rest = sessions.slice(index + 1)
      await Promise.all(rest.map((s) => s.rollback()))
      if (committed.length === 0) throw err
      throw new PartialCommitError(
        {
          ...tx.facts(),
          committedShards: committed,
          uncommittedShards: [session.shard, ...rest.map((s) => s.shard)],
          failedShard: session.shard,
        },
        err,
      )
    }
  }
}
