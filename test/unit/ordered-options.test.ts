import { afterAll, describe, expect, it } from 'vitest'
import { createShardedDb, type TransactionOptions } from '../../src/index.js'

// Nothing here connects: options are validated before the first statement, so unreachable
// databases are fine (and prove no connection was attempted before the TypeError).
const db = createShardedDb({
  shards: { '-80': 'mysql://app:pw@127.0.0.1:1/s0', '80-': 'mysql://app:pw@127.0.0.1:1/s1' },
  tables: { accounts: { shardKey: 'id' }, countries: { shard: '-80' } },
})
afterAll(() => db.destroy())

const run = (options: Record<string, unknown>) => db.transaction(async () => 'ran', options as TransactionOptions)

/** Each case: the options, and what the TypeError must say (the option's name first). */
const BAD: [string, Record<string, unknown>, RegExp][] = [
  ['lock not an object', { crossShard: 'ordered', lock: [1, 2] }, /`lock`.*object mapping table names.*got (an )?array/],
  ['lock null', { crossShard: 'ordered', lock: null }, /`lock`.*got null/],
  [
    'unknown table',
    { crossShard: 'ordered', lock: { payments: [1] } },
    /`lock\.payments`.*not in the shardtx configuration.*Known tables: accounts, countries/,
  ],
  ['pinned table', { crossShard: 'ordered', lock: { countries: ['fr'] } }, /`lock\.countries`.*pinned to shard -80/],
  ['keys not an array', { crossShard: 'ordered', lock: { accounts: 42 } }, /`lock\.accounts`.*array of `accounts\.id` values.*number 42/],
  ['a key of the wrong type', { crossShard: 'ordered', lock: { accounts: [1, { id: 2 }] } }, /`lock\.accounts\[1\]`.*got object/],
  ['an unsafe number', { crossShard: 'ordered', lock: { accounts: [2 ** 60] } }, /`lock\.accounts\[0\]`/],
  ['a key the hash router refuses', { crossShard: 'ordered', lock: { accounts: [1, 'abc'] } }, /`lock\.accounts\[1\]`.*router accepts.*string .abc./],
  ['negative maxLockRestarts', { crossShard: 'ordered', maxLockRestarts: -1 }, /`maxLockRestarts`.*from 0 to 100.*number -1/],
  ['huge maxLockRestarts', { crossShard: 'ordered', maxLockRestarts: 1e9 }, /`maxLockRestarts`.*from 0 to 100/],
  ['fractional maxLockRestarts', { crossShard: 'ordered', maxLockRestarts: 1.5 }, /`maxLockRestarts`/],
  [
    'lock under another policy',
    { crossShard: 'warn', reason: 'https://tracker/1', lock: { accounts: [1] } },
    /`lock` is an option of crossShard: 'ordered'.*uses 'warn'/,
  ],
  ['maxLockRestarts under the default policy', { maxLockRestarts: 2 }, /`maxLockRestarts` is an option of crossShard: 'ordered'.*uses 'reject'/],
]

describe("'ordered' transaction options", () => {
  it.each(BAD)('refuses %s with a TypeError naming the option, before running the callback', async (_name, options, message) => {
    const err = await run(options).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TypeError)
    expect((err as Error).message).toMatch(message)
  })

  it("accepts 'ordered' as a policy name", async () => {
    // An empty declared set and no statements: nothing to lock, nothing to connect to.
    await expect(run({ crossShard: 'ordered', lock: { accounts: [] }, maxLockRestarts: 0 })).resolves.toBe('ran')
  })
})
