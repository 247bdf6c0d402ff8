import type { DetectorTransaction, LockWait, TransactionRegistry } from './transaction-registry.js'

/** Ends the watch of one statement; call it when the statement settles, whatever the outcome. */
export interface WaitHandle {
  end(): void
}

const NOT_WATCHED: WaitHandle = Object.freeze({ end() {} })

/**
 * The only cost the detector adds to a statement while nothing waits: a timer armed when a
 * statement that can wait on a row lock is sent (a write, a locking read, raw SQL on a session)
 * and cleared when it settles. If the statement is still running after `thresholdMs`, it is
 * marked long and `onLong` wakes the detector. Nothing is read from any server before that.
 *
 * The timer is unref'd: a waiting statement keeps the process alive by itself, the watch must not.
 *
 * @example
 * ```ts
 * const watch = new WaitWatch(registry, 200, () => detector.wake())
 * const handle = watch.start(tx, '-80')
 * try { await runStatement() } finally { handle.end() }
 * ```
 */
export class WaitWatch {
  readonly #registry: TransactionRegistry
  readonly #thresholdMs: number
  readonly #onLong: (wait: LockWait) => void

  constructor(registry: TransactionRegistry, thresholdMs: number, onLong: (wait: LockWait) => void) {
    this.#registry = registry
    this.#thresholdMs = thresholdMs
    this.#onLong = onLong
  }

  start(tx: DetectorTransaction, shard: string): WaitHandle {
    const wait = this.#registry.waitStarted(tx, shard)
    if (wait === undefined) return NOT_WATCHED
    const timer = setTimeout(() => {
      wait.timer = undefined
      this.#registry.markLong(wait)
      this.#onLong(wait)
    }, this.#thresholdMs)
    timer.unref()
    wait.timer = timer
    return {
      end: () => {
        if (wait.timer !== undefined) clearTimeout(wait.timer)
        wait.timer = undefined
        this.#registry.waitEnded(wait)
      },
    }
  }
}
