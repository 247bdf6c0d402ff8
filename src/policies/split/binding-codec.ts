/**
 * Bindings of planned statements, stored as JSON in the intent log and replayed by another
 * process, possibly in another time zone. The replay must send the server exactly what knex
 * would have sent, so every value is turned into something JSON keeps exactly:
 *
 * - strings, booleans, null and finite numbers stay as they are;
 * - bigint -> `{ "$bigint": "123" }`, Buffer/Uint8Array -> `{ "$base64": "..." }`;
 * - Date -> the text mysql2 would have put in the SQL (`YYYY-MM-DD HH:MM:SS.mmm` in this
 *   process's local time, mysql2's default `timezone: 'local'`). The server receives the same
 *   literal either way, and the replay no longer depends on the recovering process's zone.
 * - arrays (mysql2 renders them as a list) are encoded element by element.
 *
 * Anything else (plain objects, undefined, NaN) is refused when the statement is recorded, so a
 * plan that cannot be replayed is never accepted. Tags are objects and user values are never
 * objects, so a tag cannot be confused with a value.
 */
import { SplitUnsupportedError } from './errors.js'

export type EncodedBinding = string | number | boolean | null | { $bigint: string } | { $base64: string } | EncodedBinding[]

/** Encodes one statement's bindings; `where` names the statement in the error. */
export function encodeBindings(bindings: readonly unknown[], where: string): EncodedBinding[] {
  return bindings.map((value, i) => encodeValue(value, () => `binding ${i + 1} of ${where}`))
}

function encodeValue(value: unknown, where: () => string): EncodedBinding {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value
    throw unsupported(where(), `the number ${value}`)
  }
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (value instanceof Date) return mysqlDateText(value)
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (Array.isArray(value)) return value.map((v) => encodeValue(v, where))
  throw unsupported(where(), value === undefined ? 'undefined' : `a value of type ${typeof value === 'object' ? 'object' : typeof value}`)
}

/** Decodes bindings read back from the intent log into values for mysql2. */
export function decodeBindings(encoded: readonly EncodedBinding[]): unknown[] {
  return encoded.map(decodeValue)
}

function decodeValue(value: EncodedBinding): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(decodeValue)
  if ('$bigint' in value) return BigInt(value.$bigint)
  if ('$base64' in value) return Buffer.from(value.$base64, 'base64')
  throw new Error(`shardtx: unknown binding tag in the intent log: ${JSON.stringify(Object.keys(value))}`)
}

/**
 * A Date as mysql2 renders it with its default `timezone: 'local'` (sqlstring's dateToString):
 * local time, milliseconds always present. An invalid Date renders as NULL, as in mysql2.
 */
export function mysqlDateText(date: Date): string | null {
  if (Number.isNaN(date.getTime())) return null
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
  )
}

function unsupported(where: string, what: string): SplitUnsupportedError {
  return new SplitUnsupportedError(
    `Under { crossShard: 'split' } every value of a write is stored in the intent log to be replayed later, but ${where} is ${what}, ` +
      `which cannot be stored exactly. Pass strings, numbers, bigints, booleans, null, Dates or Buffers ` +
      `(JSON columns: JSON.stringify the value first).`,
  )
}
