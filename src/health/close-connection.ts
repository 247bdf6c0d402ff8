import type { RawConnection } from '../knex/client.js'

/**
 * Closes a mysql2 connection whose state is unknown, for good, without waiting for the server.
 *
 * mysql2's `destroy()` only half-closes the socket (`stream.end()`, a FIN) and keeps reading, so a
 * hung (SIGSTOPped) server would keep it open, and answer a query sent long ago once it resumes.
 * Destroying the stream as well releases the socket now. Either way the server sees the
 * connection end and rolls back its open transaction. `__knex__disposed` tells knex's pool to drop
 * the connection instead of handing it out again.
 *
 * @example
 * ```ts
 * closeConnection(connection, new Error('shard -80 is down'))
 * ```
 */
export function closeConnection(connection: RawConnection, reason: unknown): void {
  closed.add(connection)
  connection.__knex__disposed ??= reason instanceof Error ? reason : new Error(String(reason))
  try {
    connection.destroy()
  } finally {
    ;(connection as { stream?: { destroy?: () => void } }).stream?.destroy?.()
  }
}

/** Connections closed here; weak, so it holds nothing alive and needs no bound. */
const closed = new WeakSet<object>()

/** True once {@link closeConnection} closed `connection`: nothing sent on it can be answered. */
export function wasClosed(connection: RawConnection): boolean {
  return closed.has(connection)
}
