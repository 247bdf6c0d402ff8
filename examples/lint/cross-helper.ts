// Cross-shard: writes through a same-file helper that receives the transaction, called for two accounts.
import type { Knex } from 'knex'
import { db, type Account } from './db.js'

async function addEntry(trx: Knex.Transaction, accountId: number, amount: number): Promise<void> {
  await trx('ledger').insert({ account_id: accountId, amount })
}

export async function bookTransfer(from: Account, to: Account, amount: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx('accounts').where({ id: from.id }).decrement('balance', amount)
    await addEntry(tx, from.id, -amount)
    await addEntry(tx, to.id, amount) // expect-lint
  })
}
