/**
 * Full-jitter exponential backoff (AWS architecture blog's "full jitter"): a random delay in
 * [0, min(max, base * 2^(attempt-1))]. Randomness matters more than the curve: two transactions
 * that deadlocked each other must not retry in lockstep.
 *
 * @example
 * ```ts
 * await sleep(backoffDelay(2, { baseDelayMs: 10, maxDelayMs: 1000 })) // somewhere in [0, 20] ms
 * ```
 */
/** The delays of {@link backoffDelay}: `retry.baseDelayMs` and `retry.maxDelayMs`. */
export interface BackoffSettings {
  baseDelayMs: number
  maxDelayMs: number
}

export function backoffDelay(attempt: number, options: BackoffSettings, random = Math.random): number {
  // Exponent capped so huge attempt numbers never overflow to Infinity or NaN.
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt - 1, 30))
  return Math.floor(random() * ceiling)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
