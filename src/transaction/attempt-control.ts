import type { HandleControl } from './tx-handle.js'

/** An explicit end of a transaction or savepoint: knex's `trx.commit(value)` or `trx.rollback(error)`. */
export type EndRequest = { kind: 'commit'; value: unknown } | { kind: 'rollback'; error: unknown }

/**
 * knex's transaction control for one attempt (or one savepoint): `commit(value)` and
 * `rollback(error)` ask for the end, whoever carries it out settles it with {@link finish}, and
 * `executionPromise` tells the outcome, as on a knex transaction.
 *
 * @example
 * ```ts
 * const control = new AttemptControl()
 * const first = await Promise.race([callbackDone, control.requested]) // { kind: 'commit', value } ...
 * control.finish({ ok: true, value })
 * ```
 */
export class AttemptControl implements HandleControl {
  /** The first explicit end asked for; never settles if nobody asks. */
  readonly requested: Promise<EndRequest>
  readonly executionPromise: Promise<unknown>
  #request!: (request: EndRequest) => void
  #resolve!: (value: unknown) => void
  #reject!: (error: unknown) => void
  /** Settles when the end has been carried out: what `commit()` and `rollback()` resolve with. */
  readonly #ended: Promise<void>
  #endedOk!: () => void
  #endedFailed!: (error: unknown) => void
  #completed = false

  constructor() {
    this.requested = new Promise((resolve) => (this.#request = resolve))
    this.executionPromise = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.#ended = new Promise((resolve, reject) => {
      this.#endedOk = resolve
      this.#endedFailed = reject
    })
    this.executionPromise.catch(() => undefined)
    this.#ended.catch(() => undefined)
  }

  /** Asks to commit; resolves once committed, rejects if the commit failed. */
  commit(value?: unknown): Promise<void> {
    this.#request({ kind: 'commit', value })
    return this.#ended
  }

  /** Asks to roll back; resolves once rolled back (the error, if any, goes to `executionPromise`). */
  rollback(error?: unknown): Promise<void> {
    this.#request({ kind: 'rollback', error })
    return this.#ended.catch(() => undefined)
  }

  isCompleted(): boolean {
    return this.#completed
  }

  /** Settles the outcome: `ok` with the transaction's value, or the error it ended with. */
  finish(outcome: { ok: true; value: unknown } | { ok: false; error: unknown; rolledBack: boolean }): void {
    if (this.#completed) return
    this.#completed = true
    if (outcome.ok) {
      this.#resolve(outcome.value)
      this.#endedOk()
    } else {
      this.#reject(outcome.error)
      // rollback() asked for it: it succeeded; a failed commit rejects commit()'s promise.
      if (outcome.rolledBack) this.#endedOk()
      else this.#endedFailed(outcome.error)
    }
  }
}
