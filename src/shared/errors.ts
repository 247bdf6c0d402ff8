/**
 * Every error shardtx raises extends {@link ShardtxError} and carries a stable `code`, so
 * callers can branch on `err.code` without `instanceof` across package copies.
 *
 * @example
 * ```ts
 * try { await db.transaction(fn) }
 * catch (err) {
 *   if (err instanceof ShardtxError && err.retryable) scheduleRetry()
 * }
 * ```
 */
export class ShardtxError extends Error {
  /** Stable machine-readable code, e.g. `SHARDTX_CROSS_SHARD`. */
  readonly code: string
  /** True when running the same transaction again may succeed. */
  readonly retryable: boolean

  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    // Every shardtx subclass declares its `name` as a literal field (set after this line), and no
    // error class names itself in its own body: esbuild renames a class that does
    // (`_UnroutableQueryError`), and util.inspect prints the constructor's name beside `name`.
    // The build does not use esbuild's keepNames, which wraps every closure created at run time
    // (several per statement) in a naming call (bench/RESULTS.md). new.target.name is for
    // subclasses written elsewhere.
    this.name = new.target.name
    this.code = code
    this.retryable = options.retryable ?? false
  }
}

/** Where in application code something started: `file:line:column` plus the function name if known. */
export interface CodeLocation {
  file: string
  line: number
  column: number
  functionName?: string
}

/** Formats a location the way editors and terminals link it: `src/app.ts:12:7`. */
export function formatLocation(loc: CodeLocation | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.column}` : '<unknown location>'
}

/** What shardtx knows about the transaction an error happened in. */
export interface TransactionFacts {
  /** shardtx's id for the transaction (also in log events). */
  transactionId: string
  /** Shards in canonical order. */
  shards: readonly string[]
  /** Tables the transaction touched, sorted. */
  tables: readonly string[]
  /** The line of application code that called `db.transaction`. */
  origin?: CodeLocation | undefined
}

/**
 * The base of errors that end a transaction: it carries the transaction's facts (id, shards,
 * tables, origin) once, for every subclass, so operators find the same fields on each.
 *
 * @example
 * ```ts
 * catch (err) {
 *   if (err instanceof TransactionError) log.error({ tx: err.transactionId, shards: err.shards, origin: err.origin })
 * }
 * ```
 */
export class TransactionError extends ShardtxError implements TransactionFacts {
  override readonly name: string = 'TransactionError'
  readonly transactionId: string
  readonly shards: readonly string[]
  readonly tables: readonly string[]
  readonly origin: CodeLocation | undefined

  constructor(code: string, message: string, facts: TransactionFacts, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(code, message, options)
    this.transactionId = facts.transactionId
    this.shards = facts.shards
    this.tables = facts.tables
    this.origin = facts.origin
  }
}

/**
 * A transaction tried to write to (or lock rows on) a second shard under the `reject` policy.
 * The offending statement was never sent and the transaction was rolled back on every shard.
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   await tx('accounts').where({ id: 1 }).update({ x: 1 }) // shard -80
 *   await tx('accounts').where({ id: 4 }).update({ x: 1 }) // shard 80-: throws
 * }).catch((e) => e.code === 'SHARDTX_CROSS_SHARD')
 * ```
 */
export class CrossShardTransactionError extends TransactionError {
  override readonly name = 'CrossShardTransactionError'
  /** The line of application code whose statement would have joined the second shard. */
  readonly statementOrigin: CodeLocation | undefined

  /**
   * @param facts.detail What about the refused statement made it span shards, when it says more
   *   than the shard names (e.g. one multi-row insert whose rows live on several shards).
   */
  constructor(facts: TransactionFacts & { statementOrigin?: CodeLocation | undefined; newShard: string; newTable: string; detail?: string | undefined }) {
    super(
      'SHARDTX_CROSS_SHARD',
      `Transaction ${facts.transactionId} would write to a second shard: ` +
        `shards [${facts.shards.join(', ')}], tables [${facts.tables.join(', ')}]. ` +
        `The statement on ${facts.newTable} (shard ${facts.newShard}) at ${formatLocation(facts.statementOrigin)} was not sent, ` +
        (facts.detail === undefined ? '' : `${facts.detail} `) +
        `and the transaction opened at ${formatLocation(facts.origin)} was rolled back on every shard. ` +
        `Cross-shard transactions can deadlock across servers where no database can see the cycle. ` +
        `To fix: keep the transaction's writes on one shard (same shard key value), ` +
        `or pass { crossShard: 'ordered' } (locks shards in a canonical order) or { crossShard: 'split' } ` +
        `(one transaction per shard), or { crossShard: 'warn', reason: '<link explaining why>' } to allow it.`,
      facts,
    )
    this.statementOrigin = facts.statementOrigin
  }
}

/**
 * Strict mode (`NODE_ENV=test`, `SHARDTX_STRICT=1` or `strict: true`) refused a per-transaction
 * `{ crossShard: 'warn' }` override that gives no `reason`. Thrown before the callback runs, so
 * nothing was sent. Outside strict mode the same call is allowed and only logged, the way GitLab's
 * cross-database analyzer raises in development and test but logs in production.
 *
 * @example
 * ```ts
 * await db.transaction(fn, { crossShard: 'warn' })
 * // strict mode: rejects with err.code === 'SHARDTX_REASON_REQUIRED'
 * await db.transaction(fn, { crossShard: 'warn', reason: 'https://tracker.example/PAY-7' }) // fine
 * ```
 */
export class ReasonRequiredError extends ShardtxError {
  override readonly name = 'ReasonRequiredError'
  /** The `db.transaction()` call that gave no reason. */
  readonly origin: CodeLocation | undefined

  constructor(origin: CodeLocation | undefined) {
    super(
      'SHARDTX_REASON_REQUIRED',
      `db.transaction() at ${formatLocation(origin)} overrides crossShard to 'warn' without a reason, ` +
        `which strict mode (NODE_ENV=test or SHARDTX_STRICT=1) refuses: every transaction allowed to span shards ` +
        `must say why, so the exception can be reviewed. Like GitLab's cross-database analyzer, shardtx raises ` +
        `in development and test and only logs in production. Nothing was sent. ` +
        `To fix: pass { crossShard: 'warn', reason: '<link to the ticket or doc explaining why>' }, ` +
        `or keep the transaction's writes on one shard.`,
    )
    this.origin = origin
  }
}

/**
 * A multi-shard commit failed after some shards had already committed. The committed shards keep
 * their changes; the uncommitted ones were rolled back. Repair is application-specific.
 */
export class PartialCommitError extends TransactionError {
  override readonly name = 'PartialCommitError'
  readonly committedShards: readonly string[]
  readonly uncommittedShards: readonly string[]
  /** The shard whose COMMIT failed. */
  readonly failedShard: string

  constructor(facts: TransactionFacts & { committedShards: readonly string[]; uncommittedShards: readonly string[]; failedShard: string }, cause: unknown) {
    super(
      'SHARDTX_PARTIAL_COMMIT',
      `Transaction ${facts.transactionId} (opened at ${formatLocation(facts.origin)}) committed on shards ` +
        `[${facts.committedShards.join(', ')}] but COMMIT failed on shard ${facts.failedShard}` +
        `${cause instanceof Error ? ` (${cause.message})` : ''}; shards [${facts.uncommittedShards.join(', ')}] ` +
        `were not committed. Tables: [${facts.tables.join(', ')}]. ` +
        `The data is now inconsistent across shards and needs repair; the 'split' policy records ` +
        `an intent log so such transactions are finished by db.recover() instead.`,
      facts,
      { cause },
    )
    this.committedShards = facts.committedShards
    this.uncommittedShards = facts.uncommittedShards
    this.failedShard = facts.failedShard
  }
}

/** A query could not be sent to a shard: the key is missing, the table is unknown, or the shape is unsupported. */
export class UnroutableQueryError extends ShardtxError {
  override readonly name = 'UnroutableQueryError'
  readonly table: string | undefined
  readonly keyColumn: string | undefined
  /** The line of application code that built the statement. */
  readonly location: CodeLocation | undefined
  readonly #reason: string

  constructor(message: string, details: { table?: string; keyColumn?: string; location?: CodeLocation | undefined } = {}) {
    super('SHARDTX_UNROUTABLE', details.location ? `${message} (at ${formatLocation(details.location)})` : message)
    this.#reason = message
    this.table = details.table
    this.keyColumn = details.keyColumn
    this.location = details.location
  }

  /** The same error, pointing at the application line that built the statement. */
  at(location: CodeLocation | undefined): UnroutableQueryError {
    if (location === undefined || this.location !== undefined) return this
    const details: { table?: string; keyColumn?: string; location: CodeLocation } = { location }
    if (this.table !== undefined) details.table = this.table
    if (this.keyColumn !== undefined) details.keyColumn = this.keyColumn
    return new (this.constructor as new (reason: string, d: typeof details) => UnroutableQueryError)(this.#reason, details)
  }
}

/**
 * The transaction was chosen as the victim of a distributed deadlock and rolled back on every
 * shard. Running it again is safe and expected to succeed.
 */
export class DistributedDeadlockError extends TransactionError {
  override readonly name = 'DistributedDeadlockError'
  /** Transaction ids of the cycle, victim included. */
  readonly cycle: readonly string[]

  constructor(facts: TransactionFacts & { cycle: readonly string[] }) {
    super(
      'SHARDTX_DISTRIBUTED_DEADLOCK',
      `Transaction ${facts.transactionId} (opened at ${formatLocation(facts.origin)}) was rolled back on shards ` +
        `[${facts.shards.join(', ')}] to break a distributed deadlock among transactions [${facts.cycle.join(', ')}]. ` +
        `Tables: [${facts.tables.join(', ')}]. It is safe to retry (set retry.maxAttempts > 1 to retry automatically); ` +
        `to avoid the cycle, use { crossShard: 'ordered' }.`,
      facts,
      { retryable: true },
    )
    this.cycle = facts.cycle
  }
}

/**
 * A shard is down or did not answer within its timeout; the transaction was rolled back where possible.
 * `retryable` is true (the same work may succeed once the shard is back) but shardtx does not retry
 * it by itself: the shard's health decides when it is used again (see `db.health()`).
 *
 * @example
 * ```ts
 * try { await db.transaction(fn) }
 * catch (err) {
 *   if (err instanceof ShardUnavailableError) res.status(503).send(`shard ${err.shard} is unavailable`)
 * }
 * ```
 */
export class ShardUnavailableError extends ShardtxError {
  override readonly name = 'ShardUnavailableError'
  readonly shard: string
  readonly transactionId: string | undefined
  /** Why, without the surrounding sentence: e.g. `marked down (connect ECONNREFUSED)`. */
  readonly reason: string

  constructor(shard: string, reason: string, options: { cause?: unknown; transactionId?: string } = {}) {
    super(
      'SHARDTX_SHARD_UNAVAILABLE',
      `Shard ${shard} is unavailable: ${reason}.` +
        (options.transactionId ? ` Transaction ${options.transactionId} was rolled back on every shard it could reach.` : '') +
        ` Transactions on other shards are not affected; shardtx probes the shard and uses it again once it answers.`,
      { cause: options.cause, retryable: true },
    )
    this.shard = shard
    this.transactionId = options.transactionId
    this.reason = reason
  }
}

/**
 * A statement (or BEGIN / COMMIT / ROLLBACK) ran longer than `statementTimeoutMs` on a shard that
 * still answers health probes: the statement is slow or waits for a lock. Its connection was closed,
 * so the server rolled that shard's transaction back; a timed-out COMMIT may still have committed.
 *
 * @example
 * ```ts
 * createShardedDb({ ...config, statementTimeoutMs: 5_000 })
 * // a 6 s statement then fails with err.code === 'SHARDTX_STATEMENT_TIMEOUT'
 * ```
 */
export class StatementTimeoutError extends ShardtxError {
  override readonly name = 'StatementTimeoutError'
  readonly shard: string
  readonly timeoutMs: number

  constructor(shard: string, what: string, timeoutMs: number) {
    super(
      'SHARDTX_STATEMENT_TIMEOUT',
      `${what} on shard ${shard} did not finish within statementTimeoutMs (${timeoutMs} ms); the shard answers health probes, ` +
        `so the statement is slow or waiting for a lock. Its connection was closed, which rolls that shard's transaction back` +
        `${/COMMIT/.test(what) ? ' (unless the COMMIT had already been applied: its outcome is unknown)' : ''}. ` +
        `Raise statementTimeoutMs for long statements, or make them faster.`,
    )
    this.shard = shard
    this.timeoutMs = timeoutMs
  }
}

/** MySQL/MariaDB error numbers after which running the whole transaction again is the documented remedy. */
export const DEADLOCK_CLASS_ERRNOS: ReadonlySet<number> = new Set([
  1213, // ER_LOCK_DEADLOCK: InnoDB rolled the transaction back
  1205, // ER_LOCK_WAIT_TIMEOUT: only the statement was rolled back; we roll back the rest
])

/**
 * ER_LOCK_WAIT_TIMEOUT (1205): the statement waited longer than `innodb_lock_wait_timeout`, or,
 * sent with a lock wait timeout of 0, found its rows locked and was refused at once.
 *
 * @example
 * ```ts
 * isLockWaitTimeout({ errno: 1205 }) // true
 * ```
 */
export function isLockWaitTimeout(err: unknown): boolean {
  return (err as { errno?: unknown } | null)?.errno === 1205
}

/** True for errors that a whole-transaction retry is expected to fix. */
export function isRetryableError(err: unknown): boolean {
  if (err instanceof ShardtxError) return err.retryable && !(err instanceof ShardUnavailableError)
  const errno = (err as { errno?: unknown } | null)?.errno
  return typeof errno === 'number' && DEADLOCK_CLASS_ERRNOS.has(errno)
}
