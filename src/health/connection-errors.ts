/** Socket-level error codes (Node and mysql2) that mean "the connection is gone", not "the server said no". */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
])

interface DriverErrorShape {
  code?: unknown
  fatal?: unknown
  sqlState?: unknown
}

/**
 * True when `err` says the connection to the server is broken or could not be made: a socket error,
 * a fatal mysql2 error without a server reply, or a server reply of SQLSTATE class 08 (connection
 * exception, e.g. 1053 server shutdown). Any other server reply (lock wait timeout, duplicate key,
 * too many connections, access denied) proves the server is alive and returns false.
 *
 * @example
 * ```ts
 * isConnectionError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) // true
 * isConnectionError(Object.assign(new Error('Deadlock found'), { errno: 1213, sqlState: '40001' })) // false
 * ```
 */
export function isConnectionError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false
  const e = err as DriverErrorShape
  if (typeof e.sqlState === 'string') return e.sqlState.startsWith('08')
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true
  return e.fatal === true
}

/** A short, secret-free description of a driver error for log events: its code and message. */
export function describeDriverError(err: unknown): { code?: string; message: string } {
  if (err === null || typeof err !== 'object') return { message: String(err) }
  const e = err as { code?: unknown; message?: unknown }
  // Node's AggregateError (IPv4 and IPv6 both refused) has an empty message; its code says it all.
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : typeof e.code === 'string' ? e.code : String(err)
  return typeof e.code === 'string' ? { code: e.code, message } : { message }
}
