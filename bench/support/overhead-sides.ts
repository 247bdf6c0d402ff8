/**
 * The three sides of bench/overhead and bench/profile, opened once here: shardtx's
 * `db.transaction`, plain knex's `knex.transaction` on each shard's own instance, and raw mysql2
 * with hand-written SQL (the floor), each running the same workload's transactions.
 */
import knexFactory from 'knex'
import { createShardedDb } from './built-package.js'
import type { TestShardConnection } from '../../test/support/shard-databases.js'
import type { Tx, WORKLOADS } from './overhead-workloads.js'
import { rawMysql2Side } from './raw-mysql2.js'

export const SIDE_NAMES = ['knex', 'shardtx', 'raw'] as const
export type SideName = (typeof SIDE_NAMES)[number]
export type Workload = (typeof WORKLOADS)[string]
/** An account and the shard shardtx routes it to, so plain knex and raw mysql2 address the same row directly. */
export interface Account {
  id: number
  shard: string
}
/** What a side needs to open: the shard databases and the accounts. */
export interface SideSetup {
  shards: Record<string, TestShardConnection>
  ids: Account[]
}
/** The workloads' tables, as shardtx is told about them. */
export const WORKLOAD_TABLES = { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } } as const

/** One opened side: `one` runs one transaction of a workload for an account. */
export interface OpenSide {
  one(work: Workload, a: Account): Promise<unknown>
  close(): Promise<void>
}

/** One round of one side: wall time, the Node CPU of the process running it (us), and each transaction's latency (ms). */
export interface RoundResult {
  elapsedMs: number
  cpuUs: number
  latenciesMs: number[]
}

/**
 * Opens one side's pools (`clients` connections per shard). `seqBase` keeps ledger keys apart
 * when sides run in separate processes, each with its own sequence.
 *
 * @example
 * ```ts
 * const side = openSide('shardtx', { shards, ids }, { clients: 16, seqBase: 0 })
 * await side.one(WORKLOADS['5 statements'], ids[0])
 * await side.close()
 * ```
 */
export function openSide(side: SideName, setup: SideSetup, options: { clients: number; seqBase: number }): OpenSide {
  const pool = { min: options.clients, max: options.clients }
  const names = Object.keys(setup.shards)
  let seq = options.seqBase
  if (side === 'shardtx') {
    const db = createShardedDb({ shards: setup.shards, tables: WORKLOAD_TABLES, pool })
    return { one: (work, a) => db.transaction((tx) => work.knex(tx as unknown as Tx, a.id, ++seq)), close: () => db.destroy() }
  }
  if (side === 'knex') {
    const plain = new Map(names.map((name) => [name, knexFactory({ client: 'mysql2', connection: setup.shards[name]!, pool })]))
    return {
      one: (work, a) => plain.get(a.shard)!.transaction((trx) => work.knex(trx as unknown as Tx, a.id, ++seq)),
      close: async () => void (await Promise.all([...plain.values()].map((k) => k.destroy()))),
    }
  }
  const raw = new Map(names.map((name) => [name, rawMysql2Side(setup.shards[name]!, options.clients)]))
  return {
    one: (work, a) => raw.get(a.shard)!.transaction(work.raw, a.id, ++seq),
    close: async () => void (await Promise.all([...raw.values()].map((r) => r.end()))),
  }
}

/**
 * `count` transactions of `work` on `side`, `clients` at a time, accounts taken in a fixed stride
 * through `ids`.
 *
 * @example
 * ```ts
 * const { elapsedMs, cpuUs } = await runRound(side, WORKLOADS['1 statement'], ids, { clients: 16, count: 2000 })
 * ```
 */
export async function runRound(side: OpenSide, work: Workload, ids: Account[], options: { clients: number; count: number }): Promise<RoundResult> {
  let next = 0
  const latenciesMs: number[] = []
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      while (next < options.count) {
        const a = ids[(next++ * 7919) % ids.length]!
        const t0 = performance.now()
        await side.one(work, a)
        latenciesMs.push(performance.now() - t0)
      }
    }),
  )
  const elapsedMs = performance.now() - started
  const used = process.cpuUsage(cpuBefore)
  return { elapsedMs, cpuUs: used.user + used.system, latenciesMs }
}
