/**
 * Validation of the `deadlock` option group of `createShardedDb` (the distributed deadlock
 * detector, docs/deadlock.md). Every mistake is a TypeError naming the option, thrown before any
 * connection is made.
 */
import { MAX_DURATION_MS } from '../shared/limits.js'
import { expectBoolean, expectInteger, expectKnownKeys, expectPlainObject } from '../shared/validators.js'

export interface ResolvedDeadlockOptions {
  enabled: boolean
  waitThresholdMs: number
  pollIntervalMs: number
  killOtherProcessVictimsAfterMs: number
}

/**
 * Never read a server's lock views faster than this. InnoDB refreshes the cache behind them only
 * when it was last read 100 ms or more earlier (measured on MariaDB 10.11, docs/deadlock.md: polling
 * every 50 ms saw an empty table for a whole 5 s deadlock); 250 ms leaves room for the read itself
 * and for other readers of the same server.
 */
export const MIN_POLL_INTERVAL_MS = 250

export const DEADLOCK_DEFAULTS: Readonly<ResolvedDeadlockOptions> = Object.freeze({
  enabled: true,
  waitThresholdMs: 200,
  pollIntervalMs: MIN_POLL_INTERVAL_MS,
  killOtherProcessVictimsAfterMs: 2_000,
})

/**
 * `deadlock` of `createShardedDb` options, with defaults filled in.
 *
 * @example
 * ```ts
 * resolveDeadlockOptions({ waitThresholdMs: 100 })
 * // { enabled: true, waitThresholdMs: 100, pollIntervalMs: 250, killOtherProcessVictimsAfterMs: 2000 }
 * resolveDeadlockOptions({ pollIntervalMs: 50 }) // TypeError: Expected `deadlock.pollIntervalMs` to be an integer from 250 to ...
 * ```
 */
export function resolveDeadlockOptions(value: unknown): ResolvedDeadlockOptions {
  const options = expectPlainObject('deadlock', value === undefined ? {} : value)
  expectKnownKeys('deadlock', options, ['enabled', 'waitThresholdMs', 'pollIntervalMs', 'killOtherProcessVictimsAfterMs'])
  return {
    enabled: expectBoolean('deadlock.enabled', options.enabled, DEADLOCK_DEFAULTS.enabled),
    waitThresholdMs: expectInteger('deadlock.waitThresholdMs', options.waitThresholdMs, DEADLOCK_DEFAULTS.waitThresholdMs, { min: 1, max: MAX_DURATION_MS }),
    pollIntervalMs: expectInteger('deadlock.pollIntervalMs', options.pollIntervalMs, DEADLOCK_DEFAULTS.pollIntervalMs, {
      min: MIN_POLL_INTERVAL_MS,
      max: MAX_DURATION_MS,
    }),
    killOtherProcessVictimsAfterMs: expectInteger(
      'deadlock.killOtherProcessVictimsAfterMs',
      options.killOtherProcessVictimsAfterMs,
      DEADLOCK_DEFAULTS.killOtherProcessVictimsAfterMs,
      { min: 0, max: MAX_DURATION_MS },
    ),
  }
}
