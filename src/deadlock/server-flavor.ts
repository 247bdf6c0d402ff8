import type { QueryRunner } from './query-runner.js'
import type { ServerFlavor } from './types.js'

/**
 * True for a MariaDB `VERSION()` or handshake string (`10.11.19-MariaDB-0+deb12u1`, or
 * `5.5.5-10.6.12-MariaDB` as MariaDB announces itself to MySQL clients).
 *
 * @example
 * ```ts
 * isMariaDbVersion('5.5.5-10.11.19-MariaDB-0+deb12u1') // true
 * isMariaDbVersion('8.0.36')                           // false
 * ```
 */
export function isMariaDbVersion(version: string): boolean {
  return /mariadb/i.test(version)
}

/**
 * Which lock-wait views a server has, from its `VERSION()` string: anything containing `MariaDB`
 * (`10.11.19-MariaDB-0+deb12u1`, or `5.5.5-10.6.12-MariaDB` behind some proxies) is `mariadb`;
 * MySQL 8.0 or later (including Percona Server and Aurora MySQL 3) is `mysql8`.
 *
 * @throws {Error} for MySQL before 8.0 and for servers that only speak the protocol (TiDB), whose
 *   lock views differ; the message names the version.
 * @example
 * ```ts
 * parseServerFlavor('10.11.19-MariaDB-0+deb12u1') // 'mariadb'
 * parseServerFlavor('8.0.36')                     // 'mysql8'
 * ```
 */
export function parseServerFlavor(version: string): ServerFlavor {
  if (isMariaDbVersion(version)) return 'mariadb'
  const match = /^(\d+)\.(\d+)/.exec(version)
  if (match && Number(match[1]) >= 8 && !/tidb/i.test(version)) return 'mysql8'
  throw new Error(
    `The distributed deadlock detector supports MariaDB and MySQL 8.0+, but this shard reports VERSION() = ${JSON.stringify(version)}. ` +
      `It needs INFORMATION_SCHEMA.INNODB_LOCK_WAITS (MariaDB) or performance_schema.data_lock_waits (MySQL 8).`,
  )
}

/**
 * Asks a shard for `SELECT VERSION()` and returns its flavour (see {@link parseServerFlavor}).
 *
 * @example
 * ```ts
 * const flavor = await detectServerFlavor(mysql2QueryRunner(pool)) // 'mariadb'
 * ```
 */
export async function detectServerFlavor(query: QueryRunner): Promise<ServerFlavor> {
  const rows = await query('SELECT VERSION() AS version')
  const version = rows[0]?.version
  if (typeof version !== 'string') {
    throw new Error(`SELECT VERSION() returned no version string (got ${JSON.stringify(rows[0] ?? null)})`)
  }
  return parseServerFlavor(version)
}
