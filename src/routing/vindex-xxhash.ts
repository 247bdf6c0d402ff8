/**
 * Vitess's `xxhash` vindex: keyspace id = XXH64 (seed 0) of the key's bytes as they appear in
 * SQL, written little-endian. Vitess hashes the value's raw bytes, so integer 1 hashes the text
 * "1" and a VARCHAR hashes its UTF-8 bytes; the little-endian output is what Vitess's
 * `binary.LittleEndian.PutUint64` produces.
 *
 * @module
 */
import { xxh64 } from '@node-rs/xxhash'
import type { ShardKey } from '../config/options.js'
import { describeValue } from '../shared/describe-value.js'
import type { Vindex } from './vindex-interface.js'

/**
 * Creates an `xxhash` vindex. Accepts strings (hashed as UTF-8), bigints, and finite numbers
 * (hashed as their decimal text, `String(n)`). Integers beyond Number.MAX_SAFE_INTEGER are
 * refused because their text no longer matches the value the application meant.
 *
 * Note that the string '007' and the number 7 hash differently, as in Vitess: the vindex sees
 * text, not numbers. Use one form per column.
 *
 * @example
 * ```ts
 * const xx = createXxhashVindex()
 * xx.keyspaceId('test1', 'users').toString('hex') // 'd01ab7e4d6978f0b'
 * xx.keyspaceId(1, 'users').toString('hex')       // 'd46405367612b4b7'
 * ```
 */
export function createXxhashVindex(): Vindex {
  return {
    name: 'xxhash',
    keyspaceId(key: ShardKey, table: string): Buffer {
      let text: string
      if (typeof key === 'string') {
        text = key
      } else if (typeof key === 'number') {
        if (!Number.isFinite(key) || (Number.isInteger(key) && !Number.isSafeInteger(key))) throw keyError(table, key)
        text = String(key)
      } else if (typeof key === 'bigint') {
        text = key.toString()
      } else {
        throw keyError(table, key)
      }
      const id = Buffer.allocUnsafe(8)
      id.writeBigUInt64LE(xxh64(text, 0n))
      return id
    },
  }
}

function keyError(table: string, key: unknown): TypeError {
  const hint =
    typeof key === 'number' && Number.isFinite(key)
      ? ' (beyond Number.MAX_SAFE_INTEGER the number may already have lost digits; pass a bigint or a string)'
      : ''
  return new TypeError(
    `Expected the shard key of table \`${table}\` to be a string, a bigint, or a finite number (safe integer or decimal) ` +
      `for router 'xxhash', got ${describeValue(key)}${hint}`,
  )
}
