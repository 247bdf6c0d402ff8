/**
 * How many reports may wait at once. A constant, never a configured count: it bounds memory
 * whatever the number of shards, failures or callers. With more distinct keys failing at once the
 * oldest report is dropped (and counted); its shard is reported again by the next statement that
 * fails there, so nothing is lost for long.
 */
export const MAX_QUEUED_REPORTS = 256

/**
 * A bounded queue of failure reports with one worker (pgpool-II's fix of its 2014 failover deadlock):
 * whoever reports enqueues and returns at once, and a single worker handles reports one at a time.
 * Reporters never wait for the worker, so no reporter can be stuck behind something the worker is
 * waiting for, and the worker never takes a lock.
 *
 * Reports are keyed (by shard): a key has at most one waiting report, and a newer report for that
 * key is merged into it (latest wins by default) instead of queued behind it. So 64 statements
 * failing on one shard at the same moment cost one queue slot and one piece of work.
 *
 * The handler runs synchronously; work that needs the network (a probe) must be started by the
 * handler, not awaited by it, so one slow shard never delays the reports of another.
 *
 * @example
 * ```ts
 * const queue = new ReportQueue<string>((shard, reason) => markSuspect(shard, reason))
 * queue.offer('-80', 'connection lost')   // returns at once; the worker runs in a microtask
 * ```
 */
export class ReportQueue<R> {
  readonly #pending = new Map<string, R>() // insertion order is queue order
  readonly #handle: (key: string, report: R) => void
  readonly #merge: (waiting: R, next: R) => R
  readonly #onHandlerError: (err: unknown) => void
  readonly #capacity: number
  #scheduled = false
  #closed = false
  #dropped = 0

  constructor(
    handle: (key: string, report: R) => void,
    options: { merge?: (waiting: R, next: R) => R; onHandlerError?: (err: unknown) => void; capacity?: number } = {},
  ) {
    this.#handle = handle
    this.#merge = options.merge ?? ((_waiting, next) => next)
    this.#onHandlerError = options.onHandlerError ?? (() => undefined)
    this.#capacity = Math.max(1, Math.min(options.capacity ?? MAX_QUEUED_REPORTS, MAX_QUEUED_REPORTS))
  }

  /** Enqueues a report and returns at once; never blocks, never throws. */
  offer(key: string, report: R): void {
    if (this.#closed) return
    const waiting = this.#pending.get(key)
    if (waiting !== undefined) {
      this.#pending.set(key, this.#merge(waiting, report)) // keeps its place in the queue
    } else {
      if (this.#pending.size >= this.#capacity) {
        const oldest = this.#pending.keys().next().value as string
        this.#pending.delete(oldest)
        this.#dropped++
      }
      this.#pending.set(key, report)
    }
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => this.#drain())
    }
  }

  /** Reports waiting for the worker (at most {@link MAX_QUEUED_REPORTS}). */
  get size(): number {
    return this.#pending.size
  }

  /** Reports dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped
  }

  /** Drops waiting reports and ignores new ones. */
  close(): void {
    this.#closed = true
    this.#pending.clear()
  }

  /** The one worker: takes reports in order until none is left. */
  #drain(): void {
    this.#scheduled = false
    while (!this.#closed && this.#pending.size > 0) {
      const [key, report] = this.#pending.entries().next().value as [string, R]
      this.#pending.delete(key)
      try {
        this.#handle(key, report)
      } catch (err) {
        // A bug in one report's handling must not stop the worker for every other shard.
        this.#onHandlerError(err)
      }
    }
  }
}
