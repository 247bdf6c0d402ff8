/**
 * Validation of the `split` options: the database-wide `split: { ... }` block of
 * `createShardedDb`, and the per-transaction `idempotencyKey`, `compensate` and `parallelParts`.
 * Every mistake is a TypeError naming the option, thrown before anything touches a shard.
 */
import { MAX_DURATION_MS } from '../shared/limits.js'
import { describeValue, expectBoolean, expectInteger, expectKnownKeys, expectPlainObject } from '../shared/validators.js'
import type { CompensationHook } from './split-failure.js'

export interface ResolvedSplitOptions {
  recoverOnStart: boolean
  recoveryIntervalMs: number
  retainFinishedMs: number
  partAttempts: number
  maxPlanBytes: number
  parallelParts: boolean
  compensate: CompensationHook | undefined
}

export const SPLIT_DEFAULTS = {
  recoverOnStart: true,
  recoveryIntervalMs: 60_000,
  retainFinishedMs: 3_600_000,
  partAttempts: 3,
  maxPlanBytes: 4 * 1024 * 1024,
  parallelParts: false,
} as const

/** `split` of `createShardedDb` options, with defaults filled in. */
export function resolveSplitOptions(value: unknown): ResolvedSplitOptions {
  const split = expectPlainObject('split', value ?? {})
  expectKnownKeys('split', split, ['recoverOnStart', 'recoveryIntervalMs', 'retainFinishedMs', 'partAttempts', 'maxPlanBytes', 'parallelParts', 'compensate'])
  return {
    recoverOnStart: expectBoolean('split.recoverOnStart', split.recoverOnStart, SPLIT_DEFAULTS.recoverOnStart),
    recoveryIntervalMs: expectInteger('split.recoveryIntervalMs', split.recoveryIntervalMs, SPLIT_DEFAULTS.recoveryIntervalMs, {
      min: 0,
      max: MAX_DURATION_MS,
    }),
    retainFinishedMs: expectInteger('split.retainFinishedMs', split.retainFinishedMs, SPLIT_DEFAULTS.retainFinishedMs, { min: 0, max: MAX_DURATION_MS }),
    partAttempts: expectInteger('split.partAttempts', split.partAttempts, SPLIT_DEFAULTS.partAttempts, { min: 1 }),
    // The plan row must fit in one packet: MySQL/MariaDB's max_allowed_packet is 16-64 MiB by default.
    maxPlanBytes: expectInteger('split.maxPlanBytes', split.maxPlanBytes, SPLIT_DEFAULTS.maxPlanBytes, { min: 1024, max: 1024 * 1024 * 1024 }),
    parallelParts: expectBoolean('split.parallelParts', split.parallelParts, SPLIT_DEFAULTS.parallelParts),
    compensate: expectHook('split.compensate', split.compensate),
  }
}

/** A hook option: undefined or a function; anything else is a TypeError naming the option. */
export function expectHook(option: string, value: unknown): CompensationHook | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw new TypeError(`Expected \`${option}\` to be a function (failure) => void | Promise<void>, got ${describeValue(value)}`)
  return value as CompensationHook
}
