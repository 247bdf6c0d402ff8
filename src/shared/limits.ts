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
