/**
 * The per-transaction options only `split` reads: `idempotencyKey`, `compensate`, `parallelParts`.
 * Validated once per `db.transaction()` call (the policy's `resolveOptions`), before anything
 * touches a shard. Under any other policy they are refused by the core (transaction/transaction-options.ts):
 * an `idempotencyKey` that silently did nothing would let a resubmission apply twice.
 */
import type { CompensationHook } from '../../config/split-failure.js'
import { expectHook } from '../../config/split-options.js'
import { fail } from '../../shared/validators.js'

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
export function validateSplitTransactionOptions(options: Readonly<Record<string, unknown>>): SplitTransactionOptions {
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
