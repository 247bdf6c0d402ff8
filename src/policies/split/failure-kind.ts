/**
 * Whether a part that failed may succeed if run again.
 *
 * A part is a fixed list of statements, so an error the server reports about the statements
 * themselves (duplicate key, foreign key, NOT NULL, out of range, unknown column, a trigger's
 * SIGNAL) will recur on every run: the plan is marked failed. Errors about the moment (lock
 * waits, deadlocks, a killed or lost connection, a server shutting down or read-only during a
 * failover) and errors without a server error number (the shard could not be reached at all)
 * leave the plan pending for another try.
 */
const TRANSIENT_ERRNOS: ReadonlySet<number> = new Set([
  1040, // ER_CON_COUNT_ERROR: too many connections
  1053, // ER_SERVER_SHUTDOWN
  1152, // ER_ABORTING_CONNECTION
  1158,
  1159,
  1160,
  1161, // ER_NET_READ_ERROR, _READ_INTERRUPTED, _ERROR_ON_WRITE, _WRITE_INTERRUPTED
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
  1290, // ER_OPTION_PREVENTS_STATEMENT (--read-only during a failover)
  1317, // ER_QUERY_INTERRUPTED (KILL QUERY, e.g. by a deadlock detector)
  1836, // ER_READ_ONLY_MODE
  1927, // ER_CONNECTION_KILLED (MariaDB)
  1969, // ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
  2002,
  2003,
  2006,
  2013, // client: cannot connect, server gone away, lost connection
  3024, // ER_QUERY_TIMEOUT (MySQL max_execution_time)
])

export type FailureKind = 'transient' | 'permanent'

export function failureKind(err: unknown): FailureKind {
  const errno = (err as { errno?: unknown } | null)?.errno
  if (typeof errno !== 'number') return 'transient'
  return TRANSIENT_ERRNOS.has(errno) ? 'transient' : 'permanent'
}

export { ER_DUP_ENTRY, ER_NO_SUCH_TABLE, errnoOf, errorCodes } from '../../shared/driver-errors.js'
