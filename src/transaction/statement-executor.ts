import {
  DistributedDeadlockError,
  ShardUnavailableError,
  ShardtxError,
  StatementTimeoutError,
  UnroutableQueryError,
  formatLocation,
  isLockWaitTimeout,
  isRetryableError,
} from '../shared/errors.js'
import type { KnexBuilderInternals } from '../knex/builder-internals.js'
import type { KnexClientLike } from '../knex/client.js'
import type { RoutedStatement } from '../routing/statement-router.js'
import type { CallSite } from '../shared/call-site.js'
import { emptyResult, mergeResults } from './result-merge.js'
import type { ShardSession } from './shard-session.js'
import type { CoreTransaction } from './policy.js'
import type { TransactionState } from './transaction-state.js'

/**
 * The path of every routed statement, from `await tx('table')...` to the shard:
 * route the builder (no SQL yet) -> let the policy admit each new shard (synchronously, so a
 * refused statement is never sent) -> run on the shard's session, or on the pool for plain reads
 * of shards the transaction does not participate in -> merge per-shard results.
 */
export function executeStatement(tx: CoreTransaction, builder: KnexBuilderInternals, callSite: CallSite | undefined): Promise<unknown> {
  // An insert into a table with a sequence gets its keys first (routing/new-row-keys.ts) and
  // resolves, as knex's does on MySQL, to [first generated id].
  const filling = tx.services.newRowKeys.pending(builder)
  if (filling === undefined) return tx.track(execute(tx, builder, callSite))
  return tx.track(filling.then((filled) => execute(tx, filled.builder, callSite).then(() => [filled.firstId])))
}

/**
 * A raw statement awaited on its own (`await tx.raw(sql, bindings)`): its SQL names no table
 * shardtx can route by, so it goes to the one shard the transaction writes to, or to the only
 * shard there is; otherwise it is refused with the fix (name the shard). Never sent anywhere
 * else: a guess could run it outside the rows the transaction holds.
 */
export function executeRawStatement(tx: CoreTransaction, raw: unknown, callSite: CallSite | undefined): Promise<unknown> {
  const participants = tx.participants
  const order = tx.services.shardMap.order
  const shard = participants.length === 1 ? participants[0] : order.length === 1 ? order[0] : undefined
  if (shard === undefined) {
    const where =
      participants.length === 0
        ? 'writes to no shard yet'
        : `writes to ${participants.length} shards [${tx.services.shardMap.canonicalOrder(participants).join(', ')}]`
    return Promise.reject(
      new UnroutableQueryError(
        `tx.raw() awaited on its own has no table to route by, and this transaction ${where}. ` +
          `Name the shard: tx.shard(name).raw(sql, bindings), or tx.shardFor(table, key).raw(sql, bindings) for the shard that holds a key ` +
          `(db.shardOf(table, key) tells which). As a value inside a builder (update({ n: tx.raw('n + ?', [1]) })) it needs no shard.`,
        { location: callSite?.location },
      ),
    )
  }
  return executeUnroutedStatement(tx, shard, raw, { readOnly: false, callSite })
}

async function execute(tx: CoreTransaction, builder: KnexBuilderInternals, callSite: CallSite | undefined): Promise<unknown> {
  assertUsable(tx)
  let routed: RoutedStatement
  try {
    routed = tx.services.router.route(builder)
  } catch (err) {
    throw err instanceof UnroutableQueryError ? err.at(callSite?.location) : err
  }
  tx.tables.add(routed.table)
  if (routed.shards.length === 0) return emptyResult(routed.method)
  assertShardsUp(tx, routed.shards)
  if (routed.kind === 'read') {
    // A policy may need locks in place first (ordered takes declared rows lazily, in order).
    const ready = tx.policy.beforeAccess?.(tx, routed.shards, false)
    if (ready !== undefined) await ready
    return readAcross(tx, routed, builder)
  }

  // Policy checks run before awaiting anything: a refusal then leaves nothing half-sent.
  const request = { statement: routed, table: routed.table, callSite }
  tx.policy.beforeStatement?.(tx, routed, request)
  if (tx.services.settings.logKeyValues) tx.recordKeys(routed.keysByShard)
  if (tx.policy.executeWrite) return tx.policy.executeWrite(tx, routed, builder, request)
  const sessions = routed.shards.map((shard) => tx.join(shard, request))
  const results: unknown[] = []
  // One shard after another in canonical order: a statement that locks rows on several shards
  // takes those locks in the same order every other transaction does.
  for (const [i, shard] of routed.shards.entries()) {
    const session = await sessions[i]!.catch((err: unknown) => Promise.reject(annotate(tx, shard, err)))
    results.push(await runOn(tx, shard, session.client, routed.perShard?.get(shard) ?? builder, true))
  }
  return results.length === 1 ? results[0] : mergeResults(routed.method, results)
}

/**
 * Plain reads run inside the transaction, on the shard's session (opened by the first read if the
 * transaction does not participate there yet), so later reads see the same snapshot. They never
 * make the transaction participate: the policy is not asked and no lock is taken.
 */
async function readAcross(tx: TransactionState, routed: RoutedStatement, builder: KnexBuilderInternals): Promise<unknown> {
  // Reference tables are on every shard: read the copy on a shard the transaction already has a session on.
  if (routed.anyShard === true) return readOn(tx, tx.participants[0] ?? tx.services.shardMap.order.find((s) => tx.sessionOn(s)) ?? routed.shards[0]!, builder)
  if (routed.shards.length === 1) return readOn(tx, routed.shards[0]!, builder)
  const results = await Promise.all(routed.shards.map((shard) => readOn(tx, shard, builder)))
  return mergeResults(routed.method, results)
}

async function readOn(tx: TransactionState, shard: string, builder: KnexBuilderInternals): Promise<unknown> {
  const session = await tx.readSession(shard).catch((err: unknown) => Promise.reject(annotate(tx, shard, err)))
  return runOn(tx, shard, session.client, builder)
}

/**
 * Runs the user's unrouted statement (`tx.shard(name)`) on one shard, after whatever the policy
 * needs in place first (see {@link CrossShardPolicy.beforeAccess}).
 */
export function executeUnroutedStatement(
  tx: CoreTransaction,
  shard: string,
  builder: unknown,
  options: { readOnly: boolean; callSite: CallSite | undefined },
): Promise<unknown> {
  let ready: Promise<void> | undefined
  try {
    ready = tx.closed || tx.doomed ? undefined : tx.policy.beforeAccess?.(tx, [shard], !options.readOnly)
  } catch (err) {
    return Promise.reject(err)
  }
  if (ready === undefined) return executeOnShard(tx, shard, builder, options)
  return tx.track(ready.then(() => executeOnShard(tx, shard, builder, options)))
}

/** Options of {@link executeOnShard}. */
export interface OnShardOptions {
  readOnly: boolean
  callSite: CallSite | undefined
  /**
   * The statement is sent so that it fails rather than wait, and the caller handles that failure
   * (1205) itself: it does not doom the transaction here. Default false.
   */
  lockWaitExpected?: boolean
  /** The client to run on, derived from the session's (e.g. one that rewrites the SQL); default the session's own. */
  clientFor?: (session: ShardSession) => KnexClientLike
}

/** Runs a statement on one shard, outside routing: unrouted user statements and policies' own statements. */
export function executeOnShard(tx: TransactionState, shard: string, builder: unknown, options: OnShardOptions): Promise<unknown> {
  return tx.track(
    (async () => {
      assertUsable(tx)
      assertShardsUp(tx, [shard])
      const joining = options.readOnly ? tx.readSession(shard) : tx.join(shard, { statement: undefined, table: undefined, callSite: options.callSite })
      const session = await joining.catch((err: unknown) => Promise.reject(annotate(tx, shard, err)))
      const client = options.clientFor === undefined ? session.client : options.clientFor(session)
      return runOn(tx, shard, client, builder, true, options.lockWaitExpected === true)
    })(),
  )
}

/**
 * `mayWait`: the statement runs on the transaction's session and can wait on a row lock (a write,
 * a locking read, raw SQL). The deadlock detector arms a timer beside it (see deadlock/wait-watch.ts);
 * the statement itself never waits for the detector.
 */
async function runOn(
  tx: TransactionState,
  shard: string,
  client: KnexClientLike,
  builder: unknown,
  mayWait = false,
  lockWaitExpected = false,
): Promise<unknown> {
  const watch = mayWait ? tx.services.deadlock.watch(tx, shard) : undefined
  try {
    return await client.runner(builder).run()
  } catch (err) {
    throw annotate(tx, shard, err, lockWaitExpected)
  } finally {
    watch?.end()
  }
}

/**
 * A statement that needs a shard marked down fails before anything is sent, to any of its shards:
 * the transaction fails at once instead of waiting for a timeout (see health/).
 */
function assertShardsUp(tx: TransactionState, shards: readonly string[]): void {
  for (const shard of shards) {
    const down = tx.services.health.unavailable(shard)
    if (down) throw doomIfParticipant(tx, shard, new ShardUnavailableError(shard, down.reason, { transactionId: tx.id }))
  }
}

/** A shard failure on a shard the transaction participates in leaves its session closed: it cannot commit. */
function doomIfParticipant(tx: TransactionState, shard: string, err: Error): Error {
  return tx.isParticipant(shard) ? tx.doom(err) : err
}

function assertUsable(tx: TransactionState): void {
  if (tx.closed) {
    throw new ShardtxError(
      'SHARDTX_TRANSACTION_ENDED',
      `Transaction ${tx.id} (opened at ${formatLocation(tx.origin)}) has already ended; a statement was issued on it afterwards. ` +
        `Await every statement inside the db.transaction() callback.`,
    )
  }
  if (tx.doomed) throw tx.doomed
}

/**
 * Driver errors get the shard, transaction and origin attached (as properties and in the
 * message), so an operator reading a log line knows where to look. Deadlock-class errors doom
 * the transaction: InnoDB has already rolled it back (1213) or the whole attempt will be retried.
 */
export function annotate(tx: TransactionState, shard: string, err: unknown, lockWaitExpected = false): unknown {
  // A deadlock victim's statement fails because the detector killed it: the reason is the deadlock.
  if (tx.doomed instanceof DistributedDeadlockError) return tx.doomed
  // The guard (health/) does not know the transaction; the error it raised gets the id here.
  if (err instanceof ShardUnavailableError && err.transactionId === undefined) {
    return doomIfParticipant(tx, shard, new ShardUnavailableError(err.shard, err.reason, { cause: err.cause, transactionId: tx.id }))
  }
  if (err instanceof ShardUnavailableError || err instanceof StatementTimeoutError) return doomIfParticipant(tx, shard, err)
  if (err instanceof ShardtxError || err === null || typeof err !== 'object') return err
  // mysql2 attaches the statement with its values spliced in; the message already names the
  // statement with `?` placeholders (knex's compileSqlOnError is off unless logKeyValues is on).
  if (!tx.services.settings.logKeyValues && typeof (err as { sql?: unknown }).sql === 'string') delete (err as { sql?: unknown }).sql
  const e = err as Error & { shard?: string; transactionId?: string; origin?: string }
  if (e.shard === undefined) {
    e.shard = shard
    e.transactionId = tx.id
    e.origin = formatLocation(tx.origin)
    if (typeof e.message === 'string') e.message += ` [shardtx: shard ${shard}, transaction ${tx.id} opened at ${e.origin}]`
  }
  if (isRetryableError(e) && !(lockWaitExpected && isLockWaitTimeout(e))) tx.doom(e)
  return e
}
