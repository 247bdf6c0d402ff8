/**
 * Group commit: items queued while a write is in flight go out together in the next write,
 * instead of one write each. The first item is written at once (after the current turn, so
 * items queued in the same turn join it); under load each item waits at most for the write
 * ahead of it. One write is in flight at a time. AppliedMarks and PlanInserts are its users.
 */
export interface BatchQueueOptions<T> {
  /** How many of the queued items (at least one, at most all) the next write takes. */
  batchSize(queue: readonly T[]): number
  /** Writes one batch; must not throw (each user settles or drops its own failures). */
  write(batch: T[]): Promise<void>
  /** Beyond this many queued items the oldest are dropped; undefined: the callers bound the queue. */
  maxQueued?: number
}

/**
 * @example
 * ```ts
 * const queue = new BatchQueue<string>({ batchSize: (q) => Math.min(q.length, 500), write: (ids) => markAll(ids) })
 * queue.push('plan-1')
 * await queue.drain()
 * ```
 */
export class BatchQueue<T> {
  readonly #options: BatchQueueOptions<T>
  #queue: T[] = []
  #flushing: Promise<void> | undefined

  constructor(options: BatchQueueOptions<T>) {
    this.#options = options
  }

  /** Queues `item`; never throws, never waits. */
  push(item: T): void {
    this.#queue.push(item)
    const max = this.#options.maxQueued
    if (max !== undefined && this.#queue.length > max) this.#queue.splice(0, this.#queue.length - max)
    this.#flushing ??= this.#flush()
  }

  /** Resolves when every item queued so far has been written. */
  async drain(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing
  }

  async #flush(): Promise<void> {
    await Promise.resolve()
    try {
      while (this.#queue.length > 0) await this.#options.write(this.#queue.splice(0, this.#options.batchSize(this.#queue)))
    } finally {
      this.#flushing = undefined
    }
  }
}
