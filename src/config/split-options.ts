/**
 * Validation of the `split` options: the database-wide `split: { ... }` block of
 * `createShardedDb`, and the per-transaction `idempotencyKey`, `compensate` and `parallelParts`.
 * Every mistake is a TypeError naming the option, thrown before anything touches a shard.
 */
import type { CrossShardPolicyName } from './options.js'
import { describeValue, expectBoolean, expectInteger, expectKnownKeys, expectPlainObject, fail } from '../shared/validators.js'
import type { CompensationHook } from '../policies/split/plan-runner.js'

export interface ResolvedSplitOptions {
  recoverOnStart: boolean
  recoveryIntervalMs: number
  retainFinishedMs: number
  partAttempts: number
  maxPlanBytes: number
  parallelParts: boolean
  compensate: CompensationHook | undefined
}

/** Largest delay `setTimeout` honours (about 24 days). */
const MAX_DURATION_MS = 2 ** 31 - 1

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
    recoveryIntervalMs: expectInteger('split.recoveryIntervalMs', split.recoveryIntervalMs, SPLIT_DEFAULTS.recoveryIntervalMs, { min: 0, max: MAX_DURATION_MS }),
    retainFinishedMs: expectInteger('split.retainFinishedMs', split.retainFinishedMs, SPLIT_DEFAULTS.retainFinishedMs, { min: 0, max: MAX_DURATION_MS }),
    partAttempts: expectInteger('split.partAttempts', split.partAttempts, SPLIT_DEFAULTS.partAttempts, { min: 1 }),
    // The plan row must fit in one packet: MySQL/MariaDB's max_allowed_packet is 16-64 MiB by default.
    maxPlanBytes: expectInteger('split.maxPlanBytes', split.maxPlanBytes, SPLIT_DEFAULTS.maxPlanBytes, { min: 1024, max: 1024 * 1024 * 1024 }),
    parallelParts: expectBoolean('split.parallelParts', split.parallelParts, SPLIT_DEFAULTS.parallelParts),
    compensate: expectHook('split.compensate', split.compensate),
  }
}

/** Per-transaction keys only `split` reads. */
export const SPLIT_TRANSACTION_OPTION_KEYS = ['idempotencyKey', 'compensate', 'parallelParts'] as const

export interface SplitTransactionOptions {
  idempotencyKey: string | undefined
  compensate: CompensationHook | undefined
  parallelParts: boolean | undefined
}

/** Longest idempotency key accepted; only its SHA-256 is stored, so this bounds memory, not the table. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 1024

/**
 * Checks the split-only transaction options. They are refused under any other policy: an
 * `idempotencyKey` that silently did nothing would let a resubmission apply twice.
 */
export function validateSplitTransactionOptions(options: Readonly<Record<string, unknown>>, policy: CrossShardPolicyName): SplitTransactionOptions {
  if (policy !== 'split') {
    const given = SPLIT_TRANSACTION_OPTION_KEYS.find((key) => options[key] !== undefined)
    if (given !== undefined) {
      throw new TypeError(
        `\`${given}\` applies only to { crossShard: 'split' } transactions, but this transaction's policy is '${policy}'. ` +
          `Pass crossShard: 'split' with it, or remove it.`,
      )
    }
  }
  const key = options.idempotencyKey
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
    // The value itself is not echoed: idempotency keys often embed customer identifiers.
    throw new TypeError(
      `Expected \`idempotencyKey\` to be a non-empty string of at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${typeof key === 'string' ? `a string of length ${key.length}` : typeof key}`,
    )
  }
  const parallel = options.parallelParts
  if (parallel !== undefined && typeof parallel !== 'boolean') fail('parallelParts', 'a boolean', parallel)
  return { idempotencyKey: key as string | undefined, compensate: expectHook('compensate', options.compensate), parallelParts: parallel as boolean | undefined }
}

function expectHook(option: string, value: unknown): CompensationHook | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw new TypeError(`Expected \`${option}\` to be a function (failure) => void | Promise<void>, got ${describeValue(value)}`)
  return value as CompensationHook
}
