// A tiny application for the strict-mode end-to-end test (docs/strict-mode.md): a bank on two
// shards. Everything stays on one shard except `transfer`, the one reviewed cross-shard path.
import { createShardedDb, type ShardConnection } from '../../src/index.js'

export const SCHEMA = `
  CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance INT NOT NULL) ENGINE=InnoDB;
  CREATE TABLE ledger (id BIGINT AUTO_INCREMENT PRIMARY KEY, account_id BIGINT NOT NULL, amount INT NOT NULL) ENGINE=InnoDB;
`

/** Why a transfer may span shards; strict mode refuses the 'warn' override without it. */
export const TRANSFER_REASON = 'https://tracker.example/BANK-12'

export class InsufficientFundsError extends Error {
  constructor(id: number) {
    super(`account ${id} has insufficient funds`)
    this.name = 'InsufficientFundsError'
  }
}

export interface Bank {
  openAccount(id: number, balance: number): Promise<void>
  deposit(id: number, amount: number): Promise<void>
  balance(id: number): Promise<number>
  /** Moves money between any two accounts, on one shard or two. */
  transfer(from: number, to: number, amount: number): Promise<void>
  close(): Promise<void>
}

/**
 * The bank on the given shards. Tables are sharded by account: `accounts.id`, `ledger.account_id`.
 *
 * @example
 * ```ts
 * const bank = openBank({ '-80': 'mysql://app@db1/bank_0', '80-': 'mysql://app@db2/bank_1' })
 * await bank.transfer(1, 4, 10)
 * ```
 */
export function openBank(shards: Record<string, ShardConnection>): Bank {
  const db = createShardedDb({ shards, tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } } })
  return {
    async openAccount(id, balance) {
      await db.transaction(async (tx) => {
        await tx('accounts').insert({ id, balance })
      })
    },

    async deposit(id, amount) {
      // The account row and its ledger entries share the key, so they share a shard.
      await db.transaction(async (tx) => {
        await tx('accounts').where({ id }).increment('balance', amount)
        await tx('ledger').insert({ account_id: id, amount })
      })
    },

    async balance(id) {
      return db.transaction(async (tx) => Number((await tx('accounts').where({ id }).first('balance')).balance))
    },

    async transfer(from, to, amount) {
      // shardtx-allow-cross-shard: a commit between the two shards may be partial; accepted in https://tracker.example/BANK-12
      await db.transaction(
        async (tx) => {
          await tx('accounts').where({ id: from }).decrement('balance', amount)
          await tx('ledger').insert({ account_id: from, amount: -amount })
          await tx('accounts').where({ id: to }).increment('balance', amount)
          await tx('ledger').insert({ account_id: to, amount })
          const { balance } = await tx('accounts').where({ id: from }).first('balance')
          if (Number(balance) < 0) throw new InsufficientFundsError(from) // rolls back both shards
        },
        { crossShard: 'warn', reason: TRANSFER_REASON },
      )
    },

    close: () => db.destroy(),
  }
}
