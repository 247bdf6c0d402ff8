import { createMariaDbLockWaitReader } from './lock-wait-reader-mariadb.js'
import { createMysql8LockWaitReader } from './lock-wait-reader-mysql8.js'
import type { QueryRunner } from './query-runner.js'
import type { LockWaitReader, ServerFlavor } from './types.js'

export type { LockWaitReader } from './types.js'

/**
 * The reader for a server flavour (see `detectServerFlavor`).
 *
 * @example
 * ```ts
 * const run = mysql2QueryRunner(adminPool)
 * const reader = createLockWaitReader(await detectServerFlavor(run), '-80', run)
 * const edges = await reader.read()
 * ```
 */
export function createLockWaitReader(flavor: ServerFlavor, shard: string, query: QueryRunner): LockWaitReader {
  switch (flavor) {
    case 'mariadb':
      return createMariaDbLockWaitReader(shard, query)
    case 'mysql8':
      return createMysql8LockWaitReader(shard, query)
    default:
      throw new TypeError(`Expected \`flavor\` to be 'mariadb' or 'mysql8', got ${JSON.stringify(flavor)}`)
  }
}
