import { describe, expect, it } from 'vitest'
import { createShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { SPLIT_DEFAULTS, resolveSplitOptions } from '../../src/config/split-options.js'
import { validateSplitTransactionOptions } from '../../src/policies/split/transaction-options.js'

const base: ShardedDbOptions = {
  shards: { '-80': 'mysql://app:pw@127.0.0.1:3306/s0', '80-': 'mysql://app:pw@127.0.0.1:3306/s1' },
  tables: { accounts: { shardKey: 'id' } },
}

describe('split options', () => {
  it('fills in documented defaults', () => {
    expect(resolveSplitOptions(undefined)).toEqual({ ...SPLIT_DEFAULTS, compensate: undefined })
    expect(SPLIT_DEFAULTS).toEqual({
      recoverOnStart: true,
      recoveryIntervalMs: 60_000,
      retainFinishedMs: 3_600_000,
      partAttempts: 3,
      maxPlanBytes: 4_194_304,
      parallelParts: false,
    })
  })

  const BAD: [string, unknown, RegExp][] = [
    ['split not an object', 'yes', /`split`/],
    ['unknown key', { recoverOnstart: true }, /`split\.recoverOnstart`/],
    ['recoverOnStart not boolean', { recoverOnStart: 1 }, /`split\.recoverOnStart`/],
    ['negative interval', { recoveryIntervalMs: -1 }, /`split\.recoveryIntervalMs`/],
    ['interval beyond setTimeout', { recoveryIntervalMs: 2 ** 31 }, /`split\.recoveryIntervalMs`/],
    ['NaN retention', { retainFinishedMs: Number.NaN }, /`split\.retainFinishedMs`.*NaN/],
    ['zero part attempts', { partAttempts: 0 }, /`split\.partAttempts`/],
    ['tiny plan limit', { maxPlanBytes: 10 }, /`split\.maxPlanBytes`/],
    ['parallelParts not boolean', { parallelParts: 'true' }, /`split\.parallelParts`/],
    ['compensate not a function', { compensate: 'refund' }, /`split\.compensate`/],
  ]
  for (const [name, split, pattern] of BAD) {
    it(`createShardedDb refuses ${name} with a TypeError naming the option`, () => {
      expect(() => createShardedDb({ ...base, split } as ShardedDbOptions)).toThrow(TypeError)
      expect(() => createShardedDb({ ...base, split } as ShardedDbOptions)).toThrow(pattern)
    })
  }

  it('accepts a huge partAttempts without allocating for it', () => {
    expect(resolveSplitOptions({ partAttempts: 9_999_999_999_999 }).partAttempts).toBe(9_999_999_999_999)
  })

  it('per-transaction split options are refused under other policies', async () => {
    // Validated before anything connects: the callback never runs.
    const db = createShardedDb({ ...base, split: { recoverOnStart: false } })
    try {
      const run = (options: Record<string, unknown>) => db.transaction(async () => 'ran', options).catch((e: unknown) => e)
      const warn = await run({ crossShard: 'warn', reason: 'https://tracker/1', idempotencyKey: 'k' })
      expect(warn).toBeInstanceOf(TypeError)
      expect((warn as Error).message).toMatch(/`idempotencyKey` is an option of crossShard: 'split', but this transaction uses 'warn'/)
      expect(((await run({ crossShard: 'ordered', parallelParts: true })) as Error).message).toMatch(
        /`parallelParts` is an option of crossShard: 'split'.*uses 'ordered'/,
      )
    } finally {
      await db.destroy()
    }
  })

  it('per-transaction split options are validated', () => {
    expect(validateSplitTransactionOptions({ idempotencyKey: 'k', parallelParts: true })).toMatchObject({ idempotencyKey: 'k', parallelParts: true })
    expect(() => validateSplitTransactionOptions({ idempotencyKey: '' })).toThrow(/`idempotencyKey`/)
    expect(() => validateSplitTransactionOptions({ compensate: 3 })).toThrow(/`compensate`.*number 3/)
  })
})
