/**
 * The one thing the deadlock building blocks need from a database client: run a statement with
 * `?` placeholders and get the rows back. A structural type, so shardtx does not import mysql2 or
 * knex types; statements that return no rows (REPLACE, DELETE, KILL) resolve to `[]`.
 *
 * @example
 * ```ts
 * const run: QueryRunner = mysql2QueryRunner(await mysql.createConnection(url))
 * const run2: QueryRunner = knexQueryRunner(knex)
 * ```
 */
export type QueryRunner = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>

/** What `mysql2/promise` connections and pools offer: `query` resolving to `[rows, fields]`. */
export interface Mysql2Queryable {
  query(sql: string, values?: unknown): Promise<readonly [unknown, unknown?]>
}

/** What a knex instance offers: `raw`, which with the mysql2 client resolves to `[rows, fields]`. */
export interface KnexRawable {
  raw(sql: string, bindings?: readonly unknown[]): PromiseLike<unknown>
}

const rowsOf = (result: unknown): Record<string, unknown>[] => (Array.isArray(result) ? (result as Record<string, unknown>[]) : [])

/**
 * Adapts a mysql2/promise connection or pool. With a pool every call may use a different
 * connection, which is what the readers and the ownership registry want (they must never run on
 * a transaction's own connection).
 *
 * @example
 * ```ts
 * const reader = createMariaDbLockWaitReader('-80', mysql2QueryRunner(adminPool))
 * ```
 */
export function mysql2QueryRunner(queryable: Mysql2Queryable): QueryRunner {
  return async (sql, params) => rowsOf((await queryable.query(sql, params ?? []))[0])
}

/**
 * Adapts a knex instance using the mysql2 (or mysql) client.
 *
 * @example
 * ```ts
 * const flavor = await detectServerFlavor(knexQueryRunner(knex))
 * ```
 */
export function knexQueryRunner(knex: KnexRawable): QueryRunner {
  return async (sql, params) => {
    const result = await knex.raw(sql, params ?? [])
    return rowsOf(Array.isArray(result) ? result[0] : result)
  }
}
