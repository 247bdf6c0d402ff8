/**
 * Validation of the database-wide `atomic: { ... }` block of `createShardedDb`. Every mistake is a
 * TypeError naming the option, thrown before anything touches a shard.
 */
import { MAX_DURATION_MS } from '../shared/limits.js'
import { expectBoolean, expectInteger, expectKnownKeys, expectPlainObject } from '../shared/validators.js'

export interface ResolvedAtomicOptions {
  recoverOnStart: boolean
  recoveryIntervalMs: number
  retainDecisionsMs: number
}

export const ATOMIC_DEFAULTS = {
  recoverOnStart: true,
  recoveryIntervalMs: 60_000,
  retainDecisionsMs: 3_600_000,
} as const

/**
 * `atomic` of `createShardedDb` options, with defaults filled in.
 *
 * @example
 * ```ts
 * resolveAtomicOptions({ recoveryIntervalMs: 10_000 }) // { recoverOnStart: true, recoveryIntervalMs: 10000, retainDecisionsMs: 3600000 }
 * ```
 */
export function resolveAtomicOptions(value: unknown): ResolvedAtomicOptions {
  const atomic = expectPlainObject('atomic', value ?? {})
  expectKnownKeys('atomic', atomic, ['recoverOnStart', 'recoveryIntervalMs', 'retainDecisionsMs'])
  return {
    recoverOnStart: expectBoolean('atomic.recoverOnStart', atomic.recoverOnStart, ATOMIC_DEFAULTS.recoverOnStart),
    recoveryIntervalMs: expectInteger('atomic.recoveryIntervalMs', atomic.recoveryIntervalMs, ATOMIC_DEFAULTS.recoveryIntervalMs, {
      min: 0,
      max: MAX_DURATION_MS,
    }),
    retainDecisionsMs: expectInteger('atomic.retainDecisionsMs', atomic.retainDecisionsMs, ATOMIC_DEFAULTS.retainDecisionsMs, { min: 0, max: MAX_DURATION_MS }),
  }
}
