import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CrossShardTransactionError, type ShardedDb } from '../../src/index.js'
import { createFoundation, HIGH, LOW, type Foundation } from '../support/foundation-fixture.js'

let f: Foundation
let db: ShardedDb
const sentTo: Record<string, string[]> = { '-80': [], '80-': [] }

beforeAll(async () => {
  f = await createFoundation()
  db = f.open() // crossShard defaults to 'reject'
  for (const name of db.shardNames) db.shard(name).on('query', (q: { sql: string }) => sentTo[name]!.push(q.sql))
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
  sentTo['-80'] = []
  sentTo['80-'] = []
})

async function balances(): Promise<Record<number, number>> {
  const rows = [...(await f.rows('-80', 'accounts')), ...(await f.rows('80-', 'accounts'))]
  return Object.fromEntries(rows.map((r) => [Number(r.id), Number(r.balance)]))
}

describe('reject policy (the default)', () => {
  it('refuses the second shard, never sends that statement, and commits nothing anywhere', async () => {
    const before = await balances()
    const err = await db
      .transaction(async (tx) => {
        await tx('accounts').where({ id: 1 }).decrement('balance', 10) // -80
        await tx('accounts').where({ id: 4 }).increment('balance', 10) // 80-: refused
      })
      .catch((e) => e)
    expect(err).toBeInstanceOf(CrossShardTransactionError)
    expect(err.code).toBe('SHARDTX_CROSS_SHARD')
    expect(err.shards).toEqual(['-80', '80-'])
    expect(err.tables).toEqual(['accounts'])
    expect(await balances()).toEqual(before)
    expect(sentTo['80-']!.filter((sql) => /update/i.test(sql))).toEqual([])
  })

  it('names the tables, shards, both lines of application code, and how to fix it', async () => {
    const err: CrossShardTransactionError = await db
      .transaction(async (tx) => {
        await tx('orders').insert({ customer_id: 4, total: 1 })
        await tx('accounts').where({ id: 1 }).update({ name: 'x' })
      })
      .catch((e) => e)
    expect(err.tables).toEqual(['accounts', 'orders'])
    expect(err.origin?.file).toMatch(/reject-policy\.test\.ts$/)
    expect(err.statementOrigin?.file).toMatch(/reject-policy\.test\.ts$/)
    expect(err.statementOrigin!.line).toBe(err.origin!.line + 2)
    expect(err.message).toContain('shards [-80, 80-]')
    expect(err.message).toContain("{ crossShard: 'ordered' }")
    expect(err.message).toContain("{ crossShard: 'split' }")
    expect(err.message).toContain('reason')
    expect(await f.rows('80-', 'orders')).toEqual([])
  })

  it('still rolls back everywhere when the callback swallows the error', async () => {
    const before = await balances()
    const err = await db
      .transaction(async (tx) => {
        await tx('accounts').where({ id: 1 }).update({ balance: 0 })
        await tx('accounts')
          .where({ id: 4 })
          .update({ balance: 0 })
          .catch(() => 'swallowed')
        return 'done'
      })
      .catch((e) => e)
    expect(err).toBeInstanceOf(CrossShardTransactionError)
    expect(await balances()).toEqual(before)
  })

  it('refuses concurrent writes to two shards started with Promise.all', async () => {
    const before = await balances()
    await expect(
      db.transaction((tx) => Promise.all([tx('accounts').where({ id: 2 }).update({ balance: 1 }), tx('accounts').where({ id: 6 }).update({ balance: 1 })])),
    ).rejects.toThrow(CrossShardTransactionError)
    expect(await balances()).toEqual(before)
  })

  it('counts a locking read (forUpdate) as participation', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx('accounts').where({ id: 1 }).update({ balance: 1 })
        await tx('accounts').where({ id: 4 }).forUpdate().first()
      }),
    ).rejects.toThrow(CrossShardTransactionError)
  })

  it('refuses a multi-row insert whose rows live on two shards', async () => {
    await expect(
      db.transaction((tx) =>
        tx('orders').insert([
          { customer_id: 1, total: 1 },
          { customer_id: 4, total: 1 },
        ]),
      ),
    ).rejects.toThrow(CrossShardTransactionError)
    expect([...(await f.rows('-80', 'orders')), ...(await f.rows('80-', 'orders'))]).toEqual([])
  })

  it('allows plain reads on other shards, which take no locks there', async () => {
    const result = await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 1 }).decrement('balance', 5)
      const other = await tx('accounts').where({ id: 4 }).first()
      await tx('accounts').where({ id: 2 }).increment('balance', 5)
      return { other, shards: tx.shards }
    })
    expect(result.other).toMatchObject({ id: 4, balance: 100 })
    expect(result.shards).toEqual(['-80'])
    expect(await balances()).toMatchObject({ 1: 95, 2: 105 })
  })

  it('lets a single transaction override the default with a reason', async () => {
    await db.transaction(
      async (tx) => {
        await tx('accounts').where({ id: 1 }).decrement('balance', 10)
        await tx('accounts').where({ id: 4 }).increment('balance', 10)
      },
      { crossShard: 'warn', reason: 'https://tracker.example/123' },
    )
    expect(await balances()).toMatchObject({ 1: 90, 4: 110 })
  })

  it('counts raw SQL sent through tx.shard() as a write on that shard', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx('accounts').where({ id: 1 }).update({ balance: 7 })
        await tx.shard('80-').raw('UPDATE accounts SET balance = 7 WHERE id = ?', [4])
      }),
    ).rejects.toThrow(CrossShardTransactionError)
    // unless it says it only reads
    const rows = await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 1 }).update({ balance: 7 })
      const [r] = await tx.shard('80-', { readOnly: true }).raw('SELECT balance FROM accounts WHERE id = ?', [4])
      return r
    })
    expect(rows).toEqual([{ balance: 100 }])
  })
})
