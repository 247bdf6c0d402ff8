import { formatLocation } from '../shared/errors.js'
import type { DeadlockCycle } from './cycle-search.js'
import type { DeadlockMember, DeadlockWait, DistributedDeadlockEvent } from './detector-events.js'
import type { TransactionRegistry } from './transaction-registry.js'
import type { LockWaitEdge, TransactionOwnership } from './types.js'

/**
 * The structured event for a deadlock this process breaks. Members of this process contribute
 * their tables, origin and the start of their wait; members of other processes only what they
 * published (shards, start) and the server's whole-second wait time.
 *
 * @example
 * ```ts
 * logger.warn(describeDeadlock(cycle, registry, serverOf, 'rolled back here'), 'shardtx: distributed deadlock broken')
 * ```
 */
export function describeDeadlock(
  cycle: DeadlockCycle,
  registry: TransactionRegistry,
  serverOf: (shard: string) => string,
  resolution: DistributedDeadlockEvent['resolution'],
  now = Date.now(),
): DistributedDeadlockEvent {
  const members = cycle.transactions
  const transactions: DeadlockMember[] = members.map((m) => memberOf(m, registry))
  const waits: DeadlockWait[] = []
  let oldestWait = now
  members.forEach((m, i) => {
    const edge = cycle.edges[i]
    if (edge === undefined) return
    const shard = shardOfWait(m, edge, serverOf)
    const wait: DeadlockWait = { waiting: m.transactionId, blocking: members[(i + 1) % members.length]!.transactionId, shard }
    if (edge.table !== undefined) wait.table = edge.table
    waits.push(wait)
    oldestWait = Math.min(oldestWait, waitStart(m, shard, edge, registry, now))
  })
  const tables = new Set<string>()
  for (const w of waits) if (w.table !== undefined) tables.add(w.table)
  for (const t of transactions) for (const table of t.tables ?? []) tables.add(table)
  return {
    event: 'shardtx.distributed_deadlock',
    resolution,
    victim: cycle.victim.transactionId,
    transactions,
    waits,
    shards: [...new Set(waits.map((w) => w.shard))].sort(),
    tables: [...tables].sort(),
    origins: [...new Set(transactions.flatMap((t) => (t.origin === undefined ? [] : [t.origin])))],
    detectionLatencyMs: Math.max(0, now - oldestWait),
  }
}

function memberOf(m: TransactionOwnership, registry: TransactionRegistry): DeadlockMember {
  const member: DeadlockMember = {
    transactionId: m.transactionId,
    processId: m.processId,
    startedAt: m.startedAt,
    shards: [...new Set(m.connections.map((c) => c.shard))].sort(),
  }
  const local = registry.get(m.transactionId)
  if (local !== undefined) {
    member.tables = [...local.tx.tables].sort()
    member.origin = formatLocation(local.tx.origin)
  }
  return member
}

/** The member's shard on the server the edge was read from (edges carry the server, not the shard). */
function shardOfWait(m: TransactionOwnership, edge: LockWaitEdge, serverOf: (shard: string) => string): string {
  const server = serverOf(edge.shard)
  return m.connections.find((c) => c.connectionId === edge.waitingConnectionId && serverOf(c.shard) === server)?.shard ?? edge.shard
}

/** When the member's wait began: its statement's start if it is ours, else the server's whole seconds. */
function waitStart(m: TransactionOwnership, shard: string, edge: LockWaitEdge, registry: TransactionRegistry, now: number): number {
  const local = registry.get(m.transactionId)
  if (local !== undefined) {
    let start = now
    for (const w of local.waits) if (w.shard === shard) start = Math.min(start, w.startedAtEpoch)
    return start
  }
  return edge.waitSeconds === undefined ? now : now - edge.waitSeconds * 1000
}
