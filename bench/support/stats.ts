/**
 * The median of `xs` (the lower middle for an even count, as bench/contention's median round).
 *
 * @example
 * ```ts
 * median([3, 1, 2]) // 2
 * ```
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values')
  return [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!
}
