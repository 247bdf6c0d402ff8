import type { ShardKey } from '../config/options.js'

/** Maps shard keys to keyspace ids. */
export interface Vindex {
  /** The router name this vindex implements. */
  readonly name: 'hash' | 'xxhash'
  /**
   * The 8-byte keyspace id of `key`. `table` is used only in error messages.
   * @throws TypeError when the key's type or value cannot be hashed by this vindex.
   */
  keyspaceId(key: ShardKey, table: string): Buffer
}
