import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ShardedDb } from '../../src/index.js'
import { createFoundation, LOW, type Foundation } from '../support/foundation-fixture.js'
import { barrier } from '../support/barrier.js'

let f: Foundation

beforeAll(async () => {
  f = await createFoundation()
})
afterAll(() => f.close())
beforeEach(async () => {
  await f.reset()
  await f.shards.query('-80', `INSERT INTO accounts (id, balance) VALUES ${LOW.map((id) => `(${id}, 100)`).join(',')}`)
})

/**
 * Two transactions on one shard lock rows 1 and 2 in opposite orders. The barrier makes sure both
 * hold their first lock before asking for the second, so InnoDB sees a real deadlock and rolls
 * one back with 1213. Later attempts skip the barrier.
 */
function deadlockPair(db: ShardedDb) {
  const arrive = barrier(2)
  let calls = 0
  const run = (first: number, second: number) => {
    let attempt = 0
    return db.transaction(async (tx) => {
      calls++
      attempt++
      await tx('accounts').where({ id: first }).decrement('balance', 1)
      if (attempt === 1) await arrive()
      await tx('accounts').where({ id: second }).increment('balance', 1)
    })
  }
  return { both: Promise.allSettled([run(1, 2), run(2, 1)]), calls: () => calls }
}

describe('whole-callback retries of deadlock-class errors', () => {
  it('retries the callback after a real InnoDB deadlock and both transactions commit', async () => {
    const db = f.open({ retry: { maxAttempts: 3, baseDelayMs: 1 } })
    const pair = deadlockPair(db)
    const results = await pair.both
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
    expect(pair.calls()).toBe(3) // two first attempts, one retry of the victim
    const rows = await f.rows('-80', 'accounts')
    expect(rows.filter((r) => [1, 2].includes(Number(r.id))).map((r) => Number(r.balance))).toEqual([100, 100])
  })

  it('surfaces the deadlock, annotated with shard and origin, when retries are off', async () => {
    const db = f.open({ retry: { maxAttempts: 1 } })
    const pair = deadlockPair(db)
    const results = await pair.both
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(rejected).toHaveLength(1)
    const err = rejected[0]!.reason
    expect(err.errno).toBe(1213)
    expect(err.shard).toBe('-80')
    expect(err.message).toMatch(/\[shardtx: shard -80, transaction tx-\S+ opened at .*retry\.test\.ts:\d+:\d+\]/)
    expect(pair.calls()).toBe(2)
  })

  it('honours a per-transaction maxAttempts override', async () => {
    const db = f.open({ retry: { maxAttempts: 1, baseDelayMs: 1 } })
    let calls = 0
    const arrive = barrier(2)
    const run = (first: number, second: number) => {
      let attempt = 0
      return db.transaction(
        async (tx) => {
          calls++
          attempt++
          await tx('accounts').where({ id: first }).decrement('balance', 1)
          if (attempt === 1) await arrive()
          await tx('accounts').where({ id: second }).increment('balance', 1)
        },
        { maxAttempts: 2 },
      )
    }
    expect((await Promise.allSettled([run(1, 2), run(2, 1)])).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
    expect(calls).toBe(3)
  })

  it('does not retry errors a retry cannot fix', async () => {
    const db = f.open({ retry: { maxAttempts: 5 } })
    let calls = 0
    const err = await db
      .transaction(async (tx) => {
        calls++
        await tx('accounts').insert({ id: 1, balance: 1 }) // duplicate key
      })
      .catch((e) => e)
    expect(err.errno).toBe(1062)
    expect(calls).toBe(1)
  })

  it('accepts an absurd maxAttempts (memory use does not depend on it; see test/unit/bounded-*)', async () => {
    const db = f.open({ retry: { maxAttempts: 9_999_999_999_999 } })
    await db.transaction((tx) => tx('accounts').where({ id: 1 }).update({ balance: 5 }))
    expect((await f.rows('-80', 'accounts')).find((r) => Number(r.id) === 1)).toMatchObject({ balance: 5 })
  })
})
