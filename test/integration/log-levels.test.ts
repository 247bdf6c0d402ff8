// What a new user's logger shows, against the README's table of logger events: a start with
// nothing to recover is quiet at info and above, cross-shard transactions log at the documented
// level for each policy, and a logger without isLevelEnabled (console) never gets debug events.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createShardedDb, keyrangeNames, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { captureLogger } from '../faults/capture-logger.js'
import { BANK_SCHEMA, BANK_TABLES, INITIAL_BALANCE } from '../support/bank.js'
import { documentedLogLevels } from '../support/documented-log-levels.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { resetSplitState } from '../support/split-lifecycle.js'

const REASON = 'https://tracker.example/LOG-LEVELS'
// With the Vitess hash vindex, id 1 lives on -80 and id 4 on 80-.
const [LOW, HIGH] = [1, 4]

let t: TestShards
const opened: ShardedDb[] = []
const documented = documentedLogLevels()

function open(logger: ShardedDbOptions['logger'], options: Partial<ShardedDbOptions> = {}): ShardedDb {
  const db = createShardedDb({ shards: t.shards, tables: BANK_TABLES, logger, ...options })
  opened.push(db)
  return db
}

/** Debit one shard, credit the other. */
const transfer = (db: ShardedDb, options: Parameters<ShardedDb['transaction']>[1]) =>
  db.transaction(async (tx) => {
    await tx('accounts').where({ id: LOW }).decrement('balance', 1)
    // shardtx-allow-cross-shard: this test makes cross-shard transactions on purpose
    await tx('accounts').where({ id: HIGH }).increment('balance', 1)
  }, options)

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25))
  if (!check()) throw new Error(`${what} did not happen within 5 s`)
}

beforeAll(async () => {
  t = await createTestShards({ names: keyrangeNames(2) })
  await t.execAll(BANK_SCHEMA)
})
beforeEach(async () => {
  await resetSplitState(t)
  await t.query('-80', 'INSERT INTO accounts (id, balance) VALUES (?, ?)', [LOW, INITIAL_BALANCE])
  await t.query('80-', 'INSERT INTO accounts (id, balance) VALUES (?, ?)', [HIGH, INITIAL_BALANCE])
})
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.destroy()))
})
afterAll(() => t.drop())

describe('log levels, as the README documents them', () => {
  it('a start with nothing to recover logs only at debug', async () => {
    const log = captureLogger()
    open(log)
    await until(() => log.events('shardtx.split_recovery').length > 0 && log.events('shardtx.atomic_recovery').length > 0, 'the recovery passes at start')
    // split's pass and atomic's (XA RECOVER on every server), each one debug line.
    expect(log.lines.map((l) => [l.level, l.obj.event]).sort()).toEqual([
      ['debug', 'shardtx.atomic_recovery'],
      ['debug', 'shardtx.split_recovery'],
    ])
    expect(log.events('shardtx.split_recovery')[0]!.obj).toMatchObject({ trigger: 'start', recovered: 0, failed: 0, stillPending: 0 })
    expect(log.events('shardtx.atomic_recovery')[0]!.obj).toMatchObject({ trigger: 'start', committed: 0, rolledBack: 0, inDoubt: 0 })
  })

  it.each([
    ['warn', { crossShard: 'warn', reason: REASON }],
    ['debug', { crossShard: 'ordered' }],
    ['debug', { crossShard: 'split' }],
  ] as const)('a cross-shard transaction logs shardtx.cross_shard_transaction at %s under %j', async (level, options) => {
    const log = captureLogger()
    const db = open(log, { split: { recoverOnStart: false } })
    await transfer(db, options)
    const events = log.events('shardtx.cross_shard_transaction')
    expect(events.map((l) => [l.level, l.obj.policy, l.obj.outcome])).toEqual([[level, options.crossShard, 'committed']])
  })

  it('every event these scenarios log is at a level the README lists for it', async () => {
    const log = captureLogger()
    const db = open(log)
    await until(() => log.events('shardtx.split_recovery').length > 0, 'the recovery pass at start')
    for (const options of [{ crossShard: 'warn', reason: REASON }, { crossShard: 'ordered' }, { crossShard: 'split' }] as const) await transfer(db, options)
    await db.recover()
    const seen = [...new Set(log.lines.map((l) => `${String(l.obj.event)} ${l.level}`))].sort()
    expect(seen.length).toBeGreaterThan(0)
    for (const pair of seen) {
      const [event, level] = pair.split(' ') as [string, string]
      expect([...(documented.get(event) ?? [])], pair).toContain(level)
    }
  })

  it('a logger without isLevelEnabled, like console, gets warn lines but never a debug call', async () => {
    const calls: string[] = []
    const consoleLike = {
      error: (obj: { event?: string }) => calls.push(`error ${obj.event}`),
      warn: (obj: { event?: string }) => calls.push(`warn ${obj.event}`),
      info: (obj: { event?: string }) => calls.push(`info ${obj.event}`),
      debug: (obj: { event?: string }) => calls.push(`debug ${obj.event}`),
    }
    const db = open(consoleLike)
    // The ordered transaction's cross-shard event and the recovery pass are debug: both are dropped.
    await transfer(db, { crossShard: 'ordered' })
    await db.recover()
    await transfer(db, { crossShard: 'warn', reason: REASON })
    expect(calls).toEqual(['warn shardtx.cross_shard_transaction'])
  })
})
