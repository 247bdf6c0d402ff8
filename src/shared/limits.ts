/**
 * Upper bound of every duration option: about 24 days, the largest delay `setTimeout` honours
 * (a larger one fires at once, which would turn a long interval into a busy loop).
 *
 * @example
 * ```ts
 * expectInteger('split.recoveryIntervalMs', value, 60_000, { min: 0, max: MAX_DURATION_MS })
 * ```
 */
export const MAX_DURATION_MS = 2 ** 31 - 1

/**
 * Largest `sequence.blockSize`: ids reserved per round trip to a sequence table. The block in
 * memory is two numbers whatever its size; the bound limits how many ids a restart can skip.
 */
export const MAX_SEQUENCE_BLOCK = 1000

/** `sequence.blockSize` when none is given (Vitess's usual `cache` value). */
export const DEFAULT_SEQUENCE_BLOCK = 100
