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
  #request!: (request: EndRequest) => void
  #outcome: { ok: true; value: unknown } | { ok: false; error: unknown; rolledBack: boolean } | undefined
  // Made only when someone asks (most transactions never touch them): see #settlers.
  #execution: Settlable | undefined
  #ended: Settlable | undefined

  constructor() {
    this.requested = new Promise((resolve) => (this.#request = resolve))
  }

  /** Settles with the transaction's value, or rejects with the error it ended with. */
  get executionPromise(): Promise<unknown> {
    return (this.#execution ??= this.#settlable((outcome) => (outcome.ok ? { ok: true, value: outcome.value } : { ok: false, error: outcome.error }))).promise
  }

  /** Asks to commit; resolves once committed, rejects if the commit failed. */
  commit(value?: unknown): Promise<void> {
    this.#request({ kind: 'commit', value })
    return this.#endedPromise()
  }

  /** Asks to roll back; resolves once rolled back (the error, if any, goes to `executionPromise`). */
  rollback(error?: unknown): Promise<void> {
    this.#request({ kind: 'rollback', error })
    return this.#endedPromise().catch(() => undefined)
  }

  isCompleted(): boolean {
    return this.#outcome !== undefined
  }

  /** Settles the outcome: `ok` with the transaction's value, or the error it ended with. */
  finish(outcome: { ok: true; value: unknown } | { ok: false; error: unknown; rolledBack: boolean }): void {
    if (this.#outcome !== undefined) return
    this.#outcome = outcome
    this.#execution?.settle(outcome)
    this.#ended?.settle(outcome)
  }

  #endedPromise(): Promise<void> {
    // rollback() asked for it: it succeeded; a failed commit rejects commit()'s promise.
    return (this.#ended ??= this.#settlable((outcome) =>
      outcome.ok || outcome.rolledBack ? { ok: true, value: undefined } : { ok: false, error: outcome.error },
    )).promise as Promise<void>
  }

  /** A promise settled from the outcome by `map`, now if the outcome is known, else at {@link finish}. */
  #settlable(map: (outcome: NonNullable<AttemptControl['outcome']>) => { ok: true; value: unknown } | { ok: false; error: unknown }): Settlable {
    let resolve!: (value: unknown) => void
    let reject!: (error: unknown) => void
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res
      reject = rej
    })
    promise.catch(() => undefined) // observed by whoever asked for it
    const settlable: Settlable = {
      promise,
      settle(outcome) {
        const mapped = map(outcome)
        if (mapped.ok) resolve(mapped.value)
        else reject(mapped.error)
      },
    }
    if (this.#outcome !== undefined) settlable.settle(this.#outcome)
    return settlable
  }

  /** The outcome, once known (for {@link finish}'s callers' types). */
  get outcome(): { ok: true; value: unknown } | { ok: false; error: unknown; rolledBack: boolean } | undefined {
    return this.#outcome
  }
}

interface Settlable {
  promise: Promise<unknown>
  settle(outcome: NonNullable<AttemptControl['outcome']>): void
}
