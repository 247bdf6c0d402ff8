/**
 * The bank of bank.ts with transfers that span three shards, for the `atomic` fault tests: a
 * payment from one account to two others, each on its own shard, so a transaction has a
 * coordinator and two XA branches (two prepares, two branch commits to kill the process at).
 * Each payment leaves one ledger row per account; all-or-nothing means every payment id has all
 * three rows or none.
 */
import { GTRID_PREFIX, parseRecoveredXid, type XaRecoverRow } from '../../src/policies/atomic/xid.js'
import { checkBank, seededRandom, type Bank } from './bank.js'
import type { TestShards } from './shard-databases.js'

/** `from` pays `amount` to `to[0]` and to `to[1]`: three accounts on three shards. */
export interface Payment {
  id: string
  from: number
  to: [number, number]
  amount: number
}

/**
 * `count` payments over three distinct shards each, in every order of the shards, so
 * transactions of all directions contend as in the incident.
 *
 * @example
 * ```ts
 * const payments = threeShardPayments(bank, 1000, 7)
 * ```
 */
export function threeShardPayments(bank: Bank, count: number, seed = 1): Payment[] {
  const shards = [...bank.accountsByShard.keys()]
  if (shards.length < 3) throw new Error('threeShardPayments needs at least three shards')
  const rand = seededRandom(seed)
  const pick = (shard: string) => {
    const ids = bank.accountsByShard.get(shard)!
    return ids[rand(ids.length)]!
  }
  return Array.from({ length: count }, (_, i) => {
    const order = [...shards]
    for (let k = order.length - 1; k > 0; k--) {
      const j = rand(k + 1)
      ;[order[k], order[j]] = [order[j]!, order[k]!]
    }
    return { id: `p${seed}-${i}`, from: pick(order[0]!), to: [pick(order[1]!), pick(order[2]!)], amount: 1 + rand(100) }
  })
}

/**
 * The body of a payment: one debit, two credits, three ledger rows.
 *
 * @example
 * ```ts
 * await db.transaction((tx) => applyPayment(tx, p), { crossShard: 'atomic', lock: { accounts: [p.from, ...p.to] } })
 * ```
 */
export async function applyPayment(tx: (table: string) => any, p: Payment): Promise<void> {
  await tx('accounts')
    .where({ id: p.from })
    .decrement('balance', 2 * p.amount)
  for (const to of p.to) await tx('accounts').where({ id: to }).increment('balance', p.amount)
  await tx('ledger').insert({ transfer_id: p.id, account_id: p.from, amount: -2 * p.amount })
  for (const to of p.to) await tx('ledger').insert({ transfer_id: p.id, account_id: to, amount: p.amount })
}

/** What the fault tests assert after recovery. */
export interface AtomicBankCheck {
  total: number
  expectedTotal: number
  /** Payments with all three ledger rows. */
  applied: string[]
  /** Payments with some but not all of their rows: a partial commit. Must be empty. */
  partial: string[]
  accountsOutOfBalance: number[]
}

/**
 * Money conserved, every account's balance explained by its ledger rows, and every payment on
 * all three shards or on none.
 */
export async function checkPayments(bank: Bank): Promise<AtomicBankCheck> {
  const base = await checkBank(bank)
  const rows = new Map<string, number>()
  for (const shard of bank.db.shardNames) {
    for (const r of (await bank.db.shard(shard)('ledger').select('transfer_id')) as { transfer_id: string }[]) {
      rows.set(r.transfer_id, (rows.get(r.transfer_id) ?? 0) + 1)
    }
  }
  return {
    total: base.total,
    expectedTotal: base.expectedTotal,
    applied: [...rows].filter(([, n]) => n === 3).map(([id]) => id),
    partial: [...rows].filter(([, n]) => n !== 3).map(([id]) => id),
    accountsOutOfBalance: base.accountsOutOfBalance,
  }
}

/**
 * shardtx's prepared XA branches on every server of `shards` (`gtrid/bqual`), as `XA RECOVER`
 * lists them: what must be empty once recovery is done.
 */
export async function preparedXaBranches(shards: TestShards): Promise<string[]> {
  const out: string[] = []
  for (const shard of shards.names) {
    const rows = await shards.query<XaRecoverRow>(shard, 'XA RECOVER')
    for (const row of rows) {
      const xid = parseRecoveredXid(row)
      if (xid !== undefined && xid.gtrid.startsWith(GTRID_PREFIX)) out.push(`${shard}:${xid.gtrid}/${xid.bqual}`)
    }
  }
  return out
}
