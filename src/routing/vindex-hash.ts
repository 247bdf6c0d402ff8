/**
 * Vitess's `hash` vindex: keyspace id = DES-encrypt(key as 8-byte big-endian uint64) with an
 * all-zero key. Vitess uses DES only as a cheap 64-bit bijection (not for secrecy), so keys
 * spread evenly and every keyspace id maps back to exactly one integer.
 *
 * @module
 */
import { createCipheriv, type Cipher } from 'node:crypto'
import type { ShardKey } from '../config/options.js'
import { describeValue } from '../shared/describe-value.js'
import type { Vindex } from './vindex-interface.js'

const TWO_32 = 4294967296
const MIN_INT64 = -(1n << 63n)
const MAX_UINT64 = (1n << 64n) - 1n
// Up to 15 digits (plus sign) always fits in a safe integer, so Number() parses it exactly and
// we skip BigInt on the common path.
const MAX_FAST_DIGITS = 15
const DECIMAL = /^-?[0-9]+$/

/**
 * Creates a `hash` vindex. Accepts safe-integer numbers, bigints in [-2^63, 2^64-1], and
 * decimal strings in that range; negative values are taken as two's complement, as Vitess does
 * for signed columns (so -1 and 2^64-1 share a keyspace id).
 *
 * @example
 * ```ts
 * const hash = createHashVindex()
 * hash.keyspaceId(1, 'accounts').toString('hex')    // '166b40b44aba4bd6'
 * hash.keyspaceId('-1', 'accounts').equals(hash.keyspaceId(2n ** 64n - 1n, 'accounts')) // true
 * ```
 */
export function createHashVindex(): Vindex {
  // OpenSSL 3 moved single DES to the legacy provider, so Node refuses 'des-ecb'. Triple DES
  // with K1 = K2 = K3 is single DES (encrypt, decrypt, encrypt with the same key cancel out
  // to one encryption), which yields Vitess's bytes exactly.
  const cipher: Cipher = createCipheriv('des-ede3-ecb', Buffer.alloc(24), null)
  cipher.setAutoPadding(false)
  // ECB has no chaining and no padding here, so each update() of one 8-byte block returns that
  // block's ciphertext and leaves no state behind: one long-lived cipher serves every call.
  // We never call final(), which would end the cipher.
  const block = Buffer.alloc(8)

  return {
    name: 'hash',
    keyspaceId(key: ShardKey, table: string): Buffer {
      if (typeof key === 'number') {
        if (!Number.isSafeInteger(key)) throw keyError(table, key)
        writeSafeInteger(block, key)
      } else if (typeof key === 'bigint') {
        if (key < MIN_INT64 || key > MAX_UINT64) throw keyError(table, key)
        block.writeBigUInt64BE(BigInt.asUintN(64, key))
      } else if (typeof key === 'string' && DECIMAL.test(key)) {
        const digits = key.charCodeAt(0) === 45 /* - */ ? key.length - 1 : key.length
        if (digits <= MAX_FAST_DIGITS) {
          writeSafeInteger(block, Number(key))
        } else {
          const value = BigInt(key)
          if (value < MIN_INT64 || value > MAX_UINT64) throw keyError(table, key)
          block.writeBigUInt64BE(BigInt.asUintN(64, value))
        }
      } else {
        throw keyError(table, key)
      }
      return cipher.update(block)
    },
  }
}

/**
 * Writes a safe integer as a 64-bit big-endian two's-complement value without going through
 * BigInt: the high word is floor(n / 2^32), which fits an int32 for |n| < 2^53, and the low
 * word is the non-negative remainder.
 */
function writeSafeInteger(block: Buffer, n: number): void {
  const high = Math.floor(n / TWO_32)
  block.writeInt32BE(high, 0)
  block.writeUInt32BE(n - high * TWO_32, 4)
}

function keyError(table: string, key: unknown): TypeError {
  let hint = ''
  if (typeof key === 'number' && Number.isInteger(key)) {
    hint = ' (beyond Number.MAX_SAFE_INTEGER the number may already have lost digits; pass a bigint or a decimal string)'
  } else if (typeof key === 'bigint' || (typeof key === 'string' && DECIMAL.test(key))) {
    hint = ' (outside the 64-bit range -2^63 to 2^64-1)'
  }
  return new TypeError(
    `Expected the shard key of table \`${table}\` to be an integer (safe-integer number, bigint, or decimal string) ` +
      `for router 'hash', got ${describeValue(key)}${hint}`,
  )
}
