import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { findDeadlocks } from '../../src/deadlock/cycle-search.js'
import { killConnectionSql } from '../../src/deadlock/kill.js'
import { MARIADB_LOCKS_SQL, MARIADB_LOCK_WAITS_SQL, MARIADB_TRX_SQL, createMariaDbLockWaitReader } from '../../src/deadlock/lock-wait-reader-mariadb.js'
import { MYSQL8_LOCK_WAITS_SQL, createMysql8LockWaitReader } from '../../src/deadlock/lock-wait-reader-mysql8.js'
import { createLockWaitReader } from '../../src/deadlock/lock-wait-reader.js'
import { parseServerFlavor } from '../../src/deadlock/server-flavor.js'
import { stronglyConnectedComponents } from '../../src/deadlock/strongly-connected-components.js'
import { normalizeTableName } from '../../src/deadlock/table-name.js'
import { throttleLockWaitReader } from '../../src/deadlock/throttled-reader.js'
import type { LockWaitEdge, TransactionOwnership } from '../../src/deadlock/types.js'
import { chooseVictim } from '../../src/deadlock/victim.js'
import { buildWaitForGraph } from '../../src/deadlock/wait-for-graph.js'

// Convention: transaction `T<n>` owns connection `<shard index * 1000 + n>` on every shard listed.
const SHARDS = ['-40', '40-80', '80-c0', 'c0-']
const conn = (shard: string, n: number): number => (SHARDS.indexOf(shard) + 1) * 1000 + n
const tx = (n: number, startedAt: number, shards = SHARDS, processId = 'p1'): TransactionOwnership => ({
  transactionId: `T${n}`,
  startedAt,
  processId,
  connections: shards.map((shard) => ({ shard, connectionId: conn(shard, n) })),
})
/** `T<w>` waits on `shard` for a lock `T<b>` holds. */
const wait = (shard: string, w: number, b: number, table = 'accounts'): LockWaitEdge => ({
  shard,
  waitingConnectionId: conn(shard, w),
  blockingConnectionId: conn(shard, b),
  table,
})
const search = (edges: LockWaitEdge[], owners: TransactionOwnership[]) => findDeadlocks(buildWaitForGraph(edges, owners))
const ids = (list: readonly TransactionOwnership[]): string[] => list.map((t) => t.transactionId)

describe('cycle search', () => {
  it('finds a 2-transaction cycle across two shards and picks the youngest as victim', () => {
    const { cycles, truncated } = search([wait('-40', 2, 1), wait('40-80', 1, 2, 'ledger')], [tx(1, 1_000), tx(2, 2_000)])
    expect(truncated).toBe(false)
    expect(cycles).toHaveLength(1)
    const [cycle] = cycles
    expect(cycle!.victim.transactionId).toBe('T2')
    expect(ids(cycle!.transactions)).toEqual(['T2', 'T1']) // starts with the victim, in wait order
    expect(cycle!.edges.map((e) => [e.shard, e.table])).toEqual([
      ['-40', 'accounts'],
      ['40-80', 'ledger'],
    ])
  })

  it('finds a 3-transaction cycle over 3 shards', () => {
    const { cycles } = search([wait('-40', 1, 2), wait('40-80', 2, 3), wait('80-c0', 3, 1)], [tx(1, 5), tx(2, 7), tx(3, 6)])
    expect(cycles).toHaveLength(1)
    expect(cycles[0]!.victim.transactionId).toBe('T2')
    expect(ids(cycles[0]!.transactions)).toEqual(['T2', 'T3', 'T1'])
    expect(cycles[0]!.edges.map((e) => e.shard)).toEqual(['40-80', '80-c0', '-40'])
  })

  it('finds several disjoint cycles in one search, one victim each', () => {
    const edges = [
      wait('-40', 1, 2),
      wait('40-80', 2, 1), // T1 <-> T2
      wait('-40', 3, 4),
      wait('80-c0', 4, 3), // T3 <-> T4
      wait('-40', 5, 6),
      wait('40-80', 6, 7),
      wait('c0-', 7, 5), // T5 -> T6 -> T7 -> T5
      wait('-40', 8, 1), // T8 waits on a member but is not in a cycle
    ]
    const owners = [tx(1, 10), tx(2, 20), tx(3, 40), tx(4, 30), tx(5, 50), tx(6, 50), tx(7, 49), tx(8, 99)]
    const { cycles } = search(edges, owners)
    expect(cycles.map((c) => c.victim.transactionId).sort()).toEqual(['T2', 'T3', 'T6'])
    expect(cycles.map((c) => c.transactions.length).sort()).toEqual([2, 2, 3])
  })

  it('breaks overlapping cycles that share a transaction: removes the victim and searches again', () => {
    // T1 <-> T2 and T2 <-> T3 share T2; T3 is youngest, so removing it leaves T1 <-> T2.
    const edges = [wait('-40', 1, 2), wait('40-80', 2, 1), wait('80-c0', 2, 3), wait('c0-', 3, 2)]
    const owners = [tx(1, 100), tx(2, 50), tx(3, 300)]
    const { cycles } = search(edges, owners)
    expect(cycles.map((c) => c.victim.transactionId)).toEqual(['T3', 'T1'])
    // Every cycle is broken: without the victims' ownerships their connections are external.
    const survivors = owners.filter((o) => !cycles.some((c) => c.victim.transactionId === o.transactionId))
    expect(search(edges, survivors).cycles).toEqual([])
  })

  it('needs only one victim when every overlapping cycle goes through the youngest', () => {
    // T1 -> T3 -> T1 and T2 -> T3 -> T2; T3 youngest.
    const edges = [wait('-40', 1, 3), wait('40-80', 3, 1), wait('80-c0', 2, 3), wait('c0-', 3, 2)]
    const { cycles } = search(edges, [tx(1, 1), tx(2, 2), tx(3, 3)])
    expect(cycles.map((c) => c.victim.transactionId)).toEqual(['T3'])
  })

  it('reports no cycle for a chain of waits', () => {
    const graph = buildWaitForGraph([wait('-40', 1, 2), wait('40-80', 2, 3), wait('80-c0', 3, 4)], [tx(1, 1), tx(2, 2), tx(3, 3), tx(4, 4)])
    expect(graph.successors.slice(0, 4)).toEqual([[1], [2], [3], []])
    expect(findDeadlocks(graph).cycles).toEqual([])
  })

  it('never closes a cycle through unknown (external) connections', () => {
    // T1 waits for a non-shardtx writer (connection 777) on -40, which waits for T2 on 40-80,
    // and T2 waits for T1: the outsider may be a different session on each shard, so no cycle.
    const edges: LockWaitEdge[] = [
      { shard: '-40', waitingConnectionId: conn('-40', 1), blockingConnectionId: 777 },
      { shard: '40-80', waitingConnectionId: 778, blockingConnectionId: conn('40-80', 2) },
      wait('80-c0', 2, 1),
    ]
    const graph = buildWaitForGraph(edges, [tx(1, 1), tx(2, 2)])
    expect(graph.externalNode).toBe(2)
    expect(graph.successors).toEqual([[2], [0], [1]])
    expect(graph.stats.externalEdges).toBe(2)
    expect(findDeadlocks(graph).cycles).toEqual([])
  })

  it('reports no cycle for a long wait behind a transaction that is not waiting (never published)', () => {
    // T2 is a slow single-shard transaction: it never waits, so it never publishes.
    const { cycles } = search([wait('-40', 1, 2), wait('40-80', 2, 1)], [tx(1, 1)])
    expect(cycles).toEqual([])
  })

  it('drops waits between two connections of the same transaction', () => {
    // Two shards that are databases of one server: T1's connection on 40-80 waits for T1's own
    // connection on -40. Not a cycle between transactions; counted.
    const serverOf = () => 'server-1'
    const graph = buildWaitForGraph(
      [{ shard: '-40', waitingConnectionId: conn('40-80', 1), blockingConnectionId: conn('-40', 1) }],
      [tx(1, 1, ['-40', '40-80'])],
      { serverOf },
    )
    expect(graph.stats.selfEdges).toBe(1)
    expect(graph.successors).toEqual([[], []])
    expect(findDeadlocks(graph).cycles).toEqual([])
  })

  it('matches connections per server and dedupes the same edge read through two shards of one server', () => {
    const serverOf = () => 'server-1'
    // Both readers see the whole server: each edge arrives twice, labelled with either shard.
    const raw = [
      { shard: '-40', waitingConnectionId: conn('-40', 2), blockingConnectionId: conn('-40', 1) },
      { shard: '-40', waitingConnectionId: conn('40-80', 1), blockingConnectionId: conn('40-80', 2) },
    ]
    const edges = [...raw, ...raw.map((e) => ({ ...e, shard: '40-80' }))]
    const owners = [tx(1, 1, ['-40', '40-80']), tx(2, 2, ['-40', '40-80'])]
    const graph = buildWaitForGraph(edges, owners, { serverOf })
    expect(graph.stats.duplicateEdges).toBe(2)
    expect(findDeadlocks(graph).cycles.map((c) => c.victim.transactionId)).toEqual(['T2'])
    // One reader only (edges labelled -40): without serverOf, "-40 connection 2001" is nobody's
    // (T1 owns 2001 on 40-80), so the wait is external: missed, never guessed.
    expect(search(raw, owners).cycles).toEqual([])
    expect(findDeadlocks(buildWaitForGraph(raw, owners, { serverOf })).cycles).toHaveLength(1)
  })

  it('treats a connection claimed by two transactions (stale row) as unknown', () => {
    const stale: TransactionOwnership = { transactionId: 'T9', startedAt: 0, processId: 'dead', connections: [{ shard: '-40', connectionId: conn('-40', 1) }] }
    const graph = buildWaitForGraph([wait('-40', 1, 2), wait('40-80', 2, 1)], [tx(1, 1), tx(2, 2), stale])
    expect(graph.stats.conflictingConnections).toBe(1)
    expect(findDeadlocks(graph).cycles).toEqual([])
  })

  it('merges two reports of one transaction (own view + published rows)', () => {
    const a: TransactionOwnership = { transactionId: 'T1', startedAt: 1, processId: 'p1', connections: [{ shard: '-40', connectionId: conn('-40', 1) }] }
    const b: TransactionOwnership = { ...a, connections: [{ shard: '40-80', connectionId: conn('40-80', 1) }] }
    const graph = buildWaitForGraph([wait('-40', 2, 1), wait('40-80', 1, 2)], [b, tx(2, 2), a])
    expect(graph.transactions[0]!.connections).toHaveLength(2)
    expect(findDeadlocks(graph).cycles).toHaveLength(1)
  })

  it('ignores edges whose connection ids are not positive integers', () => {
    const graph = buildWaitForGraph([{ shard: '-40', waitingConnectionId: Number.NaN, blockingConnectionId: 3 }, wait('-40', 1, 2)], [tx(1, 1), tx(2, 2)])
    expect(graph.stats.invalidEdges).toBe(1)
    expect(graph.successors[0]).toEqual([1])
  })
})

describe('victim rule', () => {
  const t = (transactionId: string, startedAt: number): TransactionOwnership => ({ transactionId, startedAt, processId: 'p', connections: [] })

  it('picks the youngest (largest startedAt)', () => {
    expect(chooseVictim([t('a', 3), t('b', 9), t('c', 5)]).transactionId).toBe('b')
  })

  it('breaks ties by the larger id, by code unit not locale', () => {
    expect(chooseVictim([t('tx-10', 7), t('tx-9', 7), t('tx-1', 7)]).transactionId).toBe('tx-9')
    expect(chooseVictim([t('a', 7), t('B', 7)]).transactionId).toBe('a') // 'a' (97) > 'B' (66)
  })

  it('refuses an empty cycle', () => {
    expect(() => chooseVictim([])).toThrow(RangeError)
  })

  it('does not depend on the order of the members', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ transactionId: fc.string({ maxLength: 4 }), startedAt: fc.integer({ min: 0, max: 3 }) }), {
          minLength: 1,
          maxLength: 8,
          selector: (r) => r.transactionId,
        }),
        fc.func(fc.integer()),
        (members, key) => {
          const cycle = members.map((m) => t(m.transactionId, m.startedAt))
          const shuffled = cycle
            .map((x, i) => [key(i), x] as const)
            .sort((a, b) => a[0] - b[0])
            .map(([, x]) => x)
          expect(chooseVictim(shuffled)).toBe(chooseVictim(cycle))
        },
      ),
    )
  })
})

/** Independent check: does any cycle of known transactions remain among `alive`? (plain DFS colouring) */
function hasCycle(edges: readonly LockWaitEdge[], alive: readonly TransactionOwnership[]): boolean {
  const owner = new Map<string, string>()
  for (const t of alive) for (const c of t.connections) owner.set(`${c.shard}/${c.connectionId}`, t.transactionId)
  const next = new Map<string, Set<string>>()
  for (const e of edges) {
    const from = owner.get(`${e.shard}/${e.waitingConnectionId}`)
    const to = owner.get(`${e.shard}/${e.blockingConnectionId}`)
    if (from && to && from !== to) next.set(from, (next.get(from) ?? new Set()).add(to))
  }
  const colour = new Map<string, number>()
  const visit = (v: string): boolean => {
    colour.set(v, 1)
    for (const w of next.get(v) ?? []) {
      if (colour.get(w) === 1) return true
      if (colour.get(w) === undefined && visit(w)) return true
    }
    colour.set(v, 2)
    return false
  }
  return alive.some((t) => colour.get(t.transactionId) === undefined && visit(t.transactionId))
}

describe('agreement and soundness (property-based)', () => {
  const scenario = fc
    .integer({ min: 2, max: 10 })
    .chain((n) =>
      fc.record({
        starts: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: n, maxLength: n }), // many ties
        published: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        edges: fc.array(fc.record({ shard: fc.constantFrom(...SHARDS), w: fc.integer({ min: 1, max: n + 1 }), b: fc.integer({ min: 1, max: n + 1 }) }), {
          maxLength: 3 * n,
        }),
      }),
    )
    .map(({ starts, published, edges }) => ({
      owners: starts.map((s, i) => tx(i + 1, s)).filter((_, i) => published[i]), // unpublished = external
      edges: edges.map((e) => wait(e.shard, e.w, e.b)), // T<n+1> is never published: an outsider
    }))

  it('picks the same victims whatever the order of edges and ownerships', () => {
    fc.assert(
      fc.property(scenario, fc.func(fc.integer()), ({ owners, edges }, key) => {
        const shuffle = <T>(xs: readonly T[]): T[] =>
          xs
            .map((x, i) => [key(i), x] as const)
            .sort((a, b) => a[0] - b[0])
            .map(([, x]) => x)
        const a = search(edges, owners).cycles.map((c) => c.victim.transactionId)
        const b = search(shuffle(edges), shuffle(owners)).cycles.map((c) => c.victim.transactionId)
        expect(b).toEqual(a)
      }),
      { numRuns: 500 },
    )
  })

  it('reports only real cycles of known transactions, and no cycle survives its victims', () => {
    fc.assert(
      fc.property(scenario, ({ owners, edges }) => {
        const { cycles, truncated } = search(edges, owners)
        expect(truncated).toBe(false)
        for (const c of cycles) {
          expect(c.victim).toBe(chooseVictim(c.transactions))
          c.edges.forEach((e, i) => {
            const from = c.transactions[i]!
            const to = c.transactions[(i + 1) % c.transactions.length]!
            expect(from.connections.some((x) => x.shard === e.shard && x.connectionId === e.waitingConnectionId)).toBe(true)
            expect(to.connections.some((x) => x.shard === e.shard && x.connectionId === e.blockingConnectionId)).toBe(true)
          })
        }
        const victims = new Set(cycles.map((c) => c.victim.transactionId))
        expect(
          hasCycle(
            edges,
            owners.filter((o) => !victims.has(o.transactionId)),
          ),
        ).toBe(false)
        expect(cycles.length > 0).toBe(hasCycle(edges, owners))
      }),
      { numRuns: 500 },
    )
  })
})

describe('bounds', () => {
  it('handles a 10,000-transaction chain plus one cycle without recursion', () => {
    const n = 10_000
    const owners: TransactionOwnership[] = []
    const edges: LockWaitEdge[] = []
    for (let i = 0; i < n; i++)
      owners.push({ transactionId: `t${String(i).padStart(5, '0')}`, startedAt: i, processId: 'p', connections: [{ shard: 's', connectionId: i + 1 }] })
    for (let i = 0; i + 1 < n; i++) edges.push({ shard: 's', waitingConnectionId: i + 1, blockingConnectionId: i + 2 })
    edges.push({ shard: 's', waitingConnectionId: n, blockingConnectionId: n - 9 }) // t09999 -> t09990 closes a 10-cycle
    const started = performance.now()
    const graph = buildWaitForGraph(edges, owners)
    const { cycles } = findDeadlocks(graph)
    const elapsed = performance.now() - started
    expect(graph.truncated).toBe(false)
    expect(cycles).toHaveLength(1)
    expect(cycles[0]!.transactions).toHaveLength(10)
    expect(cycles[0]!.victim.transactionId).toBe('t09999')
    expect(elapsed).toBeLessThan(2_000)
  })

  it('finds strongly connected components of a 200,000-node chain iteratively', () => {
    const n = 200_000
    const successors = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : [0]))
    const components = stronglyConnectedComponents(successors, [0], () => true)
    expect(components).toHaveLength(1)
    expect(components[0]).toHaveLength(n)
  })

  it('caps edges at 10,000 by default and reports truncation', () => {
    const edges: LockWaitEdge[] = Array.from({ length: 10_005 }, (_, i) => ({ shard: 's', waitingConnectionId: i + 1, blockingConnectionId: i + 2 }))
    const graph = buildWaitForGraph(edges, [])
    expect(graph.truncated).toBe(true)
    expect(graph.stats.keptEdges).toBe(10_000)
    expect(graph.stats.droppedEdges).toBe(5)
  })

  it('caps transactions and connections; what is dropped becomes external (missed, never invented)', () => {
    const edges = [wait('-40', 1, 2), wait('40-80', 2, 1)]
    const owners = [tx(1, 1), tx(2, 2)]
    const fewTx = buildWaitForGraph(edges, owners, { limits: { maxTransactions: 1 } })
    expect(fewTx.truncated).toBe(true)
    expect(fewTx.stats.droppedTransactions).toBe(1)
    expect(findDeadlocks(fewTx).cycles).toEqual([])
    const fewConn = buildWaitForGraph(edges, owners, { limits: { maxConnections: 5 } })
    expect(fewConn.truncated).toBe(true)
    expect(fewConn.stats.droppedConnections).toBe(3)
    expect(() => buildWaitForGraph(edges, owners, { limits: { maxEdges: -1 } })).toThrow(/limits\.maxEdges/)
  })

  it('stops after maxCycles victims and says so', () => {
    const edges = [wait('-40', 1, 2), wait('40-80', 2, 1), wait('-40', 3, 4), wait('40-80', 4, 3)]
    const result = findDeadlocks(buildWaitForGraph(edges, [tx(1, 1), tx(2, 2), tx(3, 3), tx(4, 4)]), { maxCycles: 1 })
    expect(result.cycles).toHaveLength(1)
    expect(result.truncated).toBe(true)
  })

  it('bounds the worst case, a dense component that shrinks by one per victim, with maxCycles', () => {
    // A bidirectional path whose youngest transaction is always at the end: each removal leaves a
    // component of n - 1 (remove-and-search-again costs O(n) per victim; youngest-first needs
    // n - 1 victims here). 5,000 transactions and 9,998 edges, just under the edge cap.
    const n = 5_000
    const owners = Array.from({ length: n }, (_, i) => ({
      transactionId: `t${String(i).padStart(4, '0')}`,
      startedAt: i,
      processId: 'p',
      connections: [{ shard: 's', connectionId: i + 1 }],
    }))
    const edges: LockWaitEdge[] = []
    for (let i = 1; i < n; i++) {
      edges.push({ shard: 's', waitingConnectionId: i, blockingConnectionId: i + 1 }, { shard: 's', waitingConnectionId: i + 1, blockingConnectionId: i })
    }
    const graph = buildWaitForGraph(edges, owners)
    const started = performance.now()
    const { cycles, truncated } = findDeadlocks(graph)
    const elapsed = performance.now() - started
    expect(truncated).toBe(true)
    expect(cycles).toHaveLength(100) // the default maxCycles
    expect(cycles.map((c) => c.victim.transactionId).slice(0, 2)).toEqual(['t4999', 't4998'])
    expect(cycles.every((c) => c.transactions.length === 2)).toBe(true)
    console.log(`dense worst case: ${n} transactions, ${edges.length} edges, ${cycles.length} victims in ${elapsed.toFixed(0)} ms`)
    expect(elapsed).toBeLessThan(5_000)
    // Small enough to finish: every victim found, nothing left.
    const small = findDeadlocks(buildWaitForGraph(edges.slice(0, 2 * 199), owners.slice(0, 200)), { maxCycles: 1_000 })
    expect(small.truncated).toBe(false)
    expect(small.cycles).toHaveLength(199)
  })
})

describe('lock-wait rows and server facts (no server)', () => {
  it('normalises table names as the lock views print them', () => {
    expect(normalizeTableName('`shop`.`orders`')).toBe('orders')
    expect(normalizeTableName('`stx`.`we-ird``t`')).toBe('we-ird`t') // measured on 10.11
    expect(normalizeTableName('`stx`.`p` /* Partition `p1` */')).toBe('p') // measured on 10.11
    expect(normalizeTableName('orders')).toBe('orders')
    expect(normalizeTableName('shop/orders')).toBe('orders')
    expect(normalizeTableName('shop.orders')).toBe('orders')
  })

  it('joins the three MariaDB views in memory, skipping waits whose transaction vanished', async () => {
    const seen: string[] = []
    const answers = new Map<string, Record<string, unknown>[]>([
      [
        MARIADB_LOCK_WAITS_SQL,
        [
          { waiting_trx_id: '18446744073709551', blocking_trx_id: '900', requested_lock_id: '18446744073709551:5:3:2' },
          { waiting_trx_id: '901', blocking_trx_id: '900', requested_lock_id: '901:5:3:2' }, // 901 ended meanwhile
        ],
      ],
      [
        MARIADB_TRX_SQL,
        [
          { trx_id: '18446744073709551', connection_id: '42', wait_seconds: 3n },
          { trx_id: '900', connection_id: '17', wait_seconds: null },
        ],
      ],
      [MARIADB_LOCKS_SQL, [{ lock_id: '18446744073709551:5:3:2', lock_table: '`db`.`accounts`' }]],
    ])
    const reader = createMariaDbLockWaitReader('-80', async (sql) => {
      seen.push(sql)
      return answers.get(sql) ?? []
    })
    expect(await reader.read()).toEqual([
      {
        shard: '-80',
        waitingConnectionId: 42,
        blockingConnectionId: 17,
        waitingTrxId: '18446744073709551',
        blockingTrxId: '900',
        table: 'accounts',
        waitSeconds: 3,
      },
    ])
    expect(seen).toEqual([MARIADB_LOCK_WAITS_SQL, MARIADB_TRX_SQL, MARIADB_LOCKS_SQL])
    for (const sql of seen) expect(sql).toMatch(/LIMIT 10000$/)
  })

  it('reads MariaDB with a single statement while nothing waits', async () => {
    const seen: string[] = []
    const reader = createMariaDbLockWaitReader('-80', async (sql) => {
      seen.push(sql)
      return []
    })
    expect(await reader.read()).toEqual([])
    expect(seen).toEqual([MARIADB_LOCK_WAITS_SQL])
  })

  it('MySQL 8 reader never uses performance_schema thread ids as connection ids', async () => {
    const reader = createMysql8LockWaitReader('80-', async () => [
      { waiting_connection_id: 8, blocking_connection_id: 9, waiting_trx_id: 1, blocking_trx_id: 2, lock_table: 'accounts', wait_seconds: 0 },
    ])
    expect(reader.flavor).toBe('mysql8')
    expect(await reader.read()).toEqual([
      { shard: '80-', waitingConnectionId: 8, blockingConnectionId: 9, waitingTrxId: '1', blockingTrxId: '2', table: 'accounts', waitSeconds: 0 },
    ])
    expect(MYSQL8_LOCK_WAITS_SQL).toContain('trx_id = w.REQUESTING_ENGINE_TRANSACTION_ID')
    expect(MYSQL8_LOCK_WAITS_SQL).not.toMatch(/THREAD_ID AS/)
    expect(createLockWaitReader('mariadb', 's', async () => []).flavor).toBe('mariadb')
    expect(() => createLockWaitReader('oracle' as never, 's', async () => [])).toThrow(/flavor/)
  })

  it('detects the server flavour from VERSION()', () => {
    expect(parseServerFlavor('10.11.19-MariaDB-0+deb12u1')).toBe('mariadb')
    expect(parseServerFlavor('5.5.5-10.6.12-MariaDB-log')).toBe('mariadb')
    expect(parseServerFlavor('8.0.36')).toBe('mysql8')
    expect(parseServerFlavor('8.4.2-commercial')).toBe('mysql8')
    expect(parseServerFlavor('9.1.0')).toBe('mysql8')
    expect(() => parseServerFlavor('5.7.44-log')).toThrow(/5\.7\.44/)
    expect(() => parseServerFlavor('8.0.11-TiDB-v7.5.0')).toThrow(/TiDB/)
  })

  it('writes KILL CONNECTION, never KILL QUERY, with a validated id', () => {
    expect(killConnectionSql(42)).toBe('KILL CONNECTION 42')
    expect(() => killConnectionSql(0)).toThrow(TypeError)
    expect(() => killConnectionSql(1.5)).toThrow(TypeError)
  })
})

describe('throttled reader', () => {
  afterEach(() => vi.useRealTimers())

  it('shares reads and keeps at least minIntervalMs between them', async () => {
    vi.useFakeTimers()
    const starts: number[] = []
    let resolveRead: ((edges: LockWaitEdge[]) => void) | undefined
    const reader = throttleLockWaitReader(
      {
        flavor: 'mariadb',
        shard: 's',
        read: () => {
          starts.push(performance.now())
          return new Promise((resolve) => {
            resolveRead = resolve
          })
        },
      },
      250,
    )

    const first = reader.read()
    const second = reader.read() // before the first started: shares it
    await vi.advanceTimersByTimeAsync(0)
    expect(starts).toHaveLength(1)
    const third = reader.read() // while the first is in flight: waits for the next one
    resolveRead!([])
    expect(await first).toEqual([])
    expect(await second).toEqual([])
    await vi.advanceTimersByTimeAsync(249)
    expect(starts).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(starts).toHaveLength(2)
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(250)
    resolveRead!([{ shard: 's', waitingConnectionId: 1, blockingConnectionId: 2 }])
    expect(await third).toHaveLength(1)
  })
})
