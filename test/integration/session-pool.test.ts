/**
 * Transaction sessions run on a per-shard pool whose connections have autocommit off, so no BEGIN
 * is sent (knex/session-pool.ts). What that must not change: a connection leaves every
 * transaction with nothing open, the next transaction on it sees data committed in between (no
 * stale snapshot carried over), a rolled-back transaction leaves nothing, and the plain pool
 * (`db.shard(name)`, reads outside transactions) keeps autocommit on.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { MAX_PREPARED_STATEMENTS } from '../../src/config/mysql2-options.js'
import type { ShardedDb } from '../../src/index.js'
import { createFoundation, type Foundation } from '../support/foundation-fixture.js'

let f: Foundation
let db: ShardedDb

beforeAll(async () => {
  f = await createFoundation()
  // One connection per pool: every transaction on -80 reuses the same session connection.
  db = f.open({ pool: { max: 1 } })
})
afterAll(() => f.close())
beforeEach(async () => {
  await f.reset()
  await f.shards.query('-80', 'INSERT INTO accounts (id, balance) VALUES (1, 100), (2, 100)')
})

/** The open InnoDB transaction of connection `id`, if any (MariaDB and MySQL both keep INNODB_TRX). */
async function openTransactionOf(id: number): Promise<unknown[]> {
  return f.shards.query('-80', 'SELECT trx_id FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [id])
}

const connectionOf = async (tx: Parameters<Parameters<ShardedDb['transaction']>[0]>[0]) => {
  const [rows] = (await tx.shard('-80').raw('SELECT CONNECTION_ID() AS id, @@autocommit AS autocommit')) as [{ id: number; autocommit: number }[]]
  return rows[0]!
}

describe('connections shardtx opens', () => {
  it("carry mysql2's prepared-statement cache at shardtx's small size, not mysql2's 16,000 (about 0.5 MB of heap per connection)", async () => {
    const client = db.shard('-80').client as {
      acquireConnection(): Promise<{ config: { maxPreparedStatements: number } }>
      releaseConnection(c: unknown): Promise<void>
    }
    const connection = await client.acquireConnection()
    try {
      expect(connection.config.maxPreparedStatements).toBe(MAX_PREPARED_STATEMENTS)
    } finally {
      await client.releaseConnection(connection)
    }
  })
})

describe('session pool (autocommit off, no BEGIN)', () => {
  it('a session runs with autocommit off, its writes are one transaction, and the connection goes back with nothing open', async () => {
    let seen: { id: number; autocommit: number } | undefined
    await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 1 }).decrement('balance', 10)
      seen = await connectionOf(tx)
      // Inside the transaction: not visible from outside yet.
      expect((await f.rows('-80', 'accounts')).find((r) => r.id === 1)).toMatchObject({ balance: 100 })
      await tx('accounts').where({ id: 2 }).increment('balance', 10)
    })
    expect(Number(seen!.autocommit)).toBe(0)
    expect(await f.rows('-80', 'accounts')).toMatchObject([
      { id: 1, balance: 90 },
      { id: 2, balance: 110 },
    ])
    expect(await openTransactionOf(seen!.id)).toEqual([])
  })

  it('a rolled-back transaction leaves nothing, and the connection goes back with nothing open', async () => {
    let id = 0
    const err = await db
      .transaction(async (tx) => {
        await tx('accounts').where({ id: 1 }).decrement('balance', 10)
        id = (await connectionOf(tx)).id
        throw new Error('callback failed')
      })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ message: 'callback failed' })
    expect((await f.rows('-80', 'accounts')).find((r) => r.id === 1)).toMatchObject({ balance: 100 })
    expect(await openTransactionOf(id)).toEqual([])
  })

  it('the next transaction on the same connection sees what others committed in between (no snapshot carried over)', async () => {
    const readBalance = (tx: Parameters<Parameters<ShardedDb['transaction']>[0]>[0]) =>
      tx.shard('-80').raw('SELECT balance FROM accounts WHERE id = 1') as unknown as Promise<[{ balance: number }[]]>
    const first = await db.transaction(async (tx) => ({ id: (await connectionOf(tx)).id, balance: (await readBalance(tx))[0][0]!.balance }))
    await f.shards.query('-80', 'UPDATE accounts SET balance = 555 WHERE id = 1') // another client, committed
    const second = await db.transaction(async (tx) => ({ id: (await connectionOf(tx)).id, balance: (await readBalance(tx))[0][0]!.balance }))
    expect(second.id).toBe(first.id) // the same pooled connection (pool.max 1)
    expect([first.balance, second.balance]).toEqual([100, 555])
  })

  it("db.shard(name).on('query') still sees the statements of transactions, which run on the session pool", async () => {
    const seen: string[] = []
    const onQuery = (q: { sql: string }) => seen.push(q.sql)
    db.shard('-80').on('query', onQuery)
    try {
      await db.transaction((tx) => tx('accounts').where({ id: 1 }).update({ balance: 1 }))
    } finally {
      db.shard('-80').off('query', onQuery)
    }
    expect(seen).toEqual(['update `accounts` set `balance` = ? where `id` = ?'])
  })

  it('the plain pool keeps autocommit on: db.shard(name) writes are committed at once', async () => {
    const [rows] = (await db.shard('-80').raw('SELECT @@autocommit AS autocommit')) as [{ autocommit: number }[]]
    expect(Number(rows[0]!.autocommit)).toBe(1)
    await db.shard('-80')('accounts').where({ id: 2 }).update({ balance: 7 })
    expect((await f.rows('-80', 'accounts')).find((r) => r.id === 2)).toMatchObject({ balance: 7 })
  })
})
