/**
 * The lifecycle the split integration tests share: every test starts with empty bank tables, no
 * split intent log, and no phase hook; closing destroys the dbs a file opened and drops its shards.
 */
import { createShardedDb, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { BANK_TABLES } from './bank.js'
import { setSplitPhaseHookForTests } from '../../src/policies/split/phase-hook.js'
import type { TestShards } from './shard-databases.js'

/** Clears the bank tables (plus `extraTables`) and drops the intent log, so recovery starts from nothing. */
export async function resetSplitState(t: TestShards, extraTables: readonly string[] = []): Promise<void> {
  setSplitPhaseHookForTests(undefined)
  const deletes = ['accounts', 'ledger', ...extraTables].map((table) => `DELETE FROM ${table};`).join(' ')
  await t.execAll(`${deletes} DROP TABLE IF EXISTS shardtx_split_plans; DROP TABLE IF EXISTS shardtx_split_applied;`)
}

export async function closeSplitFixture(t: TestShards, opened: readonly ShardedDb[]): Promise<void> {
  setSplitPhaseHookForTests(undefined)
  await Promise.all(opened.map((db) => db.destroy()))
  await t.drop()
}

/**
 * A split-policy ShardedDb on the bank tables, with background recovery off so each test decides
 * when recovery runs; remembered in `opened` for closeSplitFixture.
 */
export function openSplitDb(t: TestShards, opened: ShardedDb[], options: Partial<ShardedDbOptions> = {}): ShardedDb {
  const db = createShardedDb({
    shards: t.shards,
    tables: BANK_TABLES,
    crossShard: 'split',
    ...options,
    split: { recoverOnStart: false, recoveryIntervalMs: 0, ...options.split },
  })
  opened.push(db)
  return db
}
