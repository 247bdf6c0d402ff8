import { describe, expect, it } from 'vitest'
import { createShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { SPLIT_DEFAULTS, resolveSplitOptions, validateSplitTransactionOptions } from '../../src/config/split-options.js'

const base: ShardedDbOptions = {
  shards: { '-80': 'mysql://app:pw@127.0.0.1:3306/s0', '80-': 'mysql://app:pw@127.0.0.1:3306/s1' },
  tables: { accounts: { shardKey: 'id' } },
}

describe('split options', () => {
  it('fills in documented defaults', () => {
    expect(resolveSplitOptions(undefined)).toEqual({ ...SPLIT_DEFAULTS, compensate: undefined })
    expect(SPLIT_DEFAULTS).toEqual({ recoverOnStart: true, recoveryIntervalMs: 60_000, retainFinishedMs: 3_600_000, partAttempts: 3, maxPlanBytes: 4_194_304, parallelParts: false })
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

  it('per-transaction split options are refused under other policies', () => {
    expect(() => validateSplitTransactionOptions({ idempotencyKey: 'k' }, 'warn')).toThrow(/`idempotencyKey` applies only to \{ crossShard: 'split' \}/)
    expect(() => validateSplitTransactionOptions({ parallelParts: true }, 'ordered')).toThrow(/`parallelParts`/)
    expect(validateSplitTransactionOptions({ idempotencyKey: 'k', parallelParts: true }, 'split')).toMatchObject({ idempotencyKey: 'k', parallelParts: true })
    expect(() => validateSplitTransactionOptions({ idempotencyKey: '' }, 'split')).toThrow(/`idempotencyKey`/)
    expect(() => validateSplitTransactionOptions({ compensate: 3 }, 'split')).toThrow(/`compensate`.*number 3/)
  })
})
