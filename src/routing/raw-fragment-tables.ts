import { LRUCache } from 'lru-cache'
import nodeSqlParser from 'node-sql-parser'

/** Where a raw fragment sits in a statement, which decides how it is wrapped to be parsed. */
export type RawFragmentPlace = 'expression' | 'column' | 'join' | 'from' | 'order' | 'group' | 'insert'

/** A name no application table has: the table the fragment is parsed against, dropped from the answer. */
const PROBE = '__shardtx_fragment'

const WRAPPERS: Record<RawFragmentPlace, (sql: string) => string> = {
  expression: (sql) => `SELECT 1 FROM ${PROBE} WHERE (${sql})`,
  column: (sql) => `SELECT ${sql} FROM ${PROBE}`,
  join: (sql) => `SELECT 1 FROM ${PROBE} ${sql}`,
  from: (sql) => `SELECT 1 FROM ${sql}`,
  order: (sql) => `SELECT 1 FROM ${PROBE} ORDER BY ${sql}`,
  group: (sql) => `SELECT 1 FROM ${PROBE} GROUP BY ${sql}`,
  insert: (sql) => `INSERT INTO ${PROBE} ${sql}`,
}

/**
 * Entries kept of fragments already read. A constant: statements are built from a fixed set of
 * code paths, so a small cache holds the hot fragments, and parsing a missed one again is only slower.
 */
const CACHE_ENTRIES = 256

const parser = new nodeSqlParser.Parser()
const cache = new LRUCache<string, readonly string[] | Error>({ max: CACHE_ENTRIES })

/**
 * The tables a raw SQL fragment (`whereRaw`, `joinRaw`, a raw column, ...) reads, found with
 * node-sql-parser, or an Error when the fragment cannot be parsed (shardtx then refuses the
 * statement rather than guess). `sql` has `?` placeholders; values never reach the parser.
 *
 * @example
 * ```ts
 * rawFragmentTables('balance > ?', 'expression')                                      // []
 * rawFragmentTables('EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = id)', 'expression') // ['orders']
 * ```
 */
export function rawFragmentTables(sql: string, place: RawFragmentPlace): readonly string[] | Error {
  const key = `${place}\u0000${sql}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  let found: readonly string[] | Error
  try {
    const names = parser.tableList(WRAPPERS[place](sql), { database: 'MariaDB' }).map((entry) => entry.slice(entry.lastIndexOf('::') + 2))
    found = [...new Set(names)].filter((name) => name !== PROBE)
  } catch (err) {
    // The parser's error carries hundreds of expected tokens: keep a short message only.
    const message = err instanceof Error ? err.message : String(err)
    found = new Error(message.length > 160 ? `${message.slice(0, 80)} … ${message.slice(-60)}` : message)
  }
  cache.set(key, found)
  return found
}
