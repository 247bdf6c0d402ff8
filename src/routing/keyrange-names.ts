/**
 * Names for evenly split keyspaces, the way Vitess's resharding tools name them.
 *
 * @module
 */
import { describeValue } from '../shared/describe-value.js'

/**
 * Evenly split keyrange names for n shards, n a power of two from 1 to 256: 1 -> ['0'],
 * 2 -> ['-80','80-'], 4 -> ['-40','40-80','80-c0','c0-']. Bounds use one byte (two hex digits),
 * which is why 256 is the limit; one shard is named '0', Vitess's name for an unsharded keyspace.
 *
 * @throws TypeError when `n` is not a power of two from 1 to 256.
 * @example
 * ```ts
 * keyrangeNames(4) // ['-40', '40-80', '80-c0', 'c0-']
 * const shards = Object.fromEntries(keyrangeNames(2).map((name, i) => [name, `mysql://app@db${i}/app`]))
 * ```
 */
export function keyrangeNames(n: number): string[] {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 256 || (n & (n - 1)) !== 0) {
    throw new TypeError(`Expected the shard count to be a power of two from 1 to 256, got ${describeValue(n)}`)
  }
  if (n === 1) return ['0']
  const step = 256 / n
  const bound = (i: number): string => (i === 0 || i === n ? '' : (i * step).toString(16).padStart(2, '0'))
  return Array.from({ length: n }, (_, i) => `${bound(i)}-${bound(i + 1)}`)
}
