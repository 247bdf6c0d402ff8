import type { QueryHook, RawConnection } from './client.js'

/** The query object knex hands its dialect's `_query` (after `client.query` positioned the bindings). */
interface QueryObject {
  sql: string
  bindings?: unknown
  options?: object
  response?: unknown
}

type DriverConnection = RawConnection & {
  query(sql: string, values: unknown, callback: (err: Error | null, rows?: unknown, fields?: unknown) => void): void
}

/** knex's compiler gives every query object `options`, empty unless the builder called `.options()`. */
function hasOptions(options: object | undefined): boolean {
  if (options === undefined || options === null) return false
  for (const key in options) if (Object.hasOwn(options, key)) return true
  return false
}

/**
 * knex's MySQL `_query` (knex 3, lib/dialects/mysql/index.js), sending with the driver's
 * `query(sql, values, callback)` form instead of `query({ sql, ...options }, values, callback)`.
 * The two send the same bytes and give the same rows and fields; the object form costs mysql2 3.x
 * an object spread per statement whose shape varies, which left its Query constructor and start
 * on slow paths: 4-5 us of Node CPU per statement in bench/profile (bench/RESULTS.md), more than
 * routing a statement costs. A statement with per-query driver options (knex's `.options({...})`;
 * knex's compiler gives every query an `options` object, empty otherwise) keeps knex's own form,
 * which is the only one that carries them.
 *
 * The result is what knex's `_query` gives: the query object with `response = [rows, fields]`,
 * which knex's `processResponse` turns into the builder's result.
 *
 * @example
 * ```ts
 * const send = sendingWithValues(queryHookOf(client)) // knex/derived-clients.ts
 * const obj = await send(connection, { sql: 'select 1 where ? = ?', bindings: [1, 1] })
 * obj.response // [rows, fields]
 * ```
 */
export function sendingWithValues(knexQuery: QueryHook): QueryHook {
  return function sendQuery(this: unknown, connection, obj) {
    // knex's own form for what only it handles: a bare string, an empty query (knex throws), driver options.
    if (typeof obj !== 'object' || obj === null || !obj.sql || hasOptions((obj as QueryObject).options)) return knexQuery.call(this, connection, obj)
    const query = obj as QueryObject
    return new Promise((resolve, reject) => {
      ;(connection as DriverConnection).query(query.sql, query.bindings, (err, rows, fields) => {
        if (err) return reject(err)
        query.response = [rows, fields]
        resolve(query)
      })
    })
  }
}
