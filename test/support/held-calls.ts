/**
 * Stand-in calls whose promises settle only when a test says so, for batching logic that must be
 * seen with a write in flight (AppliedMarks, PlanInserts).
 */

/**
 * @example
 * ```ts
 * const calls = heldCalls()
 * const p = calls.hold(() => 42) // pending
 * calls.releaseAll()             // p resolves to 42; a throwing outcome rejects it instead
 * ```
 */
export function heldCalls() {
  let held: (() => void)[] = []
  return {
    /** A promise settled by `outcome` (its value, or what it throws) at the next {@link releaseAll}. */
    hold<T>(outcome: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) =>
        held.push(() => {
          try {
            resolve(outcome())
          } catch (err) {
            reject(err)
          }
        }),
      )
    },
    releaseAll(): void {
      const now = held
      held = []
      now.forEach((settle) => settle())
    },
  }
}

/** One turn of the event loop: every settled promise's reactions have run. */
export const tick = () => new Promise((resolve) => setImmediate(resolve))
