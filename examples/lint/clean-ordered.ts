// Clean: the transfer spans shards but declares { crossShard: 'ordered' }, so the runtime orders the commits.
import { db, type Account } from './db.js'

export async function transferOrdered(from: Account, to: Account, amount: number): Promise<void> {
  await db.transaction(
    async (tx) => {
      await tx('accounts').where({ id: from.id }).decrement('balance', amount)
      await tx('accounts').where({ id: to.id }).increment('balance', amount)
    },
    { crossShard: 'ordered', reason: 'https://tracker.example/PAY-101' },
  )
}
