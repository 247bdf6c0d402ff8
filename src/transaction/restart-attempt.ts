/**
 * Thrown by a policy hook to end the current attempt (rolled back on every shard) and run the
 * callback again at once, handing `carry` to the next attempt's `begin`. Restarts do not count
 * against `retry.maxAttempts`; the policy that restarts must bound them itself.
 *
 * @example
 * ```ts
 * throw tx.doom(new RestartAttempt(grownLockSet, 'accounts on -80 reached for after 80-'))
 * ```
 */
export class RestartAttempt extends Error {
  readonly carry: unknown
  constructor(carry: unknown, reason: string) {
    super(reason)
    this.name = 'RestartAttempt'
    this.carry = carry
  }
}
