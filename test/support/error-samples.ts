import { inspect } from 'node:util'
import type * as Shardtx from '../../src/index.js'

/**
 * One instance of every error class `shardtx` exports, built through the module it is given:
 * src/index.ts in unit tests, and dist/index.js / dist/index.cjs installed from the packed
 * tarball in test/package/package.test.ts, where the bundler could rename classes.
 *
 * @example
 * ```ts
 * for (const [exportName, err] of errorSamples(await import('shardtx'))) expect(err.name).toBe(exportName)
 * ```
 */
export function errorSamples(mod: typeof Shardtx): [exportName: string, error: Error][] {
  const origin = { file: 'src/app.ts', line: 12, column: 7 }
  const facts = { transactionId: 'tx-sample-00000001', shards: ['-80', '80-'], tables: ['accounts'], origin }
  const cause = new Error('sample cause')
  const samples: [string, Error][] = [
    ['ShardtxError', new mod.ShardtxError('SHARDTX_SAMPLE', 'sample')],
    ['TransactionError', new mod.TransactionError('SHARDTX_SAMPLE', 'sample', facts)],
    ['CrossShardTransactionError', new mod.CrossShardTransactionError({ ...facts, statementOrigin: origin, newShard: '80-', newTable: 'accounts' })],
    ['ReasonRequiredError', new mod.ReasonRequiredError(origin)],
    ['PartialCommitError', new mod.PartialCommitError({ ...facts, committedShards: ['-80'], uncommittedShards: ['80-'], failedShard: '80-' }, cause)],
    ['UnroutableQueryError', new mod.UnroutableQueryError('no shard key', { table: 'accounts', keyColumn: 'id', location: origin })],
    ['DistributedDeadlockError', new mod.DistributedDeadlockError({ ...facts, cycle: ['tx-a', 'tx-b'] })],
    ['ShardUnavailableError', new mod.ShardUnavailableError('-80', 'marked down (connect ECONNREFUSED)')],
    ['StatementTimeoutError', new mod.StatementTimeoutError('-80', 'UPDATE accounts', 1000)],
    [
      'SplitPlanFailedError',
      new mod.SplitPlanFailedError(
        { planId: 'p1', transactionId: 'tx-1', failedShard: '80-', appliedShards: ['-80'], unappliedShards: ['80-'], causeCode: 'ER_DUP_ENTRY' },
        cause,
      ),
    ],
    ['SplitPlanPendingError', new mod.SplitPlanPendingError({ planId: 'p1', transactionId: 'tx-1', appliedShards: ['-80'], pendingShards: ['80-'] }, cause)],
    ['SplitWriteResultError', new mod.SplitWriteResultError('the number of updated rows', origin, true)],
    ['SplitUnsupportedError', new mod.SplitUnsupportedError('sample')],
    [
      'AtomicOutcomeUnknownError',
      new mod.AtomicOutcomeUnknownError(
        facts,
        { gtrid: 'shardtx:tx-sample-00000001:0a1b2c3d4e:mipbc8g0', coordinatorShard: '-80', preparedShards: ['80-'] },
        cause,
      ),
    ],
    ['LockSetUnstableError', new mod.LockSetUnstableError(facts, [{ attempt: 1, table: 'accounts', shard: '-80', above: '80-', cause: 'busy' }], 3)],
    [
      'ShardMigrationError',
      new mod.ShardMigrationError('latest', [
        { shard: '-80', status: 'failed', error: cause },
        { shard: '80-', status: 'skipped' },
      ]),
    ],
  ]
  return samples
}

/** Names of the module's exports that are Error classes (Error itself or a subclass). */
export function exportedErrorClasses(mod: Record<string, unknown>): string[] {
  return Object.entries(mod)
    .filter(([, value]) => typeof value === 'function' && (value === Error || (value as { prototype?: unknown }).prototype instanceof Error))
    .map(([name]) => name)
    .sort()
}

/** What a user sees of an error's name: `name`, String(err), the first stack line, util.inspect's first line. */
export function shownNames(err: Error): { name: string; string: string; stack: string; inspect: string } {
  return {
    name: err.name,
    string: String(err).split(':')[0]!,
    stack: (err.stack ?? '').split('\n')[0]!.split(':')[0]!,
    inspect: inspect(err).split('\n')[0]!.split(':')[0]!.replace(/^\[/, ''),
  }
}
