/**
 * knex-compatibility suite, part 1: the transaction API and every builder entry point, on two
 * real shards. Each case either works as in plain knex or is refused with a ShardtxError that
 * names the fix; no case may read or write outside the transaction.
 */
import knexFactory, { type Knex } from 'knex'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CrossShardTransactionError, ShardtxError, UnroutableQueryError, type ShardedDb, type ShardedTransaction } from '../../src/index.js'
import { createFoundation, HIGH, LOW, type Foundation } from '../support/foundation-fixture.js'

let f: Foundation
let db: ShardedDb
/** The application's own knex instance on shard -80's database, as a repository would hold it. */
let appKnex: Knex

beforeAll(async () => {
  f = await createFoundation()
  db = f.open({ retry: { maxAttempts: 1 } })
  appKnex = knexFactory({ client: 'mysql2', connection: { ...f.shards.shards['-80']! }, pool: { min: 0, max: 2 } })
})
afterAll(async () => {
  await appKnex.destroy()
  await f.close()
})
beforeEach(async () => {
  await f.reset()
  await db
    .shard('-80')('accounts')
    .insert(LOW.map((id) => ({ id, balance: 100 })))
  await db
    .shard('80-')('accounts')
    .insert(HIGH.map((id) => ({ id, balance: 100 })))
})

async function balanceOf(id: number): Promise<number> {
  const shard = db.shardOf('accounts', id)
  const row = await db.shard(shard)('accounts').where({ id }).first()
  return Number(row.balance)
}

/** A helper typed the way services type theirs. */
async function debit(trx: Knex.Transaction, id: number, amount: number): Promise<void> {
  await trx('accounts').where({ id }).decrement('balance', amount)
}

describe('transaction API', () => {
  it('hands the callback a Knex.Transaction: helpers typed Knex.Transaction work, the value comes back', async () => {
    const result = await db.transaction(async (tx) => {
      expect(tx.isTransaction).toBe(true)
      expect(tx.isCompleted()).toBe(false)
      await debit(tx, 1, 10)
      return 'done'
    })
    expect(result).toBe('done')
    expect(await balanceOf(1)).toBe(90)
  })

  it('rolls back every write when the callback throws', async () => {
    const boom = new Error('boom')
    await expect(
      db.transaction(async (tx) => {
        await debit(tx, 1, 10)
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(await balanceOf(1)).toBe(100)
  })

  it('commit(value) inside the callback commits there, resolves with value, and ends the transaction', async () => {
    let leaked: ShardedTransaction | undefined
    const result = await db.transaction(async (tx) => {
      leaked = tx
      await debit(tx, 1, 10)
      await tx.commit('explicit')
      expect(tx.isCompleted()).toBe(true)
      return 'ignored'
    })
    expect(result).toBe('explicit')
    expect(await balanceOf(1)).toBe(90)
    await expect(leaked!('accounts').where({ id: 1 }).first()).rejects.toMatchObject({ code: 'SHARDTX_TRANSACTION_ENDED' })
  })

  it('rollback(error) rejects with that error; rollback() resolves with undefined; nothing is written', async () => {
    const reason = new Error('changed my mind')
    await expect(
      db.transaction(async (tx) => {
        await debit(tx, 1, 10)
        await tx.rollback(reason)
      }),
    ).rejects.toBe(reason)
    const quiet = await db.transaction(async (tx) => {
      await debit(tx, 2, 10)
      await tx.rollback()
      return 'not this'
    })
    expect(quiet).toBeUndefined()
    expect(await balanceOf(1)).toBe(100)
    expect(await balanceOf(2)).toBe(100)
  })

  it('executionPromise settles with the outcome', async () => {
    let execution: Promise<unknown> | undefined
    await db.transaction(async (tx) => {
      execution = tx.executionPromise
      await debit(tx, 1, 1)
      return 42
    })
    await expect(execution).resolves.toBe(42)
  })

  it('opens a transaction without a callback: commit makes it visible, rollback undoes it', async () => {
    const trx = await db.transaction()
    await debit(trx, 1, 10)
    expect(await balanceOf(1)).toBe(100) // not committed yet
    await trx.commit()
    expect(trx.isCompleted()).toBe(true)
    expect(await balanceOf(1)).toBe(90)

    const other = await db.transaction({ crossShard: 'reject' })
    await debit(other, 2, 10)
    await other.rollback()
    expect(await balanceOf(2)).toBe(100)
    await expect(other.executionPromise).resolves.toBeUndefined()
  })

  it('transactionProvider returns the same transaction on every call', async () => {
    const provide = db.transactionProvider()
    const a = await provide()
    const b = await provide()
    expect(a).toBe(b)
    await debit(a, 1, 5)
    await b.commit()
    expect(await balanceOf(1)).toBe(95)
  })

  it('refuses members that have no meaning on a sharded transaction, naming what to use', async () => {
    await db.transaction(async (tx) => {
      expect(() => tx.schema).toThrow(ShardtxError)
      expect(() => tx.schema).toThrow(/db\.shard\(name\)\.schema/)
      expect(() => tx.migrate).toThrow(/db\.migrate/)
      expect(() => (tx.destroy as unknown as () => void)()).toThrow(/db\.destroy\(\)/)
    })
  })
})

describe('savepoints (nested transactions)', () => {
  it('a nested transaction that throws is rolled back to its savepoint; the outer one commits', async () => {
    await db.transaction(async (tx) => {
      await debit(tx, 1, 10)
      await expect(
        tx.transaction(async (sp) => {
          await debit(sp, 1, 50)
          throw new Error('undo the inner part')
        }),
      ).rejects.toThrow('undo the inner part')
      await tx.savepoint(async (sp) => debit(sp, 2, 5)) // released: kept
    })
    expect(await balanceOf(1)).toBe(90)
    expect(await balanceOf(2)).toBe(95)
  })

  it('rolls back a shard that joined after the savepoint opened', async () => {
    await db.transaction(
      async (tx) => {
        await debit(tx, 1, 10) // -80
        await tx
          .transaction(async (sp) => {
            await debit(sp, 4, 10) // 80- joins inside the savepoint
            throw new Error('inner')
          })
          .catch(() => undefined)
      },
      { crossShard: 'warn', reason: 'https://tracker.example/compat' },
    )
    expect(await balanceOf(1)).toBe(90)
    expect(await balanceOf(4)).toBe(100)
  })

  it('is refused under split, whose writes run after the callback', async () => {
    await expect(db.transaction((tx) => tx.transaction(async () => undefined), { crossShard: 'split' })).rejects.toThrow(/Savepoints.*split/)
  })
})

describe('reads are in the transaction', () => {
  it('a second read of a shard sees the snapshot of the first (repeatable read)', async () => {
    const [first, second] = await db.transaction(async (tx) => {
      const a = await tx('accounts').where({ id: 4 }).first()
      await db.shard('80-')('accounts').where({ id: 4 }).update({ balance: 7 }) // another session commits
      const b = await tx('accounts').where({ id: 4 }).first()
      return [a.balance, b.balance]
    })
    expect([first, second]).toEqual([100, 100])
    expect(await balanceOf(4)).toBe(7)
  })

  it("isolationLevel: 'read committed' sees what others committed in between", async () => {
    const [first, second] = await db.transaction(
      async (tx) => {
        const a = await tx('accounts').where({ id: 4 }).first()
        await db.shard('80-')('accounts').where({ id: 4 }).update({ balance: 8 })
        const b = await tx('accounts').where({ id: 4 }).first()
        return [a.balance, b.balance]
      },
      { isolationLevel: 'read committed' },
    )
    expect([first, second]).toEqual([100, 8])
  })

  it('readOnly: the server refuses a write', async () => {
    await expect(db.transaction((tx) => debit(tx, 1, 1), { readOnly: true })).rejects.toThrow(/READ ONLY/i)
    expect(await balanceOf(1)).toBe(100)
  })

  it('refuses an isolation level MySQL does not have, naming the option', async () => {
    await expect(db.transaction(async () => 1, { isolationLevel: 'snapshot' as 'serializable' })).rejects.toThrow(/`isolationLevel`/)
  })
})

describe('builder entry points', () => {
  it('select/from, insert/into, from, table, queryBuilder, first', async () => {
    const rows = await db.transaction(async (tx) => {
      await tx.insert({ id: 3001, balance: 1 }).into('accounts')
      await tx.table('accounts').where({ id: 3001 }).increment('balance', 1)
      const a = await tx.select('balance').from('accounts').where({ id: 3001 })
      const b = await tx.from('accounts').where({ id: 3001 }).first()
      const c = await tx.queryBuilder().table('accounts').where('id', 3001).select('id')
      return { a, b, c }
    })
    expect(rows.a).toEqual([{ balance: 2 }])
    expect(rows.b).toMatchObject({ id: 3001, balance: 2 })
    expect(rows.c).toEqual([{ id: 3001 }])
  })

  it('a refused statement names the application line that built it, whichever entry point built it', async () => {
    const err = (await db
      .transaction(async (tx) => {
        await tx.table('accounts').where({ id: 1 }).update({ balance: 1 })
        await tx.from('accounts').where({ id: 4 }).update({ balance: 1 })
      })
      .catch((e: unknown) => e)) as CrossShardTransactionError
    expect(err).toBeInstanceOf(CrossShardTransactionError)
    expect(err.statementOrigin?.file).toMatch(/knex-transaction\.test\.ts$/)
    expect(err.statementOrigin!.line).toBe(err.origin!.line + 2)
  })

  it('batchInsert runs its chunks in a savepoint of the transaction', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => 3000 + i)
      .filter((id) => db.shardOf('accounts', id) === '80-')
      .slice(0, 2)
    await db.transaction((tx) =>
      tx.batchInsert(
        'accounts',
        ids.map((id) => ({ id, balance: 1 })),
        1,
      ),
    )
    expect(await Promise.all(ids.map(balanceOf))).toEqual([1, 1])
  })

  it('per-query driver options (.options()) reach the driver as in plain knex', async () => {
    const [asArray, nested] = await db.transaction(async (tx) => [
      await tx('accounts').select('id', 'balance').where({ id: 1 }).options({ rowsAsArray: true }),
      await tx('accounts').select('id').where({ id: 1 }).options({ nestTables: true }),
    ])
    expect(asArray).toEqual([[1, 100]])
    expect(nested).toEqual([{ accounts: { id: 1 } }])
    expect(await appKnex('accounts').select('id', 'balance').where({ id: 1 }).options({ rowsAsArray: true })).toEqual(asArray)
  })

  it('typed rows as in knex', async () => {
    interface Account {
      id: number
      balance: number
    }
    const account = await db.transaction((tx) => tx<Account>('accounts').where({ id: 1 }).first())
    expect(account?.balance).toBe(100)
  })
})

describe('builders moved onto the transaction with .transacting(tx)', () => {
  const instances: [string, () => Knex][] = [
    ["the application's own knex instance", () => appKnex],
    ['db.shard(name)', () => db.shard('-80')],
    ['db.knex', () => db.knex],
  ]
  it.each(instances)('from %s: routed, and rolled back with the transaction', async (_name, instance) => {
    await expect(
      db.transaction(async (tx) => {
        await instance()('accounts').where({ id: 1 }).update({ balance: 1 }).transacting(tx)
        await instance()('accounts')
          .where({ id: 2 })
          .decrement('balance', 1)
          .modify((q) => q.transacting(tx))
        throw new Error('roll it all back')
      }),
    ).rejects.toThrow('roll it all back')
    expect(await balanceOf(1)).toBe(100)
    expect(await balanceOf(2)).toBe(100)
  })

  it('from any instance, a cross-shard write through .transacting(tx) meets the policy', async () => {
    await expect(
      db.transaction(async (tx) => {
        await appKnex('accounts').where({ id: 1 }).update({ balance: 1 }).transacting(tx)
        await appKnex('accounts').where({ id: 4 }).update({ balance: 1 }).transacting(tx)
      }),
    ).rejects.toThrow(CrossShardTransactionError)
    expect(await balanceOf(1)).toBe(100)
    expect(await balanceOf(4)).toBe(100)
  })
})

describe('raw, fn and ref', () => {
  it('tx.raw as a value inside a routed builder rides on that builder; fn.now and ref work', async () => {
    await db.transaction(async (tx) => {
      await tx('accounts')
        .where({ id: 1 })
        .update({ balance: tx.raw('balance + ?', [7]) })
      await tx('accounts')
        .where({ id: 1 })
        .update({ name: tx.raw('CAST(? AS CHAR)', ['x']) })
      await tx('accounts')
        .where({ id: 2 })
        .update({ balance: tx.ref('balance') })
      const [{ now }] = await tx
        .shardFor('accounts', 1)
        .raw('SELECT ? < DATE_ADD(NOW(), INTERVAL 1 DAY) AS now', [new Date(0)])
        .then((r: any) => r[0])
      expect(now).toBe(1)
      expect(tx.fn.now().toQuery()).toMatch(/CURRENT_TIMESTAMP/)
    })
    expect(await balanceOf(1)).toBe(107)
  })

  it('tx.raw awaited alone goes to the one shard the transaction writes to', async () => {
    const rows = await db.transaction(async (tx) => {
      await debit(tx, 4, 1)
      const [result] = (await tx.raw('SELECT balance FROM accounts WHERE id = ?', [4])) as [{ balance: number }[]]
      return result
    })
    expect(rows).toEqual([{ balance: 99 }])
  })

  it('tx.raw awaited alone with no shard to go to is refused with the fix', async () => {
    const err = await db.transaction((tx) => tx.raw('UPDATE accounts SET balance = 0')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnroutableQueryError)
    expect((err as Error).message).toMatch(/tx\.shard\(name\)\.raw.*tx\.shardFor\(table, key\)/)
    expect(await balanceOf(1)).toBe(100)
  })
})

describe('db.knex outside transactions', () => {
  it('routes single statements, and applies the policy to one whose rows span shards', async () => {
    expect(await db.knex('accounts').where({ id: 4 }).first()).toMatchObject({ id: 4, balance: 100 })
    await db.knex('accounts').where({ id: 5 }).increment('balance', 1)
    expect(await balanceOf(5)).toBe(101)
    await expect(db.knex('accounts').whereIn('id', [1, 4]).update({ balance: 0 })).rejects.toThrow(CrossShardTransactionError)
    expect(await balanceOf(1)).toBe(100)
  })

  it('db.knex.transaction is db.transaction', async () => {
    await db.knex.transaction(async (trx) => debit(trx, 1, 3))
    expect(await balanceOf(1)).toBe(97)
    const trx = await db.knex.transaction()
    await debit(trx, 2, 3)
    await trx.rollback()
    expect(await balanceOf(2)).toBe(100)
  })
})
