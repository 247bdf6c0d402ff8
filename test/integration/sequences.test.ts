/**
 * Keys for new rows: a table with a `sequence` gets the shard key of inserted rows that lack it
 * from a counter table on one shard (Vitess sequences), and the insert resolves to the first
 * generated id as knex's does on MySQL. Two processes inserting at once never get the same id,
 * and a restarted process skips at most the rest of one block.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createShardedDb, type ShardedDb } from '../../src/index.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { SEQUENCE_BLOCK, SEQUENCE_SCHEMA, SEQUENCE_TABLES } from '../support/sequence-tables.js'
import { runChild } from './bounded-child.js'

let t: TestShards
let db: ShardedDb
const shardOfRow = async (id: number) => {
  for (const name of t.names) if ((await t.query(name, 'SELECT id FROM customers WHERE id = ?', [id])).length > 0) return name
  return undefined
}

beforeAll(async () => {
  t = await createTestShards({ names: ['-80', '80-'] })
  await t.execAll(SEQUENCE_SCHEMA)
  db = createShardedDb({ shards: t.shards, tables: SEQUENCE_TABLES })
})
afterAll(async () => {
  await db.destroy()
  await t.drop()
})
beforeEach(async () => {
  await t.execAll('DELETE FROM customers; DELETE FROM customer_seq;')
  await t.query('-80', 'INSERT INTO customer_seq (id, next_id, cache) VALUES (0, 1, 100)')
})

describe('sequences fill the shard key of new rows', () => {
  it('resolves to [generated id] and stores the row on the shard of that id', async () => {
    const [first] = (await db.transaction((tx) => tx('customers').insert({ name: 'a' }))) as number[]
    const [second] = (await db.transaction((tx) => tx('customers').insert({ name: 'b', id: null }))) as number[]
    expect([first, second]).toEqual([1, 2])
    for (const id of [first!, second!]) expect(await shardOfRow(id)).toBe(db.shardOf('customers', id))
    // one block was reserved for both: next_id moved once
    expect(await t.query('-80', 'SELECT next_id FROM customer_seq')).toEqual([{ next_id: 1 + SEQUENCE_BLOCK }])
  })

  it('fills only the rows without a key, and a multi-row insert resolves to its first generated id', async () => {
    const result = await db.transaction((tx) => tx('customers').insert([{ name: 'x', id: 101 }, { name: 'y' }, { name: 'z' }]), {
      crossShard: 'warn',
      reason: 'test: rows of one insert on both shards',
    })
    // This process may still hold ids of a block reserved by an earlier test: the counter table is not its memory.
    const [first] = result as number[]
    const rows = [...(await t.query('-80', 'SELECT id, name FROM customers')), ...(await t.query('80-', 'SELECT id, name FROM customers'))]
    expect(rows.map((r) => `${r.id}:${r.name}`).sort()).toEqual(['101:x', `${first}:y`, `${first! + 1}:z`].sort())
  })

  it('accepts a generator function', async () => {
    let next = 500
    const generated = createShardedDb({ shards: t.shards, tables: { customers: { shardKey: 'id', sequence: () => next++ } } })
    try {
      expect(await generated.transaction((tx) => tx('customers').insert({ name: 'g' }))).toEqual([500])
      expect(await shardOfRow(500)).toBe(generated.shardOf('customers', 500))
      const bad = createShardedDb({ shards: t.shards, tables: { customers: { shardKey: 'id', sequence: () => ({}) as never } } })
      await expect(bad.transaction((tx) => tx('customers').insert({ name: 'h' }))).rejects.toThrow(/`tables.customers.sequence` to return a shard key/)
      await bad.destroy()
    } finally {
      await generated.destroy()
    }
  })

  it('explains a sequence table without its row', async () => {
    await t.query('-80', 'DELETE FROM customer_seq')
    const fresh = createShardedDb({ shards: t.shards, tables: SEQUENCE_TABLES })
    try {
      await expect(fresh.transaction((tx) => tx('customers').insert({ name: 'n' }))).rejects.toThrow(
        /sequence of `customers` \(table `customer_seq` on shard -80\).*no row with id = 0.*INSERT INTO customer_seq/,
      )
    } finally {
      await fresh.destroy()
    }
  })

  it('validates the option, naming it', () => {
    const make = (sequence: unknown) => () => createShardedDb({ shards: t.shards, tables: { customers: { shardKey: 'id', sequence } as never } })
    expect(make({ table: 'customer_seq', blockSize: 1_000_000 })).toThrow(/`tables.customers.sequence.blockSize` to be an integer from 1 to 1000/)
    expect(make({ table: 'x; drop' })).toThrow(/`tables.customers.sequence.table`/)
    expect(make({ table: 'customer_seq', shard: 'nope' })).toThrow(/`tables.customers.sequence.shard`/)
    expect(make(42)).toThrow(/`tables.customers.sequence`/)
  })
})

describe('two processes, 64 concurrent inserts each, started twice', () => {
  it('never hand out the same id, and skip at most one block per process start', { timeout: 120_000 }, async () => {
    const env = { SHARDTX_SEQ_SHARDS: JSON.stringify(t.shards), SHARDTX_SEQ_INSERTS: '64' }
    const ids: number[] = []
    const starts = 2
    for (let round = 0; round < starts; round++) {
      // A child is killed after 100 s: 64 inserts take well under a second; the margin is for a loaded machine.
      const results = await Promise.all([1, 2].map(() => runChild<{ ids: number[] }>('sequence-inserts.child.ts', 100_000, env)))
      for (const r of results) ids.push(...r.ids)
    }
    const processes = starts * 2
    expect(ids).toHaveLength(processes * 64)
    expect(new Set(ids).size).toBe(ids.length)
    const stored = [...(await t.query('-80', 'SELECT id FROM customers')), ...(await t.query('80-', 'SELECT id FROM customers'))]
    expect(stored.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b))
    for (const id of ids.slice(0, 20)) expect(await shardOfRow(id)).toBe(db.shardOf('customers', id))
    // Every id below the highest was handed out, except the unused rest of each process's last block.
    const sorted = [...ids].sort((a, b) => a - b)
    const skipped = sorted.at(-1)! - sorted[0]! + 1 - sorted.length
    expect(sorted[0]).toBe(1)
    expect(skipped).toBeLessThan(processes * SEQUENCE_BLOCK)
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]! - 1).toBeLessThan(SEQUENCE_BLOCK)
  })
})
