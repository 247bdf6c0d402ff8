import knexFactory from 'knex'
import { describe, expect, it } from 'vitest'
import { resolveKeySpaces } from '../../src/config/key-spaces.js'
import { resolveTables } from '../../src/config/tables.js'
import { rawFragmentTables } from '../../src/routing/raw-fragment-tables.js'
import { createShardMap } from '../../src/routing/shard-map.js'
import { StatementRouter } from '../../src/routing/statement-router.js'
import { UnroutableQueryError } from '../../src/shared/errors.js'
import { whereColumn } from '../support/colocation-fixture.js'

const knex = knexFactory({ client: 'mysql2' })
const map = createShardMap(['-80', '80-'], 'hash')
const tables = {
  customers: { shardKey: 'id' },
  orders: { shardKey: 'customer_id', colocatedWith: 'customers' },
  items: { shardKey: 'customer_id', colocatedWith: 'orders' },
  accounts: { shardKey: 'id' },
  countries: { reference: true as const },
  notes: { shard: '-80' },
}
const router = new StatementRouter(tables, map)
const route = (b: unknown) => router.route(b)
const refusedNaming = (b: unknown, table: string) => {
  let err: unknown
  try {
    route(b)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(UnroutableQueryError)
  expect((err as UnroutableQueryError).table).toBe(table)
}

describe('tables configuration', () => {
  it('resolves colocatedWith chains to one key space', () => {
    const { placements } = resolveTables(tables, map.order)
    expect(placements.get('items')).toMatchObject({ kind: 'sharded', keySpace: 'customers' })
    expect(placements.get('countries')).toEqual({ kind: 'reference' })
  })

  it('refuses loops, unknown and unsharded targets, and options on the wrong kind of table, naming the option', () => {
    const fail = (table: string, message: string): never => {
      throw new Error(`${table}: ${message}`)
    }
    expect(() => resolveKeySpaces({ a: { shardKey: 'x', colocatedWith: 'b' }, b: { shardKey: 'y', colocatedWith: 'a' } }, fail)).toThrow(
      /loops \(a -> b -> a\)/,
    )
    expect(() => resolveTables({ a: { shardKey: 'x', colocatedWith: 'nope' } }, map.order)).toThrow(/`tables.a.colocatedWith`.*'nope', which is not listed/)
    expect(() => resolveTables({ a: { shardKey: 'x', colocatedWith: 'c' }, c: { reference: true } }, map.order)).toThrow(/'c' is a reference table/)
    expect(() => resolveTables({ c: { reference: true, sequence: { table: 's' } } }, map.order)).toThrow(/`tables.c.sequence`: only a sharded table/)
    expect(() => resolveTables({ c: { reference: 'yes' } }, map.order)).toThrow(/`tables.c.reference` to be true/)
    expect(() => resolveTables({ c: { reference: true, shard: '-80' } }, map.order)).toThrow(/exactly one of.*got shard and reference/)
  })
})

describe('raw fragments', () => {
  it('lists the tables a fragment reads, and reports what it cannot parse', () => {
    expect(rawFragmentTables('balance > ? AND NOW() > created', 'expression')).toEqual([])
    expect(rawFragmentTables('EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = id)', 'expression')).toEqual(['orders'])
    expect(rawFragmentTables('LEFT JOIN countries c ON c.code = x.country', 'join')).toEqual(['countries'])
    expect(rawFragmentTables('EXISTS (SELECT', 'expression')).toBeInstanceOf(Error)
  })
})

describe('every referenced table is placed (no database)', () => {
  it('follows co-location through a chain and through callbacks, CTEs, subqueries in FROM and SELECT', () => {
    expect(route(knex('items').join('customers', 'customers.id', 'items.customer_id').where('items.customer_id', 4)).shards).toEqual(['80-'])
    expect(
      route(
        knex('customers')
          .where('id', 4)
          .whereIn('id', function () {
            this.select('customer_id').from('orders')
          }),
      ).shards,
    ).toEqual(['80-'])
    expect(
      route(
        knex('x')
          .with('x', knex('orders').where({ customer_id: 4 }))
          .select(),
      ).shards,
    ).toEqual(['80-'])
    expect(route(knex.from(knex('orders').where({ customer_id: 1 }).as('o')).select()).shards).toEqual(['-80'])
    const counted = knex('customers').select({ n: whereColumn(knex('orders').count('*'), 'orders.customer_id', 'customers.id') })
    expect(route(counted).scatter).toBe(true)
  })

  it('refuses by name what a shard could not answer alone', () => {
    refusedNaming(
      knex('accounts')
        .where({ id: 1 })
        .union(function () {
          this.select('*').from('accounts').where({ id: 4 })
        }),
      'accounts',
    )
    refusedNaming(
      knex('accounts')
        .where({ id: 1 })
        .where((q) => q.whereIn('owner_id', knex('orders').select('id')).orWhere('x', 1)),
      'orders',
    )
    refusedNaming(
      knex('customers')
        .where({ id: 1 })
        .havingIn('id', knex('accounts').select('owner_id') as never)
        .groupBy('id'),
      'accounts',
    )
    refusedNaming(knex('customers').where({ id: 1 }).orderByRaw('(SELECT MAX(balance) FROM accounts)'), 'accounts')
    refusedNaming(
      knex('orders').join('customers', 'customers.id', 'orders.customer_id').where('orders.customer_id', 4).update({ 'customers.id': 5 }),
      'customers',
    )
    refusedNaming(knex('orders').insert(knex('orders').select('*').where({ customer_id: 1 })), 'orders')
    refusedNaming(knex('countries').where({ code: 'FR' }).update({ name: 'x' }), 'countries')
    refusedNaming(knex('countries').where({ code: 'FR' }).forUpdate(), 'countries')
    refusedNaming(knex('customers').where({ id: 4 }).joinRaw('JOIN notes ON notes.account_id = customers.id'), 'notes')
    expect(route(knex('customers').where({ id: 1 }).joinRaw('JOIN notes ON notes.account_id = customers.id')).shards).toEqual(['-80'])
  })

  it('refuses a raw fragment it cannot parse, and a table name that is not an identifier, naming it', () => {
    expect(() => route(knex('customers').where({ id: 1 }).whereRaw('EXISTS (SELECT'))).toThrow(/could not read a whereRaw/)
    expect(() => route(knex('accounts').join('ghost table', 'a', 'b').where('accounts.id', 1))).toThrow(
      /'ghost table' \(an inner join\) is not a plain table name/,
    )
  })

  it('routes a read of reference tables alone to any one shard', () => {
    const r = route(knex('countries').join('countries as c2', 'c2.code', 'countries.code').select())
    expect(r.anyShard).toBe(true)
    expect(r.shards).toHaveLength(1)
  })
})
