/**
 * The lifecycle the split integration tests share: every test starts with empty bank tables, no
 * split intent log, and no phase hook; closing destroys the dbs a file opened and drops its shards.
 */
import type { ShardedDb } from '../../src/index.js'
import { setSplitPhaseHookForTests } from '../../src/recovery/phase-hook.js'
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
