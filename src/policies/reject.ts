import type { RoutedStatement } from '../routing/statement-router.js'
import { CrossShardTransactionError } from '../shared/errors.js'
import { commitInCanonicalOrder } from '../transaction/commit-in-order.js'
import type { CrossShardPolicy } from '../transaction/policy.js'

/**
 * `reject` (the default): a transaction may write to, or lock rows on, one shard only. The
 * statement that would add a second shard is refused before it is sent, and the whole
 * transaction is doomed: even if the callback catches the error, every shard rolls back.
 * Reads on other shards are allowed and take no locks. Vitess's SINGLE mode behaves the same way.
 */
export const rejectPolicy: CrossShardPolicy<undefined, undefined> = {
  name: 'reject',
  begin: () => undefined,
  admit(tx, shard, request) {
    if (tx.participants.length === 0) return
    if (request.table !== undefined) tx.tables.add(request.table)
    const facts = tx.facts()
    throw tx.doom(
      new CrossShardTransactionError({
        ...facts,
        shards: tx.services.shardMap.canonicalOrder([...tx.participants, shard]),
        statementOrigin: request.callSite?.location,
        newShard: shard,
        newTable: request.table ?? '(raw SQL via tx.shard)',
        detail: insertAcrossShards(request.statement),
      }),
    )
  },
  commit: commitInCanonicalOrder,
  finished() {},
}

/** One insert whose rows live on several shards says so, and how to load such rows. */
function insertAcrossShards(statement: RoutedStatement | undefined): string | undefined {
  if (statement?.method !== 'insert' || statement.shards.length < 2) return undefined
  const counts = statement.shards.map((shard) => `${statement.keysByShard.get(shard)?.length ?? 0} on ${shard}`).join(', ')
  return (
    `That one insert into ${statement.table} carries rows for ${statement.shards.length} shards (${counts}): a multi-row insert is one statement per shard. ` +
    `Insert each shard's rows in a transaction of their own (group them by db.shardOf('${statement.table}', key)), ` +
    `or load seed and bulk data per shard outside transactions with db.shard(name)('${statement.table}').insert(rows).`
  )
}
