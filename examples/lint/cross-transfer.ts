// Cross-shard: a transfer updates two rows of one sharded table, keyed by two different accounts.
import { db, type Account } from './db.js'

export async function transfer(from: Account, to: Account, amount: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx('accounts').where({ id: from.id }).decrement('balance', amount)
    await tx('accounts').where({ id: to.id }).increment('balance', amount) // expect-lint
  })
}
