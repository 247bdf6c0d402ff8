import { describe, expect, it } from 'vitest'
import { createShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { parseConnection, redactUrl } from '../../src/config/connection.js'

const base: ShardedDbOptions = {
  shards: { '-80': 'mysql://app:pw@127.0.0.1:3306/s0', '80-': 'mysql://app:pw@127.0.0.1:3306/s1' },
  tables: { accounts: { shardKey: 'id' }, countries: { shard: '-80' } },
}
const withOptions = (patch: Record<string, unknown>) => () => createShardedDb({ ...base, ...patch } as ShardedDbOptions)

/** Each case: the options patch, and what the TypeError must mention (the option's name). */
const BAD: [string, Record<string, unknown>, RegExp][] = [
  ['no shards', { shards: {} }, /`shards`/],
  ['shards not an object', { shards: 'mysql://x/y' }, /`shards`/],
  ['overlapping keyranges', { shards: { '-80': 'mysql://h/a', '40-': 'mysql://h/b' } }, /`shards`/],
  ['duplicate keyranges', { shards: { '-80': 'mysql://h/a', '00-80': 'mysql://h/b', '80-': 'mysql://h/c' } }, /`shards`/],
  ['a gap', { shards: { '-40': 'mysql://h/a', '80-': 'mysql://h/b' } }, /`shards`/],
  ['non-keyrange names with hash', { shards: { a: 'mysql://h/a', b: 'mysql://h/b' } }, /`shards`/],
  ['unknown policy', { crossShard: 'yolo' }, /`crossShard`.*'reject', 'warn'/],
  ['unknown router', { router: 'md5' }, /`router`/],
  ['NaN retries', { retry: { maxAttempts: NaN } }, /`retry\.maxAttempts`.*number NaN/],
  ['negative retries', { retry: { maxAttempts: -1 } }, /`retry\.maxAttempts`/],
  ['zero retries', { retry: { maxAttempts: 0 } }, /`retry\.maxAttempts`/],
  ['fractional delay', { retry: { baseDelayMs: 1.5 } }, /`retry\.baseDelayMs`/],
  ['typo in retry', { retry: { maxAtempts: 3 } }, /`retry\.maxAtempts`/],
  ['unknown top-level option', { crossshard: 'warn' }, /`options\.crossshard`/],
  ['negative interval', { warnings: { intervalMs: -5 } }, /`warnings\.intervalMs`/],
  ['non-boolean logKeyValues', { warnings: { logKeyValues: 'yes' } }, /`warnings\.logKeyValues`/],
  ['pool max 0', { pool: { max: 0 } }, /`pool\.max`/],
  ['pool min > max', { pool: { min: 5, max: 2 } }, /`pool\.min`/],
  ['timeout Infinity', { connectTimeoutMs: Infinity }, /`connectTimeoutMs`/],
  ['logger without warn', { logger: { info() {}, error() {}, debug() {} } }, /`logger\.warn`/],
  ['table with both', { tables: { t: { shardKey: 'id', shard: '-80' } } }, /`tables\.t`.*got shardKey and shard/],
  ['table with neither', { tables: { t: {} } }, /`tables\.t`.*reference: true.*got none/],
  ['pinned to unknown shard', { tables: { t: { shard: 'c0-' } } }, /`tables\.t\.shard`/],
  ['shard key not a column name', { tables: { t: { shardKey: 'id; DROP TABLE x' } } }, /`tables\.t\.shardKey`/],
  ['URL without database', { shards: { '0': 'mysql://app:pw@h:3306' } }, /`shards\.0\.database`/],
  ['URL with wrong scheme', { shards: { '0': 'postgres://h/db' } }, /`shards\.0`.*mysql:\/\//],
  ['bad port', { shards: { '0': { database: 'd', port: 70000 } } }, /`shards\.0\.port`/],
]

describe('createShardedDb refuses malformed options with a TypeError naming the option', () => {
  for (const [name, patch, pattern] of BAD) {
    it(name, () => {
      expect(withOptions(patch)).toThrow(TypeError)
      expect(withOptions(patch)).toThrow(pattern)
    })
  }

  it('never echoes a password in a validation error', () => {
    let message = ''
    try {
      createShardedDb({ ...base, shards: { '0': 'mysql://app:hunter2@h:99999/db' } })
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/`shards\.0`/)
    expect(message).not.toContain('hunter2')
  })

  it('refuses a custom router result that is not a shard, naming the router', async () => {
    const db = createShardedDb({ shards: { a: { database: 'x' }, b: { database: 'y' } }, tables: { t: { shardKey: 'id' } }, router: () => 'c' })
    expect(() => db.shardOf('t', 1)).toThrow(/`router`/)
    await db.destroy()
  })

  it('refuses non-integer keys for the hash router', async () => {
    const db = createShardedDb(base)
    expect(() => db.shardOf('accounts', 1.5)).toThrow(TypeError)
    expect(() => db.shardOf('accounts', 'abc')).toThrow(/integer/)
    await db.destroy()
  })

  it('validates per-transaction options before touching a shard', async () => {
    const db = createShardedDb(base)
    await expect(db.transaction(async () => 1, { crossShard: 'nope' as never })).rejects.toThrow(/`crossShard`/)
    await expect(db.transaction(async () => 1, { reason: '' })).rejects.toThrow(/`reason`/)
    await expect(db.transaction(async () => 1, { maxAttempts: 0 })).rejects.toThrow(/`maxAttempts`/)
    await expect(db.transaction(async () => 1, { retries: 2 } as never)).rejects.toThrow(/`transaction options\.retries`/)
    await expect(db.transaction('not a function' as never)).rejects.toThrow(TypeError)
    await db.destroy()
  })

  it('accepts the README configuration', async () => {
    const db = createShardedDb({ ...base, router: 'xxhash', crossShard: 'warn', retry: { maxAttempts: 3 }, logger: console })
    expect(db.shardNames).toEqual(['-80', '80-'])
    await db.destroy()
  })
})

describe('connection settings', () => {
  it('parses URLs and objects', () => {
    expect(parseConnection('s', 'mysql://app:p%40ss@db.local:3307/app_s0')).toEqual({
      host: 'db.local',
      port: 3307,
      user: 'app',
      password: 'p@ss',
      database: 'app_s0',
    })
    expect(parseConnection('s', { database: 'd' })).toMatchObject({ host: '127.0.0.1', port: 3306, user: 'root', password: '' })
  })

  it('redacts passwords in URLs', () => {
    expect(redactUrl('mysql://app:secret@h:3306/db')).toBe('mysql://app:***@h:3306/db')
    expect(redactUrl('mysql://h/db')).toBe('mysql://h/db')
  })
})
