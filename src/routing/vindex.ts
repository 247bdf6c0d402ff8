/**
 * Vindexes turn a shard key into a keyspace id, the 8-byte value that keyranges partition. The
 * names and the bytes match Vitess's vindexes of the same name, so a shard map built for
 * shardtx places every row where Vitess would, and data can move between the two unchanged.
 *
 * @module
 */
import { describeValue } from '../shared/describe-value.js'
import { createHashVindex } from './vindex-hash.js'
import { createXxhashVindex } from './vindex-xxhash.js'
import type { Vindex } from './vindex-interface.js'

export type { Vindex } from './vindex-interface.js'

/**
 * Creates the vindex for a built-in router. Each call returns a new instance; reuse it, since
 * the `hash` vindex holds a cipher object that is costly to create.
 *
 * @throws TypeError naming `router` when `name` is neither 'hash' nor 'xxhash'.
 * @example
 * ```ts
 * const vindex = createVindex('hash')
 * vindex.keyspaceId(1, 'accounts').toString('hex') // '166b40b44aba4bd6'
 * ```
 */
export function createVindex(name: 'hash' | 'xxhash'): Vindex {
  if (name === 'hash') return createHashVindex()
  if (name === 'xxhash') return createXxhashVindex()
  throw new TypeError(`Expected \`router\` to be 'hash' or 'xxhash' for a built-in vindex, got ${describeValue(name)}`)
}
