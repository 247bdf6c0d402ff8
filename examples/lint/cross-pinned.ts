// Cross-shard: a pinned table (countries, shard -80) and a sharded table in one transaction.
import { db } from './db.js'

export async function changeCountry(accountId: number, code: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx('countries').where({ code }).increment('account_count', 1)
    await tx('accounts').where('id', accountId).update({ country: code }) // expect-lint
  })
}
