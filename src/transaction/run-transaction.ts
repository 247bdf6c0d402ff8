import { DistributedDeadlockError, PartialCommitError, formatLocation, isRetryableError } from '../shared/errors.js'
import { reportDeadlockOutcome } from '../logging/deadlock-outcome.js'
import { CHANNELS, type PartialCommitEvent, type TransactionRetryEvent } from '../shared/channels.js'
import { levelEnabled } from '../shared/logger.js'
import { RestartAttempt, type TransactionOutcome } from './policy.js'
import { backoffDelay, sleep } from '../shared/backoff.js'
import type { CallSite } from '../shared/call-site.js'
import type { TransactionServices } from './services.js'
import { TransactionState } from './transaction-state.js'
import type { ResolvedTransactionOptions } from './transaction-options.js'
import { AttemptControl } from './attempt-control.js'
import { runSavepoint } from './savepoints.js'
import { createTransactionHandle, type ShardedTransaction } from './tx-handle.js'

/** One `db.transaction()` call: its validated options and the line that made it. */
export interface RunOptions extends ResolvedTransactionOptions {
  origin: CallSite
  /** No callback to run again (`await db.transaction()`): no retries, and a policy restart is an error. */
  manual?: boolean
}

/**
 * Runs the callback as one transaction, retrying the whole callback after deadlock-class errors.
 * A loop with a counter: memory is the same whether `maxAttempts` is 3 or 9,999,999,999,999.
 *
 * The callback may also end the transaction itself, as with knex: `tx.commit(value)` commits
 * there and then (the call resolves with `value`), `tx.rollback(error)` rolls back (the call
 * rejects with `error`, or resolves with undefined without one). An explicit end is final: it is
 * never retried.
 */
export async function runTransaction<T>(services: TransactionServices, fn: (tx: ShardedTransaction) => unknown, options: RunOptions): Promise<T> {
  let carry: unknown
  // Attempts that lost a distributed deadlock: their story ends with one more log line.
  const victims: string[] = []
  for (let attempt = 1; ; attempt++) {
    try {
      const result = (await runAttempt(services, fn, options, carry)) as T
      if (victims.length > 0) logVictimOutcome(services, victims, attempt, options)
      return result
    } catch (err) {
      if (err instanceof ExplicitEnd) {
        // The callback rolled back itself after a deadlock retry: the caller ends the story.
        if (victims.length > 0) logVictimOutcome(services, victims, attempt, options, err.error)
        throw err.error
      }
      if (err instanceof RestartAttempt) {
        carry = err.carry
        attempt-- // a policy restart is not a failed attempt; the policy bounds its restarts
        continue
      }
      carry = undefined
      if (err instanceof DistributedDeadlockError) victims.push(err.transactionId)
      if (attempt >= options.maxAttempts || !isRetryableError(err)) {
        if (victims.length > 0) logVictimOutcome(services, victims, attempt, options, err)
        throw err
      }
      const delayMs = backoffDelay(attempt, services.settings.retry)
      reportRetry(services, err, attempt, options, delayMs)
      await sleep(delayMs)
    }
  }
}

/** An explicit `tx.rollback(error)`: its error goes to the caller as is, and is never retried. */
class ExplicitEnd {
  constructor(readonly error: unknown) {}
}

/** How the callback ended: it returned (a value, or a promise that resolved) or it threw. */
type CallbackEnd = { kind: 'returned'; value: unknown } | { kind: 'threw'; error: unknown }

async function runCallback(fn: (tx: ShardedTransaction) => unknown, handle: ShardedTransaction): Promise<CallbackEnd> {
  try {
    return { kind: 'returned', value: await fn(handle) }
  } catch (error) {
    return { kind: 'threw', error }
  }
}

async function runAttempt(services: TransactionServices, fn: (tx: ShardedTransaction) => unknown, options: RunOptions, carry: unknown): Promise<unknown> {
  const tx = new TransactionState(services, options.policy, options.origin, options.reason, { sessionSetup: options.sessionSetup, canRestart: !options.manual })
  const control = new AttemptControl()
  const makeHandle = (c: AttemptControl): ShardedTransaction =>
    createTransactionHandle(tx, c, (container, config) => runSavepoint(tx, container, config, makeHandle))
  const started = performance.now()
  let outcome: TransactionOutcome = 'rolled back'
  try {
    await tx.begin(options.policyOptions, carry)
    const end = await Promise.race([runCallback(fn, makeHandle(control)), control.requested])
    // Statements the callback started without awaiting still belong to this transaction.
    await tx.settleInFlight()
    if (end.kind === 'threw') throw end.error
    if (end.kind === 'rollback') {
      await tx.rollbackAll()
      if (end.error === undefined && options.doNotRejectOnRollback) {
        control.finish({ ok: true, value: undefined })
        return undefined
      }
      const error = end.error ?? new Error('Transaction rejected with non-error: undefined')
      control.finish({ ok: false, error, rolledBack: true })
      throw new ExplicitEnd(error)
    }
    if (tx.doomed) throw tx.doomed
    await tx.policy.commit(tx)
    await tx.endReadSessions()
    outcome = 'committed'
    control.finish({ ok: true, value: end.value })
    return end.value
  } catch (err) {
    if (err instanceof ExplicitEnd) throw err
    if (err instanceof PartialCommitError) {
      outcome = 'partial commit'
      logPartialCommit(services, err)
    } else await tx.rollbackAll()
    // A callback that swallowed the policy's refusal still gets it: nothing was committed.
    const error = tx.doomed ?? err
    control.finish({ ok: false, error, rolledBack: false })
    throw error
  } finally {
    tx.close()
    tx.policy.finished(tx, outcome, performance.now() - started)
  }
}

/** A retry goes to the diagnostics channel and the debug log; the event (and the origin's stack formatting) only if someone gets it. */
function reportRetry(services: TransactionServices, err: unknown, attempt: number, options: RunOptions, delayMs: number): void {
  const debug = levelEnabled(services.logger, 'debug')
  if (!debug && !CHANNELS.transactionRetry.hasSubscribers) return
  const event: TransactionRetryEvent = {
    event: 'shardtx.transaction_retry',
    transactionId: (err as { transactionId?: string }).transactionId ?? '',
    attempt,
    maxAttempts: options.maxAttempts,
    delayMs,
    errorCode: (err as { code?: string }).code,
    origin: formatLocation(options.origin.location),
  }
  if (CHANNELS.transactionRetry.hasSubscribers) CHANNELS.transactionRetry.publish(event)
  if (debug) {
    services.logger.debug(
      event,
      `shardtx: retrying transaction from ${event.origin} after ${event.errorCode} (attempt ${attempt + 1} of ${options.maxAttempts})`,
    )
  }
}

function logVictimOutcome(services: TransactionServices, victims: string[], attempts: number, options: RunOptions, err?: unknown): void {
  reportDeadlockOutcome(services.logger, {
    event: 'shardtx.deadlock_victim_outcome',
    victims,
    outcome: err === undefined ? 'retried and committed' : 'gave up',
    attempts,
    maxAttempts: options.maxAttempts,
    ...(err === undefined ? {} : { errorCode: (err as { code?: string }).code }),
    origin: formatLocation(options.origin.location),
  })
}

/** The one outcome an operator must act on: data is now inconsistent across shards. */
function logPartialCommit(services: TransactionServices, err: PartialCommitError): void {
  const event: PartialCommitEvent = {
    event: 'shardtx.partial_commit',
    transactionId: err.transactionId,
    committedShards: [...err.committedShards],
    uncommittedShards: [...err.uncommittedShards],
    failedShard: err.failedShard,
    tables: [...err.tables],
    origin: formatLocation(err.origin),
  }
  services.logger.error(event, `shardtx: ${err.message}`)
}
