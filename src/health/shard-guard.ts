import { ShardUnavailableError, StatementTimeoutError } from '../shared/errors.js'
import type { RawConnection, KnexClientLike } from '../knex/client.js'
import { clientWithHooks } from '../knex/derived-clients.js'
import { closeConnection } from './close-connection.js'
import { describeDriverError, isConnectionError } from './connection-errors.js'
import type { HealthRegistry } from './health-registry.js'

export interface ShardGuardOptions {
  /** A wait unanswered this long makes the registry probe the shard; repeated at this interval. Half the failure bound. */
  suspectAfterMs: number
  /** Hard limit of one statement (`statementTimeoutMs`). */
  statementTimeoutMs: number
  /** For messages only: the pool's own acquire timeout and size. */
  acquireTimeoutMs: number
  poolMax: number
}

/**
 * Bounds every wait on one shard: taking a connection from its pool and every statement, BEGIN,
 * COMMIT and ROLLBACK on it. A wait ends in one of four ways, whichever comes first:
 * the answer; the shard going down (the registry fails every registered wait at once, and the
 * connection is closed); `statementTimeoutMs`; or, for acquires, the pool's `acquireTimeoutMs`.
 * While a wait is unanswered for `suspectAfterMs` the guard reports a suspicion, so a hung shard
 * is probed and declared down within the failure bound.
 *
 * A shard that is already down is refused before anything is sent.
 *
 * @example
 * ```ts
 * const guard = new ShardGuard('-80', registry, { suspectAfterMs: 1000, statementTimeoutMs: 30_000, acquireTimeoutMs: 10_000, poolMax: 10 })
 * const rows = await guard.run(connection, 'SELECT', () => knexQuery(connection))
 * ```
 */
export class ShardGuard {
  readonly shard: string
  readonly #registry: HealthRegistry
  readonly #options: ShardGuardOptions

  constructor(shard: string, registry: HealthRegistry, options: ShardGuardOptions) {
    this.shard = shard
    this.#registry = registry
    this.#options = options
  }

  /** The error to fail with right now if the shard is down; undefined when it is up. */
  unavailable(): ShardUnavailableError | undefined {
    return this.#registry.unavailable(this.shard)
  }

  /**
   * Takes a connection through `acquire` (the pool's), failing at once when the shard is or goes
   * down. A connection that arrives after the caller gave up is handed to `release`.
   */
  acquire<C>(acquire: () => Promise<C>, release: (connection: C) => unknown): Promise<C> {
    const down = this.unavailable()
    if (down) return Promise.reject(down)
    let work: Promise<C>
    try {
      work = acquire()
    } catch (err) {
      work = Promise.reject(err)
    }
    return this.#watch('a connection request', work, {
      deadlineMs: undefined, // the pool's acquireTimeoutMs ends it
      abandon: () => {
        work.then(
          (connection) => release(connection),
          () => undefined,
        )
      },
      mapError: (err) => this.#acquireError(err),
    })
  }

  /**
   * Runs `work` (one statement on `connection`), failing at once when the shard is down (nothing is
   * sent) or goes down meanwhile, and after `statementTimeoutMs`. On those failures and on a lost
   * connection, `connection` is closed: its transaction state is unknown, and closing it makes the
   * server roll that transaction back.
   */
  run<T>(connection: RawConnection, what: string, work: () => Promise<T>): Promise<T> {
    const down = this.unavailable()
    if (down) return Promise.reject(down)
    let pending: Promise<T>
    try {
      pending = work()
    } catch (err) {
      pending = Promise.reject(err)
    }
    return this.#watch(what, pending, {
      deadlineMs: this.#options.statementTimeoutMs,
      abandon: (reason) => closeConnection(connection, reason),
      mapError: (err) => {
        if (!isConnectionError(err)) return err
        closeConnection(connection, err)
        this.#registry.report(this.shard, { kind: 'suspect', reason: `connection lost during ${what}`, error: err })
        return new ShardUnavailableError(
          this.shard,
          `connection lost during ${what} (${describeDriverError(err).code ?? describeDriverError(err).message})${outcomeNote(what)}`,
          {
            cause: err,
          },
        )
      },
    })
  }

  #acquireError(err: unknown): unknown {
    if (isConnectionError(err)) {
      // A fresh connection that cannot be made is as good as a failed probe.
      this.#registry.report(this.shard, { kind: 'failed', reason: 'connect failed', error: err })
      return new ShardUnavailableError(this.shard, `cannot connect (${describeDriverError(err).code ?? describeDriverError(err).message})`, { cause: err })
    }
    const name = (err as { name?: unknown } | null)?.name
    if (name === 'KnexTimeoutError' || name === 'TimeoutError') {
      return new ShardUnavailableError(
        this.shard,
        `no free connection in its pool within acquireTimeoutMs (${this.#options.acquireTimeoutMs} ms); all pool.max (${this.#options.poolMax}) ` +
          `connections stayed busy. Raise pool.max or shorten transactions`,
        { cause: err },
      )
    }
    return err
  }

  #watch<T>(
    what: string,
    work: Promise<T>,
    how: { deadlineMs: number | undefined; abandon(reason: unknown): void; mapError(err: unknown): unknown },
  ): Promise<T> {
    const { suspectAfterMs } = this.#options
    return new Promise<T>((resolve, reject) => {
      const started = performance.now()
      let settled = false
      let timer: NodeJS.Timeout | undefined
      const stop = () => {
        settled = true
        clearTimeout(timer)
        unregister()
      }
      const giveUp = (err: unknown) => {
        if (settled) return
        stop()
        how.abandon(err)
        reject(err)
      }
      const unregister = this.#registry.onDown(this.shard, (err) =>
        giveUp(new ShardUnavailableError(this.shard, `${err.reason} while ${what} was waiting${outcomeNote(what)}`, { cause: err.cause })),
      )
      const arm = () => {
        const elapsed = performance.now() - started
        const untilDeadline = how.deadlineMs === undefined ? Infinity : how.deadlineMs - elapsed
        timer = setTimeout(tick, Math.max(0, Math.min(suspectAfterMs, untilDeadline)))
        timer.unref()
      }
      const tick = () => {
        if (settled) return
        const elapsed = performance.now() - started
        if (how.deadlineMs !== undefined && elapsed >= how.deadlineMs - 1) {
          giveUp(new StatementTimeoutError(this.shard, what, how.deadlineMs))
          return
        }
        this.#registry.report(this.shard, { kind: 'suspect', reason: `${what} unanswered for ${Math.round(elapsed)} ms` })
        arm()
      }
      arm()
      work.then(
        (value) => {
          if (settled) return
          stop()
          resolve(value)
        },
        (err: unknown) => {
          if (settled) return
          stop()
          reject(how.mapError(err))
        },
      )
    })
  }
}

function outcomeNote(what: string): string {
  return what === 'COMMIT' ? '; the COMMIT may or may not have been applied' : ''
}

const GUARD = Symbol('shardtx.shardGuard')

/**
 * A copy of a shard's knex client (prototype chain, the trick knex's own transactions use) whose
 * `acquireConnection` and `_query` go through `guard`. Everything derived from it with
 * `Object.create` (the session clients of ShardSession, routed reads) inherits both, so every
 * statement shardtx sends to the shard is bounded, whichever path sent it.
 *
 * `_query` is a knex internal; knex/derived-clients.ts checks it, so a knex without it fails at
 * start-up rather than running statements unguarded.
 *
 * @example
 * ```ts
 * const pool = guardClient(clientOf(knexForShard), guard)
 * await pool.runner(builder).run()   // acquire and statement both bounded by the guard
 * ```
 */
export function guardClient(client: KnexClientLike, guard: ShardGuard): KnexClientLike {
  const guarded = clientWithHooks(client, {
    acquire: (acquire) => guard.acquire(acquire, (connection) => client.releaseConnection(connection)),
    query: (connection, obj, send) => guard.run(connection, statementLabel(obj), send),
  }) as KnexClientLike & { [GUARD]: ShardGuard }
  guarded[GUARD] = guard
  return guarded
}

/** The guard of a client made by {@link guardClient} (or derived from one); undefined otherwise. */
export function shardGuardOf(client: unknown): ShardGuard | undefined {
  return (client as { [GUARD]?: ShardGuard } | null)?.[GUARD]
}

const LABELS: Readonly<Record<string, string>> = {
  select: 'SELECT',
  first: 'SELECT',
  pluck: 'SELECT',
  insert: 'INSERT',
  upsert: 'INSERT',
  update: 'UPDATE',
  counter: 'UPDATE',
  del: 'DELETE',
  raw: 'raw statement',
}

/** A label for messages: the statement's kind, never its SQL or values. */
function statementLabel(obj: { method?: string } | string): string {
  const method = typeof obj === 'object' && obj !== null ? obj.method : undefined
  return (method !== undefined && LABELS[method]) || 'statement'
}
