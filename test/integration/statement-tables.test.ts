/**
 * Every table a statement references is routed or refused, on real shards: joins and subqueries
 * across shards are refused by name (before anything is sent), co-located joins and subqueries
 * return what one database holding every row returns, reference tables work from every shard,
 * pinned tables only from their own, and `insert ... select` is routed or refused.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CrossShardTransactionError, UnroutableQueryError, type ShardedDb } from '../../src/index.js'
import { asBag, createColocationFixture, whereColumn, type ColocationFixture } from '../support/colocation-fixture.js'

let f: ColocationFixture
let db: ShardedDb
const sent: string[] = []

beforeAll(async () => {
  f = await createColocationFixture()
  db = f.open()
  for (const name of db.shardNames) db.shard(name).on('query', (q: { sql: string }) => sent.push(q.sql))
})
afterAll(() => f.close())
beforeEach(async () => {
  await f.reset()
  sent.length = 0
})

async function refusal(run: () => Promise<unknown>): Promise<UnroutableQueryError> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(UnroutableQueryError)
  return err as UnroutableQueryError
}

describe('joins and subqueries across shards are refused by name, before anything is sent', () => {
  it('a join to a table sharded on its own key, whose row lives on the other shard (one database returns 1 row)', async () => {
    const onOne = await f.all('accounts').join('customers', 'customers.id', 'accounts.owner_id').where('accounts.id', 1).select('customers.name')
    expect(onOne).toEqual([{ name: 'c4' }])
    const err = await refusal(() =>
      db.transaction((tx) => tx('accounts').join('customers', 'customers.id', 'accounts.owner_id').where('accounts.id', 1).select('customers.name')),
    )
    expect(err.table).toBe('customers')
    expect(err.message).toMatch(/`customers` \(an inner join\) is sharded by `id`/)
    expect(err.message).toMatch(/colocatedWith/)
    expect(err.message).toMatch(/statement-tables\.test\.ts:\d+/)
    expect(sent).toEqual([])
  })

  it('an UPDATE filtered by a subquery whose rows live on the other shard (one database updates 1 row)', async () => {
    const run = (k: typeof f.all) =>
      k('accounts')
        .where({ id: 1 })
        .whereIn('owner_id', k('orders').select('customer_id').where({ customer_id: 4 }))
        .update({ balance: 0 })
    const err = await refusal(() => db.transaction((tx) => run(tx as never)))
    expect(err.table).toBe('orders')
    expect(err.message).toMatch(/`orders` \(a subquery in WHERE\).*live on shard 80-.*runs on shard -80/)
    expect(await run(f.all)).toBe(1)
    expect(await f.shards.query('-80', 'SELECT balance FROM accounts WHERE id = 1')).toEqual([{ balance: 100 }])
  })

  it('a join whose ON equates the co-located tables on other columns, or with an OR', async () => {
    await refusal(() => db.transaction((tx) => tx('orders').join('customers', 'customers.id', 'orders.id').where('orders.customer_id', 4).select()))
    const err = await refusal(() =>
      db.transaction((tx) =>
        tx('orders')
          .join('customers', function () {
            this.on('customers.id', 'orders.customer_id').orOn('customers.id', 'orders.total')
          })
          .where('orders.customer_id', 4)
          .select(),
      ),
    )
    expect(err.message).toMatch(/equate the co-located key columns/)
  })

  it('a UNION whose parts live on different shards, and a raw fragment that reads a sharded table', async () => {
    await refusal(() =>
      db.transaction((tx) =>
        tx('customers')
          .where({ id: 1 })
          .select('id')
          .union(tx('customers').where({ id: 4 }).select('id')),
      ),
    )
    const err = await refusal(() =>
      db.transaction((tx) => tx('customers').where({ id: 1 }).whereRaw('EXISTS (SELECT 1 FROM accounts WHERE accounts.owner_id = customers.id)').select()),
    )
    expect(err.message).toMatch(/`accounts` \(a whereRaw \(raw SQL\)\)/)
  })

  it('names a table that is not an identifier, and a table missing from the configuration', async () => {
    const bad = await refusal(() => db.transaction((tx) => tx('accounts; DROP TABLE notes').where({ id: 1 }).first()))
    expect(bad.table).toBe('accounts; DROP TABLE notes')
    expect(bad.message).toContain("'accounts; DROP TABLE notes'")
    const ghost = await refusal(() => db.transaction((tx) => tx('accounts').join('ghost table', 'x', 'y').where('accounts.id', 1).select()))
    expect(ghost.message).toContain("'ghost table' (an inner join)")
    const unknown = await refusal(() => db.transaction((tx) => tx('accounts').whereIn('id', tx('payments').select('id')).select()))
    expect(unknown.message).toMatch(/Table `payments` is not in the shardtx configuration \(this statement reads it as a subquery in WHERE\)/)
  })
})

describe('co-located tables (colocatedWith) stay on one shard', () => {
  it('a join on the co-located columns with the key pinned returns what one database returns', async () => {
    for (const id of [1, 4]) {
      const build = (k: typeof f.all) =>
        k('orders').join('customers', 'customers.id', 'orders.customer_id').where('orders.customer_id', id).select('orders.id', 'customers.name')
      const routed = await db.transaction((tx) => build(tx as never))
      expect(asBag(routed)).toEqual(asBag(await build(f.all)))
      expect(routed.length).toBeGreaterThan(0)
    }
  })

  it('a keyless co-located read runs on every shard and still matches one database (left join included)', async () => {
    const build = (k: typeof f.all) => k('customers').leftJoin('orders', 'orders.customer_id', 'customers.id').select('customers.id', 'orders.total')
    expect(asBag(await db.transaction((tx) => build(tx as never)))).toEqual(asBag(await build(f.all)))
  })

  it('subqueries that equate the co-located keys: IN (SELECT key), correlated EXISTS and a correlated SELECT column', async () => {
    const inSub = (k: typeof f.all) =>
      k('customers')
        .whereIn('id', k('orders').select('customer_id').where('total', '>', 25))
        .select('id')
    expect(asBag(await db.transaction((tx) => inSub(tx as never)))).toEqual(asBag(await inSub(f.all)))
    const exists = (k: typeof f.all) =>
      k('customers')
        .whereNotExists(whereColumn(k('orders'), 'orders.customer_id', 'customers.id'))
        .select('id')
    expect(asBag(await db.transaction((tx) => exists(tx as never)))).toEqual(asBag(await exists(f.all)))
    const column = (k: typeof f.all) =>
      k('customers')
        .where({ id: 4 })
        .select('id', whereColumn(k('orders').sum('total'), 'orders.customer_id', 'customers.id').as('spent'))
    expect(asBag(await db.transaction((tx) => column(tx as never)))).toEqual(asBag(await column(f.all)))
  })

  it('an UPDATE filtered by a co-located subquery updates the same rows as one database', async () => {
    const run = (k: typeof f.all) =>
      k('customers')
        .where({ id: 1 })
        .whereIn('id', k('orders').select('customer_id').where('total', '>', 15))
        .update({ name: 'big' })
    expect(await db.transaction((tx) => run(tx as never))).toBe(await run(f.all))
    expect(await f.shards.query('-80', 'SELECT name FROM customers WHERE id = 1')).toEqual([{ name: 'big' }])
  })

  it('a co-located key routes as its key space with a custom router', async () => {
    const calls: string[] = []
    const custom = f.open({ router: (table, key) => (calls.push(table), Number(key) <= 3 ? '-80' : '80-') })
    expect(custom.shardOf('orders', 5)).toBe('80-')
    expect(calls).toEqual(['customers'])
  })
})

describe('reference tables are read and joined from every shard; writes to them are refused in transactions', () => {
  it('joins from a row on each shard, and reads alone, return what one database returns', async () => {
    for (const id of [1, 4]) {
      const build = (k: typeof f.all) =>
        k('customers').join('countries', 'countries.code', 'customers.country').where('customers.id', id).select('customers.id', 'countries.name')
      const routed = await db.transaction((tx) => build(tx as never))
      expect(routed).toHaveLength(1)
      expect(asBag(routed)).toEqual(asBag(await build(f.all)))
    }
    expect(asBag(await db.transaction((tx) => tx('countries').select()))).toEqual(asBag(await f.all('countries').select()))
  })

  it('a reference-only read inside a transaction uses the shard it already writes on', async () => {
    const before = sent.length
    await db.transaction(async (tx) => {
      await tx('customers').where({ id: 4 }).update({ name: 'x' })
      sent.length = before
      await tx('countries').where({ code: 'FR' }).first()
    })
    expect(sent.filter((s) => s.includes('countries'))).toHaveLength(1)
    expect(await f.shards.query('80-', 'SELECT name FROM customers WHERE id = 4')).toEqual([{ name: 'x' }])
  })

  it('a read starting from a reference table is routed by the sharded table it joins, and refused when that one is not pinned', async () => {
    const build = (k: typeof f.all) => k('countries').join('customers', 'customers.country', 'countries.code').where('customers.id', 6).select('countries.name')
    expect(asBag(await db.transaction((tx) => build(tx as never)))).toEqual(asBag(await build(f.all)))
    const err = await refusal(() => db.transaction((tx) => tx('countries').join('customers', 'customers.country', 'countries.code').select()))
    expect(err.message).toMatch(/once per shard/)
  })

  it('refuses writes to a reference table inside a transaction and says how to change it', async () => {
    const err = await refusal(() => db.transaction((tx) => tx('countries').insert({ code: 'DE', name: 'Germany' })))
    expect(err.table).toBe('countries')
    expect(err.message).toMatch(/reference table `countries`.*db\.shard\(name\)\('countries'\)/)
    expect(sent).toEqual([])
  })
})

describe('pinned tables', () => {
  it('join from a row on their own shard, and are refused by name from the other shard', async () => {
    const build = (k: typeof f.all, id: number) => k('accounts').join('notes', 'notes.account_id', 'accounts.id').where('accounts.id', id).select('notes.body')
    expect(asBag(await db.transaction((tx) => build(tx as never, 1)))).toEqual(asBag(await build(f.all, 1)))
    expect(await build(f.all, 4)).toEqual([{ body: 'about 80-' }])
    const err = await refusal(() => db.transaction((tx) => build(tx as never, 4)))
    expect(err.table).toBe('notes')
    expect(err.message).toMatch(/`notes` \(an inner join\) lives only on shard -80, but the statement runs on shard 80-/)
  })
})

describe('insert ... select', () => {
  it('is routed into a pinned table from rows on its shard', async () => {
    await db.transaction((tx) =>
      tx('notes').insert(tx('accounts').where({ id: 2 }).select(tx.shard('-80').raw('100 + id'), 'id', tx.shard('-80').raw("'copied'"))),
    )
    expect(await f.shards.query('-80', 'SELECT id, account_id, body FROM notes WHERE id = 102')).toEqual([{ id: 102, account_id: 2, body: 'copied' }])
  })

  it('is refused into a sharded table, and from rows on another shard', async () => {
    const into = await refusal(() => db.transaction((tx) => tx('orders').insert(tx('orders').where({ customer_id: 1 }).select('*'))))
    expect(into.message).toMatch(/INSERT INTO `orders` \.\.\. SELECT.*tx\('orders'\)\.insert\(rows\)/)
    await refusal(() => db.transaction((tx) => tx('notes').insert(tx('accounts').where({ id: 4 }).select('id', 'id', 'id'))))
    expect(sent).toEqual([])
  })
})

describe('multi-row inserts across shards', () => {
  it('say that one insert spans shards and point to per-shard loading', async () => {
    const err = await db
      .transaction((tx) =>
        tx('accounts').insert([
          { id: 3, owner_id: 3, balance: 0 },
          { id: 5, owner_id: 5, balance: 0 },
          { id: 8, owner_id: 8, balance: 0 },
        ]),
      )
      .catch((e: unknown) => e)
    const spans = db.shardOf('accounts', 8) !== '-80'
    expect(spans).toBe(true)
    expect(err).toBeInstanceOf(CrossShardTransactionError)
    expect((err as Error).message).toMatch(/That one insert into accounts carries rows for 2 shards \(2 on -80, 1 on 80-\)/)
    expect((err as Error).message).toMatch(/db\.shard\(name\)\('accounts'\)\.insert\(rows\)/)
  })
})
