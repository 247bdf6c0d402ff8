/**
 * Two real shards (`-80`, `80-`) and a third database (`all`) that holds every row of both, with
 * a schema that has each kind of table: `customers` and the co-located `orders`, `accounts`
 * sharded on their own, `countries` (a reference table, the same rows everywhere) and `notes`
 * (pinned to `-80`). A statement shardtx accepts must return on the shards what it returns on
 * `all`. With the hash vindex, keys 1, 2, 3, 5 live on `-80` and 4, 6 on `80-`.
 */
import knexFactory, { type Knex } from 'knex'
import { createShardedDb, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { createTestShards, type TestShards } from './shard-databases.js'

export const SCHEMA = `
  CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL, country CHAR(2) NULL) ENGINE=InnoDB;
  CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, total INT NOT NULL) ENGINE=InnoDB;
  CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner_id BIGINT NOT NULL, balance INT NOT NULL) ENGINE=InnoDB;
  CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(50) NOT NULL) ENGINE=InnoDB;
  CREATE TABLE notes (id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL, body VARCHAR(50) NOT NULL) ENGINE=InnoDB;
  CREATE TABLE customer_seq (id INT PRIMARY KEY, next_id BIGINT NOT NULL, cache BIGINT NOT NULL) ENGINE=InnoDB COMMENT 'vitess_sequence';
`

export const TABLES: ShardedDbOptions['tables'] = {
  customers: { shardKey: 'id' },
  orders: { shardKey: 'customer_id', colocatedWith: 'customers' },
  accounts: { shardKey: 'id' },
  countries: { reference: true },
  notes: { shard: '-80' },
}

export const CUSTOMERS = [1, 2, 3, 4, 5, 6].map((id) => ({ id, name: `c${id}`, country: id % 2 === 0 ? 'FR' : 'NL' }))
/** Orders of customers on both shards; order ids are unrelated to customer ids. */
export const ORDERS = [
  { id: 11, customer_id: 1, total: 10 },
  { id: 12, customer_id: 1, total: 20 },
  { id: 13, customer_id: 4, total: 30 },
  { id: 14, customer_id: 6, total: 40 },
  { id: 15, customer_id: 2, total: 50 },
]
/** Account 1 (on -80) belongs to customer 4 (on 80-), account 4 (on 80-) to customer 1 (on -80). */
export const ACCOUNTS = [
  { id: 1, owner_id: 4, balance: 100 },
  { id: 2, owner_id: 2, balance: 100 },
  { id: 4, owner_id: 1, balance: 100 },
  { id: 6, owner_id: 6, balance: 100 },
]
export const COUNTRIES = [
  { code: 'FR', name: 'France' },
  { code: 'NL', name: 'Netherlands' },
]
/** Notes live on -80 only; they refer to accounts on both shards. */
export const NOTES = [
  { id: 1, account_id: 1, body: 'on -80' },
  { id: 2, account_id: 4, body: 'about 80-' },
]

export interface ColocationFixture {
  shards: TestShards
  /** A ShardedDb over `-80` and `80-`; closed by `close()`. */
  open(options?: Partial<ShardedDbOptions>): ShardedDb
  /** knex on the database holding every row. */
  all: Knex
  /** Deletes every row and loads the rows above: each sharded row on its shard, all rows in `all`. */
  reset(): Promise<void>
  close(): Promise<void>
}

export async function createColocationFixture(): Promise<ColocationFixture> {
  const shards = await createTestShards({ names: ['-80', '80-', 'all'] })
  await shards.execAll(SCHEMA)
  const opened: ShardedDb[] = []
  const two = { '-80': shards.shards['-80']!, '80-': shards.shards['80-']! }
  const all = knexFactory({ client: 'mysql2', connection: shards.shards['all']!, pool: { min: 0, max: 2 } })
  const loader = createShardedDb({ shards: two, tables: TABLES })
  const fixture: ColocationFixture = {
    shards,
    all,
    open(options = {}) {
      const db = createShardedDb({ shards: two, tables: TABLES, ...options })
      opened.push(db)
      return db
    },
    async reset() {
      await shards.execAll(
        'DELETE FROM customers; DELETE FROM orders; DELETE FROM accounts; DELETE FROM countries; DELETE FROM notes; DELETE FROM customer_seq;',
      )
      const place = async (table: string, rows: Record<string, unknown>[], key: string) => {
        await all(table).insert(rows)
        for (const shard of loader.shardNames) {
          const mine = rows.filter((row) => loader.shardOf(table, row[key] as number) === shard)
          if (mine.length > 0) await loader.shard(shard)(table).insert(mine)
        }
      }
      await place('customers', CUSTOMERS, 'id')
      await place('orders', ORDERS, 'customer_id')
      await place('accounts', ACCOUNTS, 'id')
      await all('countries').insert(COUNTRIES)
      for (const shard of loader.shardNames) await loader.shard(shard)('countries').insert(COUNTRIES)
      await all('notes').insert(NOTES)
      await loader.shard('-80')('notes').insert(NOTES)
    },
    async close() {
      await Promise.all([...opened, loader].map((db) => db.destroy()))
      await all.destroy()
      await shards.drop()
    },
  }
  return fixture
}

/** Rows as a sorted list of JSON strings: shards answer in their own order, and numbers may come back as strings. */
export function asBag(rows: unknown): string[] {
  const list = Array.isArray(rows) ? rows : rows === undefined ? [] : [rows]
  return list.map((row) => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort()
}

/** knex's `whereColumn(left, right)`: in knex 3 at run time, missing from its type definitions. */
export function whereColumn<Q extends Knex.QueryBuilder>(q: Q, left: string, right: string): Q {
  return (q as unknown as { whereColumn(a: string, b: string): Q }).whereColumn(left, right)
}
