import type { LockWaitEdge, TransactionOwnership } from './types.js'

/** Caps that keep graph building in constant memory whatever the shards report. */
export interface WaitForGraphLimits {
  /** Distinct connection-level edges kept; the rest are dropped and counted. @default 10_000 */
  maxEdges: number
  /** Distinct transactions kept; the rest are treated as unknown (external). @default 10_000 */
  maxTransactions: number
  /** (server, connection id) mappings kept; the rest are treated as unknown. @default 40_000 */
  maxConnections: number
}

export const DEFAULT_WAIT_FOR_GRAPH_LIMITS: Readonly<WaitForGraphLimits> = Object.freeze({
  maxEdges: 10_000,
  maxTransactions: 10_000,
  maxConnections: 40_000,
})

export interface BuildWaitForGraphOptions {
  /**
   * Maps a shard to the server whose connection ids it uses. Shards that are databases of one
   * server share its connection ids and its lock-wait views: the edge "connection 12 waits for
   * 15" read through shard `db1` may concern connections owned on shard `db2`, and the same edge
   * comes back from every such shard's reader. Edges and ownerships are matched and deduplicated
   * per server.
   * @default (shard) => shard (every shard its own server)
   */
  serverOf?: (shard: string) => string
  limits?: Partial<WaitForGraphLimits>
}

/** What was dropped or ignored while building; `truncated` says a cap was hit. */
export interface WaitForGraphStats {
  inputEdges: number
  /** Distinct edges kept (after dedupe, before mapping to transactions). */
  keptEdges: number
  /** Same (server, waiting, blocking) seen more than once, e.g. from two shards of one server. */
  duplicateEdges: number
  /** Edges whose connection ids are not positive safe integers. */
  invalidEdges: number
  /** Edges dropped by `maxEdges`. */
  droppedEdges: number
  /** Edges between two connections of the same transaction (not a cycle between transactions). */
  selfEdges: number
  /** Edges with an unknown connection on at least one side. */
  externalEdges: number
  droppedTransactions: number
  droppedConnections: number
  /** Connections claimed by two different transactions (a stale row): treated as unknown. */
  conflictingConnections: number
}

/**
 * Transaction-level wait-for graph. Nodes `0..transactions.length - 1` are known transactions in
 * ascending id order; node `externalNode` (= `transactions.length`) stands for every connection
 * nobody published: other writers, or shardtx transactions that are not waiting. Cycle search
 * never passes through the external node, so a wait behind an outsider is never a deadlock.
 */
export interface WaitForGraph {
  readonly transactions: readonly TransactionOwnership[]
  readonly externalNode: number
  /** `successors[n]`: nodes that node `n` waits for, ascending, no duplicates. */
  readonly successors: readonly (readonly number[])[]
  /** One underlying connection-level edge for the transaction-level edge `from -> to`. */
  edgeDetail(from: number, to: number): LockWaitEdge | undefined
  /** Node of a transaction id, or undefined. */
  nodeOf(transactionId: string): number | undefined
  readonly truncated: boolean
  readonly stats: Readonly<WaitForGraphStats>
}

const identity = (shard: string): string => shard
const isConnectionId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const connectionKey = (server: string, connectionId: number): string => `${server}\u0000${connectionId}`
/** Marks a connection claimed by two transactions in the connection map. */
const CONFLICT = -1

/**
 * Builds the transaction-level wait-for graph from connection-level lock-wait edges (read from
 * every shard) and the ownerships of waiting transactions (this process's and the published
 * ones of other processes). Inputs are sorted before the caps apply, so the result depends only
 * on the sets given, never on their order: every detector that sees the same data builds the same
 * graph and picks the same victims.
 *
 * @example
 * ```ts
 * const graph = buildWaitForGraph(
 *   [
 *     { shard: '-80', waitingConnectionId: 11, blockingConnectionId: 21 },
 *     { shard: '80-', waitingConnectionId: 22, blockingConnectionId: 12 },
 *   ],
 *   [
 *     { transactionId: 'a', startedAt: 1, processId: 'p1', connections: [{ shard: '-80', connectionId: 11 }, { shard: '80-', connectionId: 12 }] },
 *     { transactionId: 'b', startedAt: 2, processId: 'p2', connections: [{ shard: '-80', connectionId: 21 }, { shard: '80-', connectionId: 22 }] },
 *   ],
 * )
 * graph.successors // [[1], [0], []]: a waits for b, b waits for a
 * ```
 */
export function buildWaitForGraph(
  edges: readonly LockWaitEdge[],
  ownerships: readonly TransactionOwnership[],
  options: BuildWaitForGraphOptions = {},
): WaitForGraph {
  const limits = { ...DEFAULT_WAIT_FOR_GRAPH_LIMITS, ...options.limits }
  for (const name of ['maxEdges', 'maxTransactions', 'maxConnections'] as const) {
    if (!Number.isSafeInteger(limits[name]) || limits[name] < 0) {
      throw new TypeError(`Expected \`limits.${name}\` to be a non-negative integer, got ${String(limits[name])}`)
    }
  }
  const serverOf = options.serverOf ?? identity
  const stats: WaitForGraphStats = {
    inputEdges: edges.length,
    keptEdges: 0,
    duplicateEdges: 0,
    invalidEdges: 0,
    droppedEdges: 0,
    selfEdges: 0,
    externalEdges: 0,
    droppedTransactions: 0,
    droppedConnections: 0,
    conflictingConnections: 0,
  }

  const transactions = mergeOwnerships(ownerships)
  if (transactions.length > limits.maxTransactions) {
    stats.droppedTransactions = transactions.length - limits.maxTransactions
    transactions.length = limits.maxTransactions
  }
  const externalNode = transactions.length
  const nodeById = new Map<string, number>()
  transactions.forEach((t, i) => nodeById.set(t.transactionId, i))

  // (server, connection id) -> node; a connection claimed twice is unknown, never guessed.
  const nodeByConnection = new Map<string, number>()
  let mapped = 0
  transactions.forEach((t, node) => {
    for (const c of t.connections) {
      if (!isConnectionId(c.connectionId)) continue
      const key = connectionKey(serverOf(c.shard), c.connectionId)
      const previous = nodeByConnection.get(key)
      if (previous === undefined) {
        if (mapped >= limits.maxConnections) {
          stats.droppedConnections++
          continue
        }
        nodeByConnection.set(key, node)
        mapped++
      } else if (previous !== node && previous !== CONFLICT) {
        nodeByConnection.set(key, CONFLICT)
        stats.conflictingConnections++
      }
    }
  })
  const nodeOfConnection = (server: string, connectionId: number): number => {
    const node = nodeByConnection.get(connectionKey(server, connectionId))
    return node === undefined || node === CONFLICT ? externalNode : node
  }

  const valid = edges.filter((e) => isConnectionId(e.waitingConnectionId) && isConnectionId(e.blockingConnectionId))
  stats.invalidEdges = edges.length - valid.length
  const sorted = valid
    .map((edge) => ({ edge, server: serverOf(edge.shard) }))
    .sort(
      (x, y) =>
        compareStrings(x.server, y.server) ||
        x.edge.waitingConnectionId - y.edge.waitingConnectionId ||
        x.edge.blockingConnectionId - y.edge.blockingConnectionId ||
        compareStrings(x.edge.shard, y.edge.shard),
    )

  const successorSets: Set<number>[] = Array.from({ length: externalNode + 1 }, () => new Set<number>())
  const details = new Map<number, LockWaitEdge>()
  const seen = new Set<string>()
  for (const { edge, server } of sorted) {
    const { waitingConnectionId: waiting, blockingConnectionId: blocking } = edge
    const key = `${server}\u0000${waiting}\u0000${blocking}`
    if (seen.has(key)) {
      stats.duplicateEdges++
      continue
    }
    if (seen.size >= limits.maxEdges) {
      stats.droppedEdges++
      continue
    }
    seen.add(key)
    const from = nodeOfConnection(server, waiting)
    const to = nodeOfConnection(server, blocking)
    if (from === externalNode || to === externalNode) stats.externalEdges++
    if (from === to) {
      if (from !== externalNode) stats.selfEdges++
      continue
    }
    successorSets[from]!.add(to)
    const detailKey = from * (externalNode + 1) + to
    if (!details.has(detailKey)) details.set(detailKey, edge)
  }
  stats.keptEdges = seen.size

  return {
    transactions,
    externalNode,
    successors: successorSets.map((s) => [...s].sort((a, b) => a - b)),
    edgeDetail: (from, to) => details.get(from * (externalNode + 1) + to),
    nodeOf: (id) => nodeById.get(id),
    truncated: stats.droppedEdges > 0 || stats.droppedTransactions > 0 || stats.droppedConnections > 0,
    stats,
  }
}

/**
 * One entry per transaction id, ascending. The same transaction may arrive twice (this process's
 * own view and its published rows): its connections are merged; the other fields come from the
 * first entry in a stable order so the result does not depend on input order.
 */
function mergeOwnerships(ownerships: readonly TransactionOwnership[]): TransactionOwnership[] {
  const byId = new Map<string, TransactionOwnership>()
  for (const o of ownerships) {
    const existing = byId.get(o.transactionId)
    if (existing === undefined) {
      byId.set(o.transactionId, { ...o, connections: [...o.connections] })
      continue
    }
    // Keep the entry that sorts first on (startedAt, processId) so merging is order-independent.
    const keepNew = o.startedAt < existing.startedAt || (o.startedAt === existing.startedAt && o.processId < existing.processId)
    const base = keepNew ? o : existing
    byId.set(o.transactionId, { ...base, connections: [...existing.connections, ...o.connections] })
  }
  const merged = [...byId.values()].sort((a, b) => compareStrings(a.transactionId, b.transactionId))
  for (const t of merged) {
    const unique = new Map(t.connections.map((c) => [`${c.shard}\u0000${c.connectionId}`, c]))
    t.connections = [...unique.values()].sort((a, b) => compareStrings(a.shard, b.shard) || a.connectionId - b.connectionId)
  }
  return merged
}
