import { normalizeTableName } from './table-name.js'
import type { LockWaitEdge } from './types.js'

/** Rows a single read returns at most; a server with more waits than this is truncated, never a false cycle. */
export const MAX_LOCK_WAIT_ROWS = 10_000

const toConnectionId = (v: unknown): number | undefined => {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v !== '' ? Number(v) : v
  return Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : undefined
}

/**
 * Maps the rows of both readers' statements (same column aliases) to edges. Rows without a
 * usable connection id on both sides (a transaction that ended between the views) are skipped.
 */
export function rowsToLockWaitEdges(shard: string, rows: readonly Record<string, unknown>[]): LockWaitEdge[] {
  const edges: LockWaitEdge[] = []
  for (const row of rows) {
    const waitingConnectionId = toConnectionId(row.waiting_connection_id)
    const blockingConnectionId = toConnectionId(row.blocking_connection_id)
    if (waitingConnectionId === undefined || blockingConnectionId === undefined) continue
    const edge: LockWaitEdge = { shard, waitingConnectionId, blockingConnectionId }
    if (row.waiting_trx_id != null) edge.waitingTrxId = String(row.waiting_trx_id)
    if (row.blocking_trx_id != null) edge.blockingTrxId = String(row.blocking_trx_id)
    if (typeof row.lock_table === 'string' && row.lock_table !== '') edge.table = normalizeTableName(row.lock_table)
    const wait = Number(row.wait_seconds)
    if (row.wait_seconds != null && Number.isFinite(wait)) edge.waitSeconds = wait
    edges.push(edge)
  }
  return edges
}
