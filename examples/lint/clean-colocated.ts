// Clean: the account row and its ledger entry share one shard key value (from.id), so one shard.
import { db, type Account } from './db.js'

export async function withdraw(from: Account, amount: number): Promise<void> {
  await db.transaction(async (tx) => {
    const account = await tx('accounts').where({ id: from.id }).forUpdate().first()
    if (!account || account.balance < amount) throw new Error('insufficient funds')
    await tx('accounts').where({ id: from.id }).decrement('balance', amount)
    for (const part of [amount / 2, amount / 2]) {
      await tx('ledger').insert({ account_id: from.id, amount: -part })
    }
  })
}
