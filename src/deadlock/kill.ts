/**
 * The statement that rolls a victim's connection back: `KILL CONNECTION <id>`. Never `KILL
 * QUERY`: that ends only the statement (1317 `ER_QUERY_INTERRUPTED`) and the transaction stays
 * open holding its locks, so the cycle would remain (measured on MariaDB 10.11). Killing
 * another user's connection needs CONNECTION ADMIN (MariaDB 10.5.2+, MySQL 8) or SUPER.
 *
 * The id is validated and written as a literal: KILL takes no placeholder in prepared statements.
 *
 * @throws {TypeError} unless `connectionId` is a positive safe integer.
 * @example
 * ```ts
 * await run(killConnectionSql(42)) // 'KILL CONNECTION 42'
 * ```
 */
export function killConnectionSql(connectionId: number): string {
  if (!Number.isSafeInteger(connectionId) || connectionId <= 0) {
    throw new TypeError(`Expected \`connectionId\` to be a positive integer, got ${String(connectionId)}`)
  }
  return `KILL CONNECTION ${connectionId}`
}
