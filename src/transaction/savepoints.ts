import { ShardtxError } from '../shared/errors.js'
import { AttemptControl } from './attempt-control.js'
import type { CoreTransaction } from './policy.js'
import type { ShardedTransaction } from './tx-handle.js'

/**
 * knex's nested transaction (`trx.transaction(fn)`, `trx.savepoint(fn)`) on a sharded
 * transaction: `SAVEPOINT` on every shard with an open session, and on every shard that opens one
 * while the savepoint is open (transaction-state.ts), so rolling back to it undoes what every
 * shard did since. The callback's promise resolving releases it (`RELEASE SAVEPOINT`), a rejection
 * or `sp.rollback(error)` rolls back to it (`ROLLBACK TO SAVEPOINT`), and the nested call
 * resolves or rejects as knex's does (`doNotRejectOnRollback`, default true: a rollback without
 * an error resolves). Locks taken inside stay held until the whole transaction ends, as in InnoDB.
 *
 * @example
 * ```ts
 * await tx.transaction(async (sp) => {
 *   await sp('accounts').where({ id: 1 }).decrement('balance', 5)
 *   throw new Error('undo just this part') // rolled back to the savepoint; tx goes on
 * }).catch(() => undefined)
 * ```
 */
export async function runSavepoint(
  tx: CoreTransaction,
  container: unknown,
  config: unknown,
  makeHandle: (control: AttemptControl) => ShardedTransaction,
): Promise<unknown> {
  if (tx.policy.deferredWrites === true) {
    throw new ShardtxError(
      'SHARDTX_UNSUPPORTED',
      `Savepoints (trx.transaction() / trx.savepoint()) are not available under crossShard: '${tx.policy.name}': its writes run after the callback, ` +
        `so there is nothing to roll back to. Use crossShard: 'ordered' or a single-shard transaction.`,
    )
  }
  if (tx.closed) throw new ShardtxError('SHARDTX_TRANSACTION_ENDED', `Transaction ${tx.id} has already ended; a savepoint was opened on it afterwards.`)
  const doNotRejectOnRollback = (config as { doNotRejectOnRollback?: unknown } | undefined)?.doNotRejectOnRollback !== false
  const name = tx.nextSavepointName()
  await tx.track(tx.openSavepoint(name))
  const control = new AttemptControl()
  const handle = makeHandle(control)
  void control.requested.then((request) => end(tx, name, control, request, doNotRejectOnRollback))
  if (typeof container !== 'function') return handle // no callback: the caller commits or rolls back
  let result: unknown
  try {
    result = (container as (sp: ShardedTransaction) => unknown)(handle)
  } catch (err) {
    result = Promise.reject(err)
  }
  Promise.resolve(result).then(
    (value) => control.commit(value),
    (error: unknown) => control.rollback(error ?? new Error('savepoint callback rejected with no error')),
  )
  return control.executionPromise
}

async function end(
  tx: CoreTransaction,
  name: string,
  control: AttemptControl,
  request: Awaited<AttemptControl['requested']>,
  doNotRejectOnRollback: boolean,
): Promise<void> {
  try {
    await tx.settleInFlight()
    if (request.kind === 'commit') {
      if (tx.doomed) throw tx.doomed
      await tx.sendToEverySession(`RELEASE SAVEPOINT ${name}`)
      tx.closeSavepoint(name)
      control.finish({ ok: true, value: request.value })
    } else {
      await tx.sendToEverySession(`ROLLBACK TO SAVEPOINT ${name}`)
      tx.closeSavepoint(name)
      if (request.error === undefined && doNotRejectOnRollback) control.finish({ ok: true, value: undefined })
      else control.finish({ ok: false, error: request.error ?? new Error('Transaction rejected with non-error: undefined'), rolledBack: true })
    }
  } catch (err) {
    control.finish({ ok: false, error: err, rolledBack: false })
  }
}
