import { createMariaDbLockWaitReader } from './lock-wait-reader-mariadb.js'
import { createMysql8LockWaitReader } from './lock-wait-reader-mysql8.js'
import type { QueryRunner } from './query-runner.js'
import type { LockWaitEdge, ServerFlavor } from './types.js'

/**
 * Reads the connection-level lock waits of one shard's server. One `read()` is one statement;
 * the caller decides when to read (only while a shardtx statement has waited past the
 * threshold: nothing is read while nothing waits).
 *
 * Every reader of a server shares InnoDB's lock-view cache, which refreshes only when it was last
 * read at least 100 ms earlier (REFERENCE.md, measured on MariaDB 10.11: polling every 50 ms saw
 * an empty table for a whole 5 s deadlock). Read each server at most every ~250 ms, from all
 * detectors of a process together (see `throttleLockWaitReader`).
 */
export interface LockWaitReader {
  readonly flavor: ServerFlavor
  readonly shard: string
  read(): Promise<LockWaitEdge[]>
}

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
    case 'mariadb': return createMariaDbLockWaitReader(shard, query)
    case 'mysql8': return createMysql8LockWaitReader(shard, query)
    default: throw new TypeError(`Expected \`flavor\` to be 'mariadb' or 'mysql8', got ${JSON.stringify(flavor)}`)
  }
}
