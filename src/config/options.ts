import type { ShardtxLogger } from '../shared/logger.js'
import type { CrossShardPolicyName } from './policy-names.js'
import type { SplitFailure } from './split-failure.js'

/** A shard key value. Numbers must be safe integers; `hash` needs integers, `xxhash` and custom routers take any. */
export type ShardKey = number | bigint | string

/** Where a shard lives: a `mysql://user:pass@host:port/database` URL or connection fields. */
export type ShardConnection =
  | string
  | {
      host?: string
      port?: number
      user?: string
      password?: string
      database: string
      /** Unix socket path; when set, host and port are ignored. */
      socketPath?: string
    }

/**
 * How one table is placed (see docs/routing.md): spread by a shard key column, pinned to one
 * shard, or copied to every shard (a reference table).
 *
 * @example
 * ```ts
 * const tables: Record<string, TableConfig> = {
 *   customers: { shardKey: 'id', sequence: { table: 'customer_seq' } },
 *   orders: { shardKey: 'customer_id', colocatedWith: 'customers' }, // orders.customer_id holds customers.id values
 *   countries: { reference: true },                                   // the same rows on every shard
 *   notes: { shard: '-80' },                                          // unsharded, lives on -80
 * }
 * ```
 */
export type TableConfig = ShardedTableConfig | PinnedTableConfig | ReferenceTableConfig

/** A table spread over the shards by the value of one column (a Vitess vindex column). */
export interface ShardedTableConfig {
  /** Column whose value picks the shard (compared with `=` / `IN` in queries, present in inserted rows). */
  shardKey: string
  /**
   * A sharded table whose shard key holds the same values as this one's (Vitess: the two tables
   * share a vindex in one keyspace), e.g. `orders: { shardKey: 'customer_id', colocatedWith: 'customers' }`.
   * A row of each with equal keys lives on the same shard, so a join or subquery that equates the
   * two key columns stays on one shard. A custom `router` is called with the name of the table the
   * chain of `colocatedWith` ends at, so co-located tables always route alike.
   * @default undefined (a key space of its own)
   */
  colocatedWith?: string
  /**
   * Fills the shard key of inserted rows that lack it: a one-row counter table on one shard
   * handing out blocks of ids (Vitess sequences), or your own generator.
   * @default undefined (every inserted row must carry its key)
   */
  sequence?: SequenceConfig
}

/** An unsharded table that lives on one shard. */
export interface PinnedTableConfig {
  /** Name of the shard that holds the whole (unsharded) table. */
  shard: string
}

/**
 * A small table with the same rows on every shard (Vitess: a reference table), readable and
 * joinable from any shard. Writes through a transaction are refused: change it on every shard
 * with `db.shard(name)`, outside transactions (docs/routing.md).
 */
export interface ReferenceTableConfig {
  reference: true
}

/**
 * Where new keys come from: a counter table (`{ table, shard?, blockSize? }`), or a function
 * called once per inserted row that lacks its key.
 */
export type SequenceConfig = SequenceTableConfig | SequenceGenerator

/** Returns the shard key of one new row of `table`; must never return the same key twice. */
export type SequenceGenerator = (table: string) => ShardKey | Promise<ShardKey>

/**
 * A Vitess-style sequence: one row (`id = 0`) of a table on one shard whose `next_id` column is
 * the next unreserved id. shardtx reserves `blockSize` ids per round trip and hands them out from
 * memory, so ids are unique across processes and a restart loses at most the rest of one block.
 *
 * @example
 * ```sql
 * CREATE TABLE customer_seq (id INT PRIMARY KEY, next_id BIGINT NOT NULL, cache BIGINT NOT NULL) COMMENT 'vitess_sequence';
 * INSERT INTO customer_seq (id, next_id, cache) VALUES (0, 1, 100);
 * ```
 */
export interface SequenceTableConfig {
  /** The counter table. */
  table: string
  /**
   * Shard that holds the counter table.
   * @default the first shard in canonical order
   */
  shard?: string
  /**
   * Ids reserved per round trip, from 1 to 1000 (`MAX_SEQUENCE_BLOCK`). Memory use does not depend
   * on it; a restart skips at most this many ids.
   * @default 100
   */
  blockSize?: number
}

/** Picks the shard of a key. Must return one of the configured shard names. */
export type RouterFunction = (table: string, key: ShardKey) => string

export type { CrossShardPolicyName } from './policy-names.js'

export interface RetryOptions {
  /**
   * Total attempts for a transaction that fails with a deadlock-class error (1213, 1205,
   * distributed deadlock). `1` disables retries. Any positive safe integer is accepted; memory use
   * does not depend on it.
   * @default 3
   */
  maxAttempts?: number
  /**
   * Backoff before the second attempt, in ms; doubled each attempt up to `maxDelayMs`, with full jitter.
   * @default 10
   */
  baseDelayMs?: number
  /**
   * Upper bound of the backoff between attempts, in ms.
   * @default 1000
   */
  maxDelayMs?: number
}

export interface WarningOptions {
  /**
   * Per call site (origin), at most one cross-shard warning is logged per interval; the next one
   * carries the count of suppressed warnings.
   * @default 60000
   */
  intervalMs?: number
  /**
   * Include shard key values in warnings and errors. Off by default because keys are often
   * customer identifiers.
   * @default false
   */
  logKeyValues?: boolean
}

/** Recording of multi-shard transactions for `shardtx report` (see docs/strict-mode.md). */
export interface FootprintOptions {
  /**
   * JSON lines file that every multi-shard transaction of this process is appended to (one line
   * each: origin, shards, tables, policy, outcome, reason; never key values). Opened when the
   * ShardedDb is created, flushed by `db.destroy()`; several processes may share it.
   * @default process.env.SHARDTX_FOOTPRINT_FILE, else no recording
   */
  file: string
}

export interface PoolOptions {
  /** @default 0 */
  min?: number
  /** @default 10 */
  max?: number
}

export interface ShardedDbOptions {
  /** Shard name -> connection. Names are Vitess keyranges (`-80`, `80-`) for `hash`/`xxhash` routers. */
  shards: Record<string, ShardConnection>
  /** Every table the application touches through shardtx. A table not listed is an error. */
  tables: Record<string, TableConfig>
  /**
   * `hash` (Vitess hash vindex), `xxhash` (Vitess xxhash vindex), or your own function.
   * @default 'hash'
   */
  router?: 'hash' | 'xxhash' | RouterFunction
  /**
   * What to do when a transaction writes to a second shard.
   * @default 'reject'
   */
  crossShard?: CrossShardPolicyName
  /** Whole-transaction retries of deadlock-class errors. */
  retry?: RetryOptions
  /** Rate limiting and content of cross-shard warnings. */
  warnings?: WarningOptions
  /**
   * Strict mode, for test suites: a per-transaction `{ crossShard: 'warn' }` without a `reason`
   * throws `ReasonRequiredError` instead of running. This option wins over the environment.
   * @default true if `SHARDTX_STRICT` is `1`/`true`, false if it is `0`/`false`, else `NODE_ENV === 'test'`
   */
  strict?: boolean
  /** Record every multi-shard transaction's footprint to a JSONL file. */
  footprint?: FootprintOptions
  /** The `split` policy's intent log and recovery (see docs/split.md). */
  split?: SplitOptions
  /** The `atomic` policy's decision records and recovery of prepared XA branches (see docs/atomic.md). */
  atomic?: AtomicOptions
  /**
   * Where structured events go: pino, console, or anything with warn/error/info/debug.
   * @default a logger that drops everything
   */
  logger?: ShardtxLogger
  /** Connection pool per shard. */
  pool?: PoolOptions
  /**
   * The failure bound, in ms: how long a shard may take to prove it is alive. A new connection must
   * complete its handshake within it; a shard that leaves a statement (or a wait for a pooled
   * connection) unanswered for half of it gets a health probe (a fresh connection and `SELECT 1`)
   * that must answer within the other half. A shard that fails either is marked down: transactions
   * waiting on it fail with `ShardUnavailableError` at once, so a dead or hung (SIGSTOPped) shard
   * fails them within about this bound, and new transactions that need it fail immediately until a
   * background probe finds it answering again. See docs/resilience.md.
   * @default 2000
   */
  connectTimeoutMs?: number
  /**
   * Longest wait for a free pooled connection when the shard's pool is busy (all `pool.max`
   * connections in use), in ms. Not a health signal: a busy pool does not mark the shard down.
   * @default 10000
   */
  acquireTimeoutMs?: number
  /**
   * Hard limit for one statement, including BEGIN, COMMIT and ROLLBACK, on a shard that still
   * answers health probes (a slow query or a lock wait), in ms. On expiry the connection is closed,
   * which rolls that shard's transaction back, and the transaction fails with
   * `StatementTimeoutError`. The default matches Vitess's query timeout.
   * @default 30000
   */
  statementTimeoutMs?: number
  /** Background probing of shards that are down. */
  health?: HealthOptions
  /** The distributed deadlock detector (see docs/deadlock.md). */
  deadlock?: DeadlockOptions
}

/**
 * The distributed deadlock detector: finds cycles of lock waits that span shards (which no single
 * server can see) and rolls back the youngest transaction of each, which then fails with
 * `DistributedDeadlockError` (retried when `retry.maxAttempts > 1`). See docs/deadlock.md.
 *
 * @example
 * ```ts
 * createShardedDb({ ...config, deadlock: { waitThresholdMs: 100 } })
 * ```
 */
export interface DeadlockOptions {
  /**
   * Watch lock waits and break distributed deadlocks. Off, a cross-shard deadlock lasts until
   * `innodb_lock_wait_timeout` (50 s by default) or `statementTimeoutMs`.
   * @default true
   */
  enabled?: boolean
  /**
   * A statement that can wait on a row lock and is still running after this many ms wakes the
   * detector. Nothing is read from any server before that, so while nothing waits the detector
   * costs one timer per such statement.
   * @default 200
   */
  waitThresholdMs?: number
  /**
   * While any statement waits past the threshold, detection runs again this often, in ms. At least
   * 250: InnoDB refreshes its lock views only when they were last read 100 ms or more earlier, so
   * faster reading would see nothing. Each server is read at most every 250 ms per process anyway.
   * @default 250
   */
  pollIntervalMs?: number
  /**
   * A deadlock whose victim belongs to another process is left to that process's detector. If
   * the same deadlock is still there after this many ms (and was seen on two separate reads),
   * this process kills the victim's connections itself, which rolls it back on every shard.
   * Killing another user's connection needs CONNECTION ADMIN or SUPER.
   * @default 2000
   */
  killOtherProcessVictimsAfterMs?: number
}

export interface HealthOptions {
  /**
   * How often a shard that is down is probed (a fresh connection and `SELECT 1`), in ms. The first
   * probe that answers puts the shard back in use. Probe timers never keep the process alive.
   * @default 500
   */
  probeIntervalMs?: number
}

/**
 * The `split` policy: intent log, recovery, pruning (see docs/split.md).
 *
 * @example
 * ```ts
 * createShardedDb({ ...config, crossShard: 'split', split: { recoveryIntervalMs: 30_000, compensate: alertOps } })
 * ```
 */
export interface SplitOptions {
  /**
   * Run `db.recover()` when the ShardedDb is created (on the next tick, in the background), so
   * plans of a process that crashed are finished when it restarts. Recovery reads the coordinator
   * shard (the first in canonical order) and does nothing if no plan was ever stored.
   * @default true
   */
  recoverOnStart?: boolean
  /**
   * Run recovery every this many ms (0 = never). Periodic passes only finish plans older than one
   * interval (younger ones are most likely still being applied by their own process). The timer
   * never keeps the process alive and stops at `db.destroy()`.
   * @default 60000
   */
  recoveryIntervalMs?: number
  /**
   * Finished plans (applied or failed) and their applied markers are deleted by recovery passes
   * this long after they finished. Also the window in which an `idempotencyKey` is remembered.
   * @default 3600000 (1 hour)
   */
  retainFinishedMs?: number
  /**
   * Tries per part for transient errors (deadlock, lock wait timeout, lost connection) before the
   * plan is left pending for recovery. Memory use does not depend on it.
   * @default 3
   */
  partAttempts?: number
  /**
   * Largest plan (SQL and values of every write of one split transaction), in bytes. The plan is
   * stored in one row before anything runs; keep this below the server's `max_allowed_packet`.
   * @default 4194304 (4 MiB)
   */
  maxPlanBytes?: number
  /**
   * Run a plan's parts concurrently instead of one shard after another. Each part is still its own
   * one-shard transaction, but the plan then holds locks on several shards at the same time.
   * @default false
   */
  parallelParts?: boolean
  /**
   * Called once for a plan that fails for good, when no per-transaction `compensate` was given,
   * and for failures found by `db.recover()` (which has no per-transaction hooks).
   * @default none
   */
  compensate?: (failure: SplitFailure) => void | Promise<void>
}

/**
 * The `atomic` policy: recovery of prepared XA branches and pruning of decision records (see
 * docs/atomic.md).
 *
 * @example
 * ```ts
 * createShardedDb({ ...config, crossShard: 'atomic', atomic: { recoveryIntervalMs: 10_000 } })
 * ```
 */
export interface AtomicOptions {
  /**
   * Recover atomic transactions when the ShardedDb is created (on the next tick, in the
   * background): `XA RECOVER` on every shard's server, then commit or roll back each of
   * shardtx's prepared branches by its decision record.
   * @default true
   */
  recoverOnStart?: boolean
  /**
   * Run atomic recovery every this many ms (0 = never). Periodic passes abort a branch that has no
   * decision record only when its transaction started at least one interval ago (younger ones
   * most likely belong to a live process, which finishes them itself).
   * @default 60000
   */
  recoveryIntervalMs?: number
  /**
   * Decision records are deleted by recovery passes once they are this old and no server lists a
   * branch of their transaction. Keep it well above the time a commit takes (every branch is
   * prepared within a few statement timeouts of the record being written).
   * @default 3600000 (1 hour)
   */
  retainDecisionsMs?: number
}

/** Options of one `db.transaction()` call. */
export interface TransactionOptions {
  /** Overrides the database-wide policy for this transaction. */
  crossShard?: CrossShardPolicyName
  /** Why this transaction may span shards (a ticket URL). Logged with every warning. */
  reason?: string
  /** Overrides `retry.maxAttempts` for this transaction. */
  maxAttempts?: number
  /**
   * knex's transaction isolation level, applied to every shard the transaction uses
   * (`SET TRANSACTION ISOLATION LEVEL ...` before its first statement there).
   * @default the server's (InnoDB: 'repeatable read')
   */
  isolationLevel?: 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'
  /**
   * knex's read-only transaction: every shard's session is `READ ONLY`, so a write fails at the server.
   * @default false
   */
  readOnly?: boolean
  /**
   * knex's option: `tx.rollback()` called without an error resolves the transaction's promise
   * (with undefined) instead of rejecting it.
   * @default true
   */
  doNotRejectOnRollback?: boolean
  /**
   * `ordered` and `atomic` only: rows to lock, by table and shard key value. They are locked exclusively, shard
   * by shard in canonical order, keys sorted, each shard's before any statement of the callback
   * reaches that shard (or a shard above it), so every statement finds them held and the
   * transaction never restarts for them; rows the callback never reaches are locked before commit.
   * Name rows that exist; rows the callback inserts need no entry. Without `lock`, the lock set is
   * learned (see `maxLockRestarts`).
   * @example { crossShard: 'ordered', lock: { accounts: [from, to] } }
   * @default undefined (learned)
   */
  lock?: Record<string, readonly ShardKey[]>
  /**
   * `ordered` and `atomic` only: how many times an attempt may restart because a statement reached for rows on a
   * shard ranked below one it already held and could not take them without waiting (busy rows, or
   * MySQL); each restart takes everything seen so far in canonical order.
   * Past it the transaction fails with `SHARDTX_LOCK_SET_UNSTABLE`. From 0 to 100.
   * @default 3
   */
  maxLockRestarts?: number
  /**
   * `split` only: makes the transaction safe to resubmit. A later transaction with the same key
   * (within `split.retainFinishedMs`) applies nothing: it returns when the first one's plan is
   * applied (finishing it if still pending) and throws its `SplitPlanFailedError` if it failed.
   * Only a SHA-256 of the key is stored or compared; the key is never logged.
   */
  idempotencyKey?: string
  /**
   * `split` only: called once if the plan fails for good (e.g. a constraint violation in a later
   * part), with the applied and unapplied parts, before `SplitPlanFailedError` is thrown.
   * Overrides `split.compensate` for this transaction.
   */
  compensate?: (failure: SplitFailure) => void | Promise<void>
  /** `split` only: overrides `split.parallelParts` for this transaction. */
  parallelParts?: boolean
}
