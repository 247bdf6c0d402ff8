/**
 * A buffer of one with latest-wins semantics: `offer` replaces whatever is waiting (the stale
 * value is dropped), `take` empties the slot. Constant memory and never blocks the sender, whatever
 * the rate of offers.
 *
 * This is the fix of gh-ost PR #1666: a channel buffered to a retry
 * count ran the process out of memory; a buffer of one that drains the stale value and keeps the
 * current one carries the same information. Dropping the newest instead would act on old news.
 *
 * @example
 * ```ts
 * const reprobe = new LatestSlot<string>()
 * reprobe.offer('statement unanswered for 1000 ms')
 * reprobe.offer('acquire waiting for 1000 ms')   // replaces the first
 * reprobe.take()                                 // 'acquire waiting for 1000 ms'
 * reprobe.take()                                 // undefined
 * ```
 */
export class LatestSlot<T> {
  #value: T | undefined
  #full = false
  #replaced = 0

  /** Stores `value`, dropping the one waiting (if any). Returns at once. */
  offer(value: T): void {
    if (this.#full) this.#replaced++
    this.#value = value
    this.#full = true
  }

  /** The waiting value, emptying the slot; `undefined` when empty. */
  take(): T | undefined {
    const value = this.#value
    this.#value = undefined
    this.#full = false
    return value
  }

  get isFull(): boolean {
    return this.#full
  }

  /** How many offers replaced a value nobody had taken yet (a counter, not a list). */
  get replaced(): number {
    return this.#replaced
  }
}
