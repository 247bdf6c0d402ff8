import fc from 'fast-check'
import knexFactory from 'knex'
import { describe, expect, it } from 'vitest'
import { UnroutableQueryError } from '../../src/shared/errors.js'
import { createShardMap } from '../../src/routing/shard-map.js'
import { keysFromWhere } from '../../src/routing/shard-key-extraction.js'
import { StatementRouter } from '../../src/routing/statement-router.js'

const knex = knexFactory({ client: 'mysql2' })
const map = createShardMap(['-80', '80-'], 'hash')
const router = new StatementRouter({ accounts: { shardKey: 'id' }, orders: { shardKey: 'customer_id' }, countries: { shard: '80-' } }, map)

describe('StatementRouter (no database)', () => {
  it('classifies reads, locking reads and writes', () => {
    expect(router.route(knex('accounts').where({ id: 1 }).select()).kind).toBe('read')
    expect(router.route(knex('accounts').where({ id: 1 }).forUpdate()).kind).toBe('lock')
    expect(router.route(knex('accounts').where({ id: 1 }).forShare()).kind).toBe('lock')
    expect(router.route(knex('accounts').where({ id: 1 }).increment('balance', 1)).kind).toBe('write')
    expect(router.route(knex('accounts').where({ id: 1 }).del()).kind).toBe('write')
    expect(router.route(knex('accounts').insert({ id: 1 })).kind).toBe('write')
  })

  it('routes by key, sorts target shards canonically and groups keys by shard', () => {
    const r = router.route(knex('accounts').whereIn('id', [4, 1, 6, 2]).update({ x: 1 }))
    expect(r.shards).toEqual(['-80', '80-'])
    expect(r.keysByShard.get('-80')).toEqual([1, 2])
    expect(r.keysByShard.get('80-')).toEqual([4, 6])
  })

  it('understands qualified and aliased key columns', () => {
    expect(router.route(knex('accounts').where('accounts.id', 4).first()).shards).toEqual(['80-'])
    expect(router.route(knex('accounts as a').where('a.id', 4).first()).shards).toEqual(['80-'])
    // a column of another table with the same name does not pin this table's key
    expect(router.route(knex('accounts').where('orders.id', 4).select()).scatter).toBe(true)
  })

  it('builds per-shard inserts that keep every row exactly once', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 30 }), (ids) => {
        const rows = ids.map((customer_id, i) => ({ customer_id, total: i }))
        const r = router.route(knex('orders').insert(rows))
        const perShard = r.perShard ?? new Map([[r.shards[0]!, knex('orders').insert(rows) as never]])
        const seen = [...perShard.entries()].flatMap(([shard, b]) => {
          const inserted = (b as unknown as { _single: { insert: typeof rows } })._single.insert
          for (const row of [inserted].flat()) expect(map.shardForKey('orders', row.customer_id)).toBe(shard)
          return [inserted].flat()
        })
        expect(seen.map((row) => row.total).sort((a, b) => a - b)).toEqual(rows.map((row) => row.total))
      }),
    )
  })

  it('pins tables configured with a shard, whatever the WHERE says', () => {
    expect(router.route(knex('countries').where({ code: 'FR' }).update({ name: 'x' })).shards).toEqual(['80-'])
    expect(router.route(knex('countries').update({ name: 'x' })).shards).toEqual(['80-'])
  })

  it('refuses what it cannot route, naming the table and column', () => {
    expect(() => router.route(knex('accounts').update({ x: 1 }))).toThrow(UnroutableQueryError)
    expect(() => router.route(knex('accounts').where({ id: 1 }).orWhere({ id: 4 }).del())).toThrow(/no OR/)
    expect(() => router.route(knex('accounts').whereNot({ id: 1 }).del())).toThrow(/`id`/)
    expect(() => router.route(knex('accounts').where({ id: 1 }).update({ id: 2 }))).toThrow(/move to another shard/)
    expect(() => router.route(knex('accounts').where({ id: 1 }).increment('id', 1))).toThrow(/move to another shard/)
    expect(() => router.route(knex('nope').where({ id: 1 }).first())).toThrow(/`nope` is not in the shardtx configuration/)
    expect(() => router.route(knex('accounts').truncate())).toThrow(/truncate/)
    expect(() => router.route(knex('accounts').join('payments', 'a', 'b').where({ id: 1 }).first())).toThrow(/`payments`/)
    expect(() => router.route(knex.raw('select 1'))).toThrow(/could not read the knex query builder/)
  })

  it('refuses cross-shard reads it cannot merge, but allows them on one shard', () => {
    expect(() => router.route(knex('accounts').whereIn('id', [1, 4]).limit(1))).toThrow(/LIMIT/)
    expect(() => router.route(knex('accounts').groupBy('id').select('id'))).toThrow(/GROUP BY/)
    expect(() => router.route(knex('accounts').distinct('id'))).toThrow(/DISTINCT/)
    expect(router.route(knex('accounts').whereIn('id', [1, 2]).orderBy('id').limit(1)).shards).toEqual(['-80'])
    expect(router.route(knex('accounts').whereIn('id', [1, 4]).first()).shards).toEqual(['-80', '80-'])
  })
})

describe('keysFromWhere', () => {
  it('ignores nested groups (they only narrow) and negations (they do not pin)', () => {
    const b = knex('a')
      .where({ id: 3 })
      .where((q) => q.where('x', 1).orWhere('y', 2))
      .whereNot({ id: 9 })
    expect(keysFromWhere((b as any)._statements, 'id', ['a'])).toEqual([3])
  })

  it('intersects repeated conditions and dedupes spellings of one key', () => {
    const b = knex('a')
      .whereIn('id', [1, '2', 3n] as never)
      .whereIn('id', ['1', 2, 7] as never)
    expect(keysFromWhere((b as any)._statements, 'id', ['a'])?.map(String)).toEqual(['1', '2'])
  })

  it('does not treat raw values or subqueries as keys', () => {
    const b = knex('a')
      .where('id', knex.raw('?', [1]))
      .whereIn('id', knex('b').select('id'))
    expect(keysFromWhere((b as any)._statements, 'id', ['a'])).toBeUndefined()
  })
})
