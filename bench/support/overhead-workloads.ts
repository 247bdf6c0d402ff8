/**
 * The single-shard workloads of bench/overhead and bench/profile, written once against a
 * knex-style `tx` (so shardtx and plain knex send identical SQL) and once as hand-written SQL for
 * the raw mysql2 floor (the SQL and bindings knex compiles for them, as `builder.toSQL()` shows).
 */
import type { Knex } from 'knex'

/** What a workload needs of a transaction: knex's call form. */
export type Tx = (table: string) => Knex.QueryBuilder

/** One transaction's statements on a knex-style `tx`, for account `id`; `seq` is unique per transaction. */
export type KnexWork = (tx: Tx, id: number, seq: number) => Promise<unknown>

/** The same statements on one raw connection inside BEGIN ... COMMIT. */
export type RawWork = (query: (sql: string, values: unknown[]) => Promise<unknown>, id: number, seq: number) => Promise<unknown>

/** The five statements of a read-modify-write transaction (read, update, update, insert, read). */
async function fiveStatements(tx: Tx, id: number, seq: number): Promise<void> {
  await tx('accounts').where({ id }).first()
  await tx('accounts').where({ id }).decrement('balance', 1)
  await tx('accounts').where({ id }).increment('balance', 1)
  await tx('ledger').insert({ account_id: id, seq, amount: 1 })
  await tx('accounts').where({ id }).first()
}

async function fiveRaw(query: (sql: string, values: unknown[]) => Promise<unknown>, id: number, seq: number): Promise<void> {
  await query('select * from `accounts` where `id` = ? limit ?', [id, 1])
  await query('update `accounts` set `balance` = `balance` - ? where `id` = ?', [1, id])
  await query('update `accounts` set `balance` = `balance` + ? where `id` = ?', [1, id])
  await query('insert into `ledger` (`account_id`, `amount`, `seq`) values (?, ?, ?)', [id, 1, seq])
  await query('select * from `accounts` where `id` = ? limit ?', [id, 1])
}

/** Ledger sequence numbers: a 20-statement transaction inserts 4 rows, so each gets its own block. */
const SEQ_BLOCK = 4

export const WORKLOADS: Record<string, { knex: KnexWork; raw: RawWork }> = {
  '1 statement': {
    knex: (tx, id) => tx('accounts').where({ id }).increment('balance', 1),
    raw: (query, id) => query('update `accounts` set `balance` = `balance` + ? where `id` = ?', [1, id]),
  },
  '5 statements': {
    knex: (tx, id, seq) => fiveStatements(tx, id, seq * SEQ_BLOCK),
    raw: (query, id, seq) => fiveRaw(query, id, seq * SEQ_BLOCK),
  },
  '20 statements': {
    knex: async (tx, id, seq) => {
      for (let i = 0; i < 4; i++) await fiveStatements(tx, id, seq * SEQ_BLOCK + i)
    },
    raw: async (query, id, seq) => {
      for (let i = 0; i < 4; i++) await fiveRaw(query, id, seq * SEQ_BLOCK + i)
    },
  },
}

/** The tables the workloads use, created on every shard. */
export const WORKLOAD_SCHEMA = `
  CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;
  CREATE TABLE ledger (account_id BIGINT NOT NULL, seq BIGINT NOT NULL, amount BIGINT NOT NULL, PRIMARY KEY (account_id, seq)) ENGINE=InnoDB;
`
