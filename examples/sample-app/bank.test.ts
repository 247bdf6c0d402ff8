// The sample app's own test suite, against real shard databases. It knows nothing about strict
// mode or footprints: test/integration/strict-mode-e2e.test.ts runs it with SHARDTX_STRICT=1 and
// SHARDTX_FOOTPRINT_FILE set, and checks what `shardtx report` makes of the run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestShards, type TestShards } from '../../test/support/shard-databases.js'
import { InsufficientFundsError, openBank, SCHEMA, type Bank } from './bank.js'

// With the Vitess hash vindex on shards -80 and 80-, accounts 1 and 2 live on -80, account 4 on 80-.
let shards: TestShards
let bank: Bank

beforeAll(async () => {
  shards = await createTestShards({ names: ['-80', '80-'] })
  await shards.execAll(SCHEMA)
  bank = openBank(shards.shards)
  for (const id of [1, 2, 4]) await bank.openAccount(id, 100)
})
afterAll(async () => {
  await bank?.close()
  await shards?.drop()
})

const ledger = (shard: string) => shards.query<{ account_id: number; amount: number }>(shard, 'SELECT account_id, amount FROM ledger ORDER BY id')

describe('sample bank', () => {
  it('deposits on the account and records it in the ledger', async () => {
    await bank.deposit(1, 5)
    expect(await bank.balance(1)).toBe(105)
    expect(await ledger('-80')).toEqual([{ account_id: 1, amount: 5 }])
  })

  it('transfers between two accounts on one shard', async () => {
    await bank.transfer(1, 2, 5)
    expect([await bank.balance(1), await bank.balance(2)]).toEqual([100, 105])
  })

  it('transfers between accounts on different shards', async () => {
    await bank.transfer(2, 4, 5)
    expect([await bank.balance(2), await bank.balance(4)]).toEqual([100, 105])
    expect(await ledger('80-')).toEqual([{ account_id: 4, amount: 5 }])
  })

  it('refuses an overdraft and changes nothing on either shard', async () => {
    await expect(bank.transfer(4, 1, 1_000)).rejects.toThrow(InsufficientFundsError)
    expect([await bank.balance(4), await bank.balance(1)]).toEqual([105, 100])
  })
})
