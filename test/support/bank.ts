/**
 * The incident workload, shared by tests and benchmarks: accounts spread over every shard, and
 * transfers that debit one account and credit another, each leaving one ledger row per account.
 *
 * Invariants a correct run keeps, whatever the policy or fault:
 * - the sum of all balances never changes (money is conserved);
 * - each transfer that committed left exactly two ledger rows, one per account (the primary key
 *   (transfer_id, account_id) makes a duplicate impossible to hide), and a transfer that failed
 *   left none: `checkBank` verifies both against the ledger itself.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { createShardedDb, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import type { TestShards } from './shard-databases.js'

export const INITIAL_BALANCE = 1_000_000

export const BANK_SCHEMA = `
  CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;
  CREATE TABLE ledger (
    transfer_id VARCHAR(64) NOT NULL,
    account_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (transfer_id, account_id)
  ) ENGINE=InnoDB;
`

export const BANK_TABLES: ShardedDbOptions['tables'] = {
  accounts: { shardKey: 'id' },
  ledger: { shardKey: 'account_id' },
}

export interface Bank {
  db: ShardedDb
  /** Account ids grouped by shard, in canonical shard order. */
  accountsByShard: Map<string, number[]>
  /** All account ids. */
  accounts: number[]
}

/**
 * Creates the schema on every shard and `perShard` accounts on each, with INITIAL_BALANCE each.
 *
 * `create` is the library entry to build the ShardedDb with: by default this checkout's source
 * (what tests exercise); benchmarks pass the built package's (`dist/`), which is what users run.
 *
 * @example
 * ```ts
 * const shards = await createTestShards({ names: keyrangeNames(4) })
 * const bank = await setupBank(shards, { perShard: 8, options: { crossShard: 'warn' } })
 * ```
 */
export async function setupBank(
  shards: TestShards,
  opts: { perShard: number; options?: Partial<ShardedDbOptions>; create?: (options: ShardedDbOptions) => ShardedDb },
): Promise<Bank> {
  await shards.execAll(BANK_SCHEMA)
  const create = opts.create ?? createShardedDb
  const db = create({ shards: shards.shards, tables: BANK_TABLES, ...opts.options })
  const accountsByShard = new Map<string, number[]>(db.shardNames.map((s) => [s, []]))
  // Walk ids upward and keep each until its shard has enough: deterministic, no shard left empty.
  for (let id = 1; [...accountsByShard.values()].some((ids) => ids.length < opts.perShard); id++) {
    const ids = accountsByShard.get(db.shardOf('accounts', id))!
    if (ids.length < opts.perShard) ids.push(id)
  }
  for (const [shard, ids] of accountsByShard) {
    await db
      .shard(shard)('accounts')
      .insert(ids.map((id) => ({ id, balance: INITIAL_BALANCE })))
  }
  return { db, accountsByShard, accounts: [...accountsByShard.values()].flat() }
}

/** A transfer between two accounts: `from` and `to` are account ids. */
export interface Transfer {
  id: string
  from: number
  to: number
  amount: number
}

/**
 * `count` transfers between accounts on different shards, half in each direction over the same
 * pairs, which is what makes naive transactions deadlock: the incident's shape.
 */
export function crossShardTransfers(bank: Bank, count: number, seed = 1): Transfer[] {
  const shards = [...bank.accountsByShard.keys()]
  const rand = seededRandom(seed)
  const transfers: Transfer[] = []
  for (let i = 0; i < count; i++) {
    const a = rand(shards.length)
    const b = (a + 1 + rand(shards.length - 1)) % shards.length
    const idsA = bank.accountsByShard.get(shards[a]!)!
    const idsB = bank.accountsByShard.get(shards[b]!)!
    const x = idsA[rand(idsA.length)]!
    const y = idsB[rand(idsB.length)]!
    const [from, to] = i % 2 === 0 ? [x, y] : [y, x]
    transfers.push({ id: `t${seed}-${i}`, from, to, amount: 1 + rand(100) })
  }
  return transfers
}

/** Same-shard transfers (the single-shard baseline): both accounts on one shard. */
export function sameShardTransfers(bank: Bank, count: number, seed = 1): Transfer[] {
  const shards = [...bank.accountsByShard.keys()]
  const rand = seededRandom(seed)
  const transfers: Transfer[] = []
  for (let i = 0; i < count; i++) {
    const ids = bank.accountsByShard.get(shards[rand(shards.length)]!)!
    const x = ids[rand(ids.length)]!
    let y = ids[rand(ids.length)]!
    if (y === x) y = ids[(ids.indexOf(x) + 1) % ids.length]!
    const [from, to] = i % 2 === 0 ? [x, y] : [y, x]
    transfers.push({ id: `s${seed}-${i}`, from, to, amount: 1 + rand(100) })
  }
  return transfers
}

/**
 * The body of a transfer as application code writes it: debit, credit, two ledger rows.
 *
 * @example
 * ```ts
 * await bank.db.transaction((tx) => applyTransfer(tx, t), { crossShard: 'ordered' })
 * ```
 */
export async function applyTransfer(tx: (table: string) => any, t: Transfer): Promise<void> {
  await tx('accounts').where({ id: t.from }).decrement('balance', t.amount)
  await tx('accounts').where({ id: t.to }).increment('balance', t.amount)
  await tx('ledger').insert({ transfer_id: t.id, account_id: t.from, amount: -t.amount })
  await tx('ledger').insert({ transfer_id: t.id, account_id: t.to, amount: t.amount })
}

export interface BankCheck {
  total: number
  expectedTotal: number
  /** Transfers with exactly two ledger rows that sum to zero. */
  completeTransfers: number
  /** Transfer ids whose ledger rows are not exactly one debit and one matching credit. */
  brokenTransfers: string[]
  /** Accounts whose balance differs from INITIAL_BALANCE + the sum of their ledger rows. */
  accountsOutOfBalance: number[]
}

/**
 * Reads every shard and checks the invariants. `brokenTransfers` and `accountsOutOfBalance` must
 * be empty and `total` must equal `expectedTotal` in a correct run.
 */
export async function checkBank(bank: Bank): Promise<BankCheck> {
  let total = 0
  const ledgerByTransfer = new Map<string, number[]>()
  const ledgerByAccount = new Map<number, number>()
  const balances = new Map<number, number>()
  for (const shard of bank.db.shardNames) {
    const knex = bank.db.shard(shard)
    for (const row of await knex('accounts').select('id', 'balance')) {
      total += Number(row.balance)
      balances.set(Number(row.id), Number(row.balance))
    }
    for (const row of await knex('ledger').select('transfer_id', 'account_id', 'amount')) {
      const list = ledgerByTransfer.get(row.transfer_id) ?? []
      list.push(Number(row.amount))
      ledgerByTransfer.set(row.transfer_id, list)
      ledgerByAccount.set(Number(row.account_id), (ledgerByAccount.get(Number(row.account_id)) ?? 0) + Number(row.amount))
    }
  }
  const brokenTransfers: string[] = []
  let completeTransfers = 0
  for (const [id, amounts] of ledgerByTransfer) {
    if (amounts.length === 2 && amounts[0]! + amounts[1]! === 0) completeTransfers++
    else brokenTransfers.push(id)
  }
  const accountsOutOfBalance = [...balances].filter(([id, bal]) => bal !== INITIAL_BALANCE + (ledgerByAccount.get(id) ?? 0)).map(([id]) => id)
  return { total, expectedTotal: INITIAL_BALANCE * bank.accounts.length, completeTransfers, brokenTransfers, accountsOutOfBalance }
}

/**
 * A deterministic generator of integers in [0, n) (mulberry32). Integer arithmetic via Math.imul:
 * a textbook LCG in plain JS numbers overflows 2^53 and degenerates to a handful of values.
 */
export function seededRandom(seed: number): (n: number) => number {
  let a = seed >>> 0
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296
    return Math.floor(x * n)
  }
}

/**
 * Runs `work` for each item with at most `concurrency` in flight; collects outcomes, never throws.
 */
export async function runConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<{ ok: number; failed: { item: T; error: unknown }[]; latenciesMs: number[] }> {
  let next = 0
  let ok = 0
  const failed: { item: T; error: unknown }[] = []
  const latenciesMs: number[] = []
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!
      const start = performance.now()
      try {
        await work(item)
        ok++
        latenciesMs.push(performance.now() - start)
      } catch (error) {
        failed.push({ item, error })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return { ok, failed, latenciesMs }
}

/**
 * Counts whole-transaction retries by error code, from the `shardtx:transaction-retry` diagnostics
 * channel, so a workload can report how many deadlock-class errors it absorbed. Its logger is what
 * a service runs in production: pino-like at info level (`isLevelEnabled('debug')` is false), so
 * shardtx skips building debug events, and nothing is printed. Call `stop()` when done.
 *
 * @example
 * ```ts
 * const { retries, logger, stop } = retryCountingLogger()
 * const bank = await setupBank(shards, { perShard: 16, options: { logger } })
 * // ... run transfers, then:
 * stop(); retries.get('ER_LOCK_DEADLOCK')
 * ```
 */
export function retryCountingLogger() {
  const retries = new Map<string, number>()
  const onRetry = (message: unknown) => {
    const code = String((message as { errorCode?: string }).errorCode)
    retries.set(code, (retries.get(code) ?? 0) + 1)
  }
  diagnosticsChannel.subscribe('shardtx:transaction-retry', onRetry)
  const logger = {
    error() {},
    warn() {},
    info() {},
    debug() {},
    isLevelEnabled: (level: string) => level !== 'debug',
  }
  return { retries, logger, stop: () => void diagnosticsChannel.unsubscribe('shardtx:transaction-retry', onRetry) }
}
