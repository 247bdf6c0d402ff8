/**
 * The rows of bench/contention: named ways to run the shared bank's transfers
 * (test/support/bank.ts). To add a row, append a {@link Workload} to {@link WORKLOADS}, e.g.
 *
 * ```ts
 * { name: 'split', transfers: crossShardTransfers,
 *   open: ({ bank, countCallback }) => ({
 *     run: (t) => bank.db.transaction((tx) => { countCallback(); return applyTransfer(tx, t) }, { crossShard: 'split' }),
 *     close: async () => {},
 *   }) }
 * ```
 */
import knexFactory, { type Knex } from 'knex'
import mysql from 'mysql2/promise'
import type { TransactionOptions } from '../src/index.js'
import { applyTransfer, crossShardTransfers, sameShardTransfers, type Bank, type Transfer } from '../test/support/bank.js'
import type { TestShards } from '../test/support/shard-databases.js'

/** The naive row's session lock wait timeout, in seconds: long enough to be a stall, short enough to end. */
export const NAIVE_LOCK_WAIT_SECONDS = 2

export interface WorkloadContext {
  /** A fresh bank for this row: accounts on every shard, a ShardedDb whose logger feeds the row's counters. */
  bank: Bank
  shards: TestShards
  /** Pool size per shard (one connection per worker). */
  poolMax: number
  /** Call once per run of a transaction callback: attempts beyond one per transfer are restarts or retries. */
  countCallback(): void
}

export interface RowRunner {
  /** Runs one transfer to completion; throws if it did not commit. */
  run(t: Transfer): Promise<void>
  close(): Promise<void>
}

export interface Workload {
  name: string
  /** The transfers of this row: between shards, or both accounts on one shard. */
  transfers(bank: Bank, count: number): Transfer[]
  /** Stop starting transfers after this long, in ms: for rows that stall. Undefined runs them all. */
  boundMs?: number
  open(ctx: WorkloadContext): RowRunner | Promise<RowRunner>
}

/** A row that runs each transfer as one shardtx transaction with these options. */
function throughShardtx(options: (t: Transfer) => TransactionOptions): Workload['open'] {
  return ({ bank, countCallback }) => ({
    run: async (t) => {
      await bank.db.transaction((tx) => {
        countCallback()
        return applyTransfer(tx, t)
      }, options(t))
    },
    close: async () => {},
  })
}

/**
 * The incident as applications write it without shardtx: a knex transaction on the debited
 * account's shard, held open while a second one on the credited account's shard does its part,
 * then both commit. Half the transfers go each way, so they lock in opposite orders.
 */
function naiveKnex(boundMs: number): Workload {
  return {
    name: 'naive multi-shard (plain knex)',
    transfers: crossShardTransfers,
    boundMs,
    open({ bank, shards, poolMax }) {
      const knexes = new Map<string, Knex>(
        shards.names.map((name) => [
          name,
          knexFactory({
            client: 'mysql2',
            connection: shards.shards[name]!,
            pool: {
              min: 0,
              max: poolMax,
              // Per session, so the stall ends in seconds instead of the default 50.
              afterCreate: (conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, c: unknown) => void) =>
                conn.query(`SET SESSION innodb_lock_wait_timeout = ${NAIVE_LOCK_WAIT_SECONDS}`, (err) => done(err, conn)),
            },
          }),
        ]),
      )
      const on = (id: number) => knexes.get(bank.db.shardOf('accounts', id))!
      return {
        async run(t) {
          const open: Knex.Transaction[] = []
          try {
            const debit = await on(t.from).transaction()
            open.push(debit)
            await debit('accounts').where({ id: t.from }).decrement('balance', t.amount)
            const credit = await on(t.to).transaction()
            open.push(credit)
            await credit('accounts').where({ id: t.to }).increment('balance', t.amount)
            await debit('ledger').insert({ transfer_id: t.id, account_id: t.from, amount: -t.amount })
            await credit('ledger').insert({ transfer_id: t.id, account_id: t.to, amount: t.amount })
            await debit.commit()
            await credit.commit()
          } catch (err) {
            for (const trx of open) await trx.rollback().catch(() => undefined)
            throw err
          }
        },
        close: async () => {
          await Promise.all([...knexes.values()].map((k) => k.destroy()))
        },
      }
    },
  }
}

/** Names of the two raw-mysql2 rows; their ratio is the floor bench/contention prints. */
export const FLOOR_TWO_SHARDS = 'raw mysql2 floor, two shards'
export const FLOOR_ONE_SHARD = 'raw mysql2 floor, one shard'

/**
 * What this machine allows at all, with no library in the way: the same transfers sent as raw
 * mysql2 statements, on connections with autocommit off (no BEGIN round trip, as shardtx's session
 * pools), each account's update and ledger row on its own shard, shards locked and committed in
 * canonical order by hand and rows in id order (so nothing deadlocks and nothing is retried).
 * The ratio of the two floor rows is the best any coordination could reach here; the shardtx
 * rows pay their routing, policies and knex on top.
 */
function rawFloor(kind: 'two shards' | 'one shard'): Workload {
  return {
    name: kind === 'two shards' ? FLOOR_TWO_SHARDS : FLOOR_ONE_SHARD,
    transfers: kind === 'two shards' ? crossShardTransfers : sameShardTransfers,
    open({ bank, shards, poolMax }) {
      const pools = new Map(
        shards.names.map((name) => {
          const pool = mysql.createPool({ ...shards.shards[name]!, connectionLimit: poolMax })
          pool.on('connection', (conn) => void conn.query('SET SESSION autocommit = 0'))
          return [name, pool] as const
        }),
      )
      const rank = (id: number) => bank.db.shardNames.indexOf(bank.db.shardOf('accounts', id))
      return {
        async run(t) {
          // One entry per account: its shard, its balance change, its ledger row; in canonical (shard, id) order.
          const legs = [
            { id: t.from, delta: -t.amount },
            { id: t.to, delta: t.amount },
          ].sort((a, b) => rank(a.id) - rank(b.id) || a.id - b.id)
          const conns = new Map<string, mysql.PoolConnection>()
          try {
            for (const leg of legs) {
              const shard = bank.db.shardOf('accounts', leg.id)
              let conn = conns.get(shard)
              if (conn === undefined) conns.set(shard, (conn = await pools.get(shard)!.getConnection()))
              await conn.query('UPDATE accounts SET balance = balance + ? WHERE id = ?', [leg.delta, leg.id])
              await conn.query('INSERT INTO ledger (transfer_id, account_id, amount) VALUES (?, ?, ?)', [t.id, leg.id, leg.delta])
            }
            for (const conn of conns.values()) await conn.query('COMMIT')
          } catch (err) {
            for (const conn of conns.values()) await conn.query('ROLLBACK').catch(() => undefined)
            throw err
          } finally {
            for (const conn of conns.values()) conn.release()
          }
        },
        close: async () => {
          await Promise.all([...pools.values()].map((p) => p.end()))
        },
      }
    },
  }
}

/** The rows, in table order. `single-shard baseline` is what the others' throughput is compared with. */
export const WORKLOADS: readonly Workload[] = [
  naiveKnex(20_000),
  {
    name: 'ordered, declared lock set',
    transfers: crossShardTransfers,
    open: throughShardtx((t) => ({ crossShard: 'ordered', lock: { accounts: [t.from, t.to] } })),
  },
  {
    name: 'ordered, learned lock set',
    transfers: crossShardTransfers,
    open: throughShardtx(() => ({ crossShard: 'ordered' })),
  },
  {
    name: 'atomic, declared lock set',
    transfers: crossShardTransfers,
    open: throughShardtx((t) => ({ crossShard: 'atomic', lock: { accounts: [t.from, t.to] } })),
  },
  {
    name: 'atomic, learned lock set',
    transfers: crossShardTransfers,
    open: throughShardtx(() => ({ crossShard: 'atomic' })),
  },
  {
    name: 'split',
    transfers: crossShardTransfers,
    open: throughShardtx(() => ({ crossShard: 'split' })),
  },
  {
    name: 'single-shard baseline',
    transfers: sameShardTransfers,
    open: throughShardtx(() => ({})),
  },
  rawFloor('two shards'),
  rawFloor('one shard'),
]

export const BASELINE = 'single-shard baseline'
