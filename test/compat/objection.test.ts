/**
 * knex-compatibility suite, part 2: the real `objection` package on two real shards, through
 * shardtx's transaction (`Model.query(tx)`, `bindKnex(tx)`, `$relatedQuery(..., tx)`,
 * `Model.transaction`) and its routed instance (`Model.knex(db.knex)`).
 */
import { Model } from 'objection'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CrossShardTransactionError, type ShardedDb } from '../../src/index.js'
import { createFoundation, HIGH, LOW, type Foundation } from '../support/foundation-fixture.js'

class Order extends Model {
  static override tableName = 'orders'
  id!: number
  customer_id!: number
  total!: number
}

/** `orders.customer_id` holds account ids and is the orders' shard key: an account's orders live on its shard. */
class Account extends Model {
  static override tableName = 'accounts'
  id!: number
  balance!: number
  static override relationMappings = () => ({
    orders: { relation: Model.HasManyRelation, modelClass: Order, join: { from: 'accounts.id', to: 'orders.customer_id' } },
  })
}

let f: Foundation
let db: ShardedDb

beforeAll(async () => {
  f = await createFoundation()
  db = f.open({ retry: { maxAttempts: 1 } })
})
afterAll(() => f.close())
beforeEach(async () => {
  await f.reset()
  await db
    .shard('-80')('accounts')
    .insert(LOW.map((id) => ({ id, balance: 100 })))
  await db
    .shard('80-')('accounts')
    .insert(HIGH.map((id) => ({ id, balance: 100 })))
})

const balanceOf = async (id: number) => Number((await db.shard(db.shardOf('accounts', id))('accounts').where({ id }).first()).balance)

describe('objection through a shardtx transaction', () => {
  it('Model.query(tx): findById, patch and insert are routed; a throw rolls them back', async () => {
    const found = await db.transaction(async (tx) => {
      const account = await Account.query(tx).findById(4)
      await Account.query(tx).findById(4).patch({ balance: 50 })
      await Order.query(tx).insert({ customer_id: 4, total: 10 })
      return account
    })
    expect(found).toMatchObject({ id: 4, balance: 100 })
    expect(await balanceOf(4)).toBe(50)
    expect(await f.rows('80-', 'orders')).toHaveLength(1)

    await expect(
      db.transaction(async (tx) => {
        await Account.query(tx).findById(1).patch({ balance: 1 })
        throw new Error('undo')
      }),
    ).rejects.toThrow('undo')
    expect(await balanceOf(1)).toBe(100)
  })

  it('bindKnex(tx) and $relatedQuery on co-located tables', async () => {
    await db.transaction(async (tx) => {
      const BoundAccount = Account.bindKnex(tx)
      const account = await BoundAccount.query().findById(5)
      await account!.$relatedQuery<Order>('orders', tx).insert({ total: 7 })
      const orders = await account!.$relatedQuery<Order>('orders', tx)
      expect(orders.map((o) => o.total)).toEqual([7])
    })
    expect(await f.rows('-80', 'orders')).toMatchObject([{ customer_id: 5, total: 7 }])
  })

  it('a write to a second shard is refused by the policy, and nothing is committed', async () => {
    await expect(
      db.transaction(async (tx) => {
        await Account.query(tx).findById(1).patch({ balance: 0 })
        await Account.query(tx).findById(4).patch({ balance: 0 })
      }),
    ).rejects.toThrow(CrossShardTransactionError)
    expect(await balanceOf(1)).toBe(100)
    expect(await balanceOf(4)).toBe(100)
  })
})

describe('objection on the routed instance (Model.knex(db.knex))', () => {
  it('queries outside transactions are routed, and Model.transaction is a shardtx transaction', async () => {
    class BoundAccount extends Account {}
    BoundAccount.knex(db.knex)
    expect(await BoundAccount.query().findById(6)).toMatchObject({ id: 6, balance: 100 })
    await BoundAccount.query().findById(6).patch({ balance: 60 })
    expect(await balanceOf(6)).toBe(60)
    await expect(
      BoundAccount.transaction(async (trx) => {
        await BoundAccount.query(trx).findById(2).patch({ balance: 0 })
        await BoundAccount.query(trx).findById(6).patch({ balance: 0 })
      }),
    ).rejects.toThrow(CrossShardTransactionError)
    expect(await balanceOf(2)).toBe(100)
    expect(await balanceOf(6)).toBe(60)
  })
})
