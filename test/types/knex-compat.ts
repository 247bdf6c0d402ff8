/**
 * Compiled by test/unit/types.test.ts (tsc --noEmit): code typed against knex's own types accepts
 * shardtx's transaction and routed instance, and rows are typed as in knex. Nothing here runs.
 */
import type { Knex } from 'knex'
import { expectTypeOf } from 'vitest'
import type { ShardedDb, ShardedTransaction } from '../../src/index.js'

interface Account {
  id: number
  balance: number
}

async function debit(trx: Knex.Transaction, id: number, amount: number): Promise<void> {
  await trx('accounts').where({ id }).decrement('balance', amount)
}

async function countAccounts(db: Knex): Promise<number> {
  const rows = await db('accounts').count({ n: '*' })
  return Number(rows[0]?.n)
}

export async function typedLikeKnex(db: ShardedDb): Promise<void> {
  const balance = await db.transaction(async (tx) => {
    expectTypeOf(tx).toMatchTypeOf<Knex.Transaction>()
    await debit(tx, 1, 10)
    await countAccounts(tx)
    const account = await tx<Account>('accounts').where({ id: 1 }).first()
    expectTypeOf(account).toEqualTypeOf<Account | undefined>()
    await tx.transaction(async (sp) => debit(sp, 1, 1))
    await tx('accounts')
      .where({ id: 1 })
      .update({ balance: tx.raw('balance + ?', [1]) })
      .transacting(tx)
    return account?.balance
  })
  expectTypeOf(balance).toEqualTypeOf<number | undefined>()

  await countAccounts(db.knex)
  const trx: ShardedTransaction = await db.transaction({ isolationLevel: 'read committed' })
  await debit(trx, 2, 5)
  await trx.commit()
  const provide: () => Promise<Knex.Transaction> = db.transactionProvider()
  await provide()

  await db.transaction(async (tx) => {
    // @ts-expect-error DDL is not available in a sharded transaction (typed never)
    await tx.schema.createTable('t', () => undefined)
  })
}
