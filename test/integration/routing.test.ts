import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { UnroutableQueryError, type ShardedDb } from '../../src/index.js'
import { createFoundation, HIGH, LOW, type Foundation } from '../support/foundation-fixture.js'

let f: Foundation
let db: ShardedDb

beforeAll(async () => {
  f = await createFoundation()
  db = f.open({ crossShard: 'warn' })
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

describe('routing of builder forms to real shards', () => {
  it('shardOf follows the Vitess hash vindex', () => {
    for (const id of LOW) expect(db.shardOf('accounts', id)).toBe('-80')
    for (const id of HIGH) expect(db.shardOf('accounts', id)).toBe('80-')
    expect(db.shardOf('accounts', 4n)).toBe('80-')
    expect(db.shardOf('accounts', '4')).toBe('80-')
    expect(db.shardOf('countries', 'anything')).toBe('-80')
  })

  it('inserts one row on the shard of its key', async () => {
    await db.transaction((tx) => tx('accounts').insert({ id: 12, balance: 7 }))
    const shard = db.shardOf('accounts', 12)
    const other = shard === '-80' ? '80-' : '-80'
    expect((await f.rows(shard, 'accounts')).map((r) => Number(r.id))).toContain(12)
    expect((await f.rows(other, 'accounts')).map((r) => Number(r.id))).not.toContain(12)
  })

  it('routes tx.table(), tx.from() and tx.into() like tx(), as knex transactions have them', async () => {
    await db.transaction((tx) => tx.into('accounts').insert({ id: 12, balance: 7 }))
    await db.transaction((tx) => tx.table('accounts').where({ id: 12 }).increment('balance', 1))
    const row = await db.transaction((tx) => tx.from('accounts').where({ id: 12 }).first())
    expect(Number(row.balance)).toBe(8)
    expect((await f.rows(db.shardOf('accounts', 12), 'accounts')).map((r) => Number(r.id))).toContain(12)
    const refused = await db.transaction((tx) => tx.table('accounts').update({ balance: 0 })).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(UnroutableQueryError)
    // The line of the statement, not shardtx's own: the aliases record the caller like tx() does.
    expect((refused as UnroutableQueryError).location?.file).toBe('test/integration/routing.test.ts')
  })

  it('splits a multi-row insert across shards, each row on its own shard', async () => {
    await db.transaction((tx) => tx('orders').insert([1, 4, 5, 6].map((customer_id) => ({ customer_id, total: customer_id * 10 }))))
    expect((await f.rows('-80', 'orders')).map((r) => Number(r.customer_id)).sort()).toEqual([1, 5])
    expect((await f.rows('80-', 'orders')).map((r) => Number(r.customer_id)).sort()).toEqual([4, 6])
  })

  it('routes update, increment, decrement and delete by the key in WHERE', async () => {
    await db.transaction(async (tx) => {
      expect(await tx('accounts').where({ id: 4 }).update({ name: 'four' })).toBe(1)
      expect(await tx('accounts').where('id', 4).increment('balance', 5)).toBe(1)
      expect(await tx('accounts').where('accounts.id', '=', 4).decrement('balance', 2)).toBe(1)
    })
    await db.transaction((tx) => tx('accounts').where({ id: 2 }).del())
    const high = await f.rows('80-', 'accounts')
    expect(high.find((r) => Number(r.id) === 4)).toMatchObject({ name: 'four', balance: 103 })
    expect((await f.rows('-80', 'accounts')).map((r) => Number(r.id))).toEqual([1, 3, 5])
  })

  it('reads by key with first, pluck and select', async () => {
    await db.transaction(async (tx) => {
      expect(await tx('accounts').where({ id: 6 }).first()).toMatchObject({ id: 6, balance: 100 })
      expect(await tx('accounts').where({ id: 3 }).pluck('balance')).toEqual([100])
      expect(await tx('accounts').where({ id: 99 }).first()).toBeUndefined()
    })
  })

  it('merges whereIn reads that span shards, and runs keyless reads on every shard', async () => {
    const rows = await db.transaction((tx) => tx('accounts').whereIn('id', [1, 4, 6]).select('id'))
    expect(rows.map((r: { id: number }) => Number(r.id)).sort()).toEqual([1, 4, 6])
    const all = await db.transaction((tx) => tx('accounts').select('id'))
    expect(all).toHaveLength(LOW.length + HIGH.length)
    const first = await db.transaction((tx) => tx('accounts').whereIn('id', [4, 5]).first())
    expect([4, 5]).toContain(Number(first.id))
  })

  it('intersects AND-ed key conditions and treats whereIn([]) as matching nothing without a round trip', async () => {
    const sent: string[] = []
    for (const name of db.shardNames) db.shard(name).on('query', (q: { sql: string }) => sent.push(q.sql))
    await db.transaction(async (tx) => {
      expect(await tx('accounts').whereIn('id', [1, 4]).where({ id: 4 }).first()).toMatchObject({ id: 4 })
      expect(await tx('accounts').whereIn('id', []).select()).toEqual([])
      expect(await tx('accounts').whereIn('id', []).update({ name: 'x' })).toBe(0)
    })
    expect(sent).toHaveLength(1)
  })

  it("locks with forUpdate and forShare on the key's shard only", async () => {
    await db.transaction(async (tx) => {
      expect(await tx('accounts').where({ id: 5 }).forUpdate().first()).toMatchObject({ id: 5 })
      expect(await tx('accounts').where({ id: 1 }).forShare().first()).toMatchObject({ id: 1 })
      expect(tx.shards).toEqual(['-80'])
    })
  })

  it('keeps pinned tables on their shard', async () => {
    await db.transaction((tx) => tx('countries').insert({ code: 'FR', name: 'France' }))
    expect(await f.rows('-80', 'countries')).toEqual([{ code: 'FR', name: 'France' }])
    expect(await f.rows('80-', 'countries')).toEqual([])
  })

  it('sends raw SQL through an explicit shard handle, with bindings', async () => {
    const [rows] = await db.transaction((tx) => tx.shard('80-').raw('SELECT balance FROM accounts WHERE id = ?', [6]))
    expect(rows).toEqual([{ balance: 100 }])
  })

  it('reads inside a transaction see its own uncommitted writes on that shard', async () => {
    await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 4 }).update({ balance: 1 })
      expect(await tx('accounts').where({ id: 4 }).first()).toMatchObject({ balance: 1 })
    })
  })

  it('binds hostile key strings instead of splicing them into SQL', async () => {
    const hostile = "1' OR '1'='1"
    const rows = await db.transaction((tx) => tx('orders').whereIn('customer_id', [4]).where({ customer_id: 4 }).select())
    expect(rows).toEqual([])
    const sql = db.shard('-80')('accounts').where({ id: hostile }).toSQL().sql
    expect(sql).not.toContain(hostile)
    // hash routes integers only: such a key is refused before anything is sent
    await expect(db.transaction((tx) => tx('accounts').where({ id: hostile }).first())).rejects.toThrow(TypeError)
  })
})

describe('statements shardtx refuses to guess about', () => {
  it('names the table and the key column when a write cannot be routed', async () => {
    const err = await db.transaction((tx) => tx('accounts').where({ name: 'x' }).update({ balance: 0 })).catch((e) => e)
    expect(err).toBeInstanceOf(UnroutableQueryError)
    expect(err.code).toBe('SHARDTX_UNROUTABLE')
    expect(err.table).toBe('accounts')
    expect(err.keyColumn).toBe('id')
    expect(err.message).toMatch(/shard key column `id`/)
    expect(err.message).toMatch(/routing\.test\.ts:\d+/)
  })

  it('refuses an OR that could reach any shard, even with the key present', async () => {
    await expect(db.transaction((tx) => tx('accounts').where({ id: 1 }).orWhere({ name: 'x' }).update({ balance: 0 }))).rejects.toThrow(UnroutableQueryError)
  })

  it('refuses an insert without its shard key', async () => {
    await expect(db.transaction((tx) => tx('orders').insert({ total: 1 }))).rejects.toThrow(/shard key column `customer_id`/)
  })

  it('refuses to change the shard key of a row', async () => {
    await expect(db.transaction((tx) => tx('accounts').where({ id: 1 }).update({ id: 4 }))).rejects.toThrow(/move to another shard/)
  })

  it('refuses a table missing from the configuration, naming it', async () => {
    await expect(db.transaction((tx) => tx('payments').where({ id: 1 }).first())).rejects.toThrow(/Table `payments` is not in the shardtx configuration/)
  })

  it('refuses cross-shard reads it cannot merge (ORDER BY, LIMIT, aggregates)', async () => {
    await expect(db.transaction((tx) => tx('accounts').orderBy('id').select())).rejects.toThrow(/ORDER BY/)
    await expect(db.transaction((tx) => tx('accounts').whereIn('id', [1, 4]).count())).rejects.toThrow(/aggregate/)
    // the same shapes on one shard are fine
    const counted: { n: number }[] = await db.transaction((tx) => tx('accounts').whereIn('id', [1, 2]).count({ n: '*' }))
    expect(Number(counted[0]!.n)).toBe(2)
  })

  it('refuses tx.raw without a shard, and a locking read without a key', async () => {
    const refused = await db.transaction(async (tx) => tx.raw('SELECT 1')).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(UnroutableQueryError)
    expect((refused as Error).message).toMatch(/tx\.shard\(name\)\.raw/)
    // The line that called tx.raw (captured by the instance's raw, not by knex's client).
    expect((refused as UnroutableQueryError).location?.file).toBe('test/integration/routing.test.ts')
    await expect(db.transaction((tx) => tx('accounts').forUpdate().select())).rejects.toThrow(UnroutableQueryError)
  })

  it('refuses statements on a transaction that has ended', async () => {
    let leaked: ((t: string) => any) | undefined
    await db.transaction(async (tx) => {
      leaked = tx
    })
    await expect(leaked!('accounts').where({ id: 1 }).first()).rejects.toThrow(/has already ended/)
  })
})
