import { randomBytes } from 'node:crypto'
import knexFactory from 'knex'
import mysql from 'mysql2/promise'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { findDeadlocks } from '../../src/deadlock/cycle-search.js'
import { killConnectionSql } from '../../src/deadlock/kill.js'
import { createMariaDbLockWaitReader } from '../../src/deadlock/lock-wait-reader-mariadb.js'
import {
  cleanStaleOwnerships,
  ensureLockWaitersTable,
  LOCK_WAITERS_TABLE,
  publishOwnership,
  readOwnerships,
  withdrawOwnership,
} from '../../src/deadlock/ownership-registry.js'
import { knexQueryRunner, mysql2QueryRunner } from '../../src/deadlock/query-runner.js'
import { detectServerFlavor } from '../../src/deadlock/server-flavor.js'
import type { LockWaitEdge, TransactionOwnership } from '../../src/deadlock/types.js'
import { buildWaitForGraph } from '../../src/deadlock/wait-for-graph.js'

const URL = process.env.SHARDTX_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306'
const BASE = `stx_dl_${process.pid}_${randomBytes(4).toString('hex')}`
/**
 * Two databases of one server stand for two shards. Letter suffixes on purpose: the stale-database
 * sweeper in test/support/shard-databases.ts drops anything matching stx_<base36>_<n>_<hex>_<n>,
 * and `stx_dl_<pid>_<hex>_1` matched it ("dl" read as an ancient base-36 timestamp).
 */
const DB1 = `${BASE}_a`
const DB2 = `${BASE}_b`
/** The INFORMATION_SCHEMA lock views refresh only if last read >= 100 ms earlier: poll slower. */
const POLL_MS = 250
const POLL_LIMIT_MS = 5_000

type Conn = mysql.Connection
let admin: Conn
const opened: Conn[] = []

async function connect(database?: string): Promise<Conn> {
  const conn = await mysql.createConnection({ uri: URL, ...(database ? { database } : {}) })
  opened.push(conn)
  // A KILLed idle connection reports on the connection itself, not on a query.
  conn.on('error', () => undefined)
  // A failing test must not hang for the default 50 s.
  await conn.query('SET SESSION innodb_lock_wait_timeout = 10')
  return conn
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `probe` every POLL_MS until it returns a value or POLL_LIMIT_MS pass. */
async function poll<T>(probe: () => Promise<T | undefined>): Promise<{ value: T | undefined; reads: number }> {
  const deadline = performance.now() + POLL_LIMIT_MS
  let reads = 0
  while (performance.now() < deadline) {
    await sleep(POLL_MS)
    reads++
    const value = await probe()
    if (value !== undefined) return { value, reads }
  }
  return { value: undefined, reads }
}

beforeAll(async () => {
  admin = await mysql.createConnection(URL)
  for (const db of [DB1, DB2]) {
    await admin.query(`CREATE DATABASE \`${db}\``)
    await admin.query(`CREATE TABLE \`${db}\`.accounts (id INT PRIMARY KEY, balance INT NOT NULL) ENGINE=InnoDB`)
  }
})

afterEach(async () => {
  // Close every session before the next test (and before DROP DATABASE, which waits for their
  // metadata locks). destroy() closes the socket; the server rolls back what was open.
  for (const conn of opened.splice(0)) conn.destroy()
  await sleep(50)
})

afterAll(async () => {
  for (const db of [DB1, DB2]) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``)
  await admin.end()
})

async function resetBalances(): Promise<void> {
  for (const db of [DB1, DB2]) {
    await admin.query(`DELETE FROM \`${db}\`.accounts`)
    await admin.query(`INSERT INTO \`${db}\`.accounts (id, balance) VALUES (1, 100), (2, 100)`)
  }
}

async function balance(db: string, id: number): Promise<number> {
  const [rows] = await admin.query(`SELECT balance FROM \`${db}\`.accounts WHERE id = ?`, [id])
  return Number((rows as { balance: number }[])[0]!.balance)
}

describe('MariaDB lock-wait reader', () => {
  it('detects the server flavour', async () => {
    expect(await detectServerFlavor(mysql2QueryRunner(admin))).toBe('mariadb')
  })

  it('runs through knex.raw as well as mysql2', async () => {
    // knex's connection types omit mysql2's `uri`; mysql2 accepts it.
    const connection = { uri: URL, database: DB1 } as unknown as string
    const knex = knexFactory({ client: 'mysql2', connection, pool: { min: 0, max: 1 } })
    try {
      const run = knexQueryRunner(knex)
      expect(await detectServerFlavor(run)).toBe('mariadb')
      expect(await run('SELECT ? + ? AS sum', [2, 3])).toEqual([{ sum: 5 }])
      expect(Array.isArray(await createMariaDbLockWaitReader('db1', run).read())).toBe(true)
      expect(await run('DO 1')).toEqual([]) // no rows: not a result header
    } finally {
      await knex.destroy()
    }
  })

  it('reports a real lock wait with connection ids and the bare table name', async () => {
    await resetBalances()
    const a = await connect(DB1)
    const b = await connect(DB1)
    const reader = createMariaDbLockWaitReader('db1', mysql2QueryRunner(await connect()))

    await a.query('BEGIN')
    await a.query('SELECT * FROM accounts WHERE id = 1 FOR UPDATE')
    await b.query('BEGIN')
    const waitStarted = performance.now()
    const blocked = b.query('UPDATE accounts SET balance = balance + 1 WHERE id = 1')

    let seenAt = 0
    const { value: edge, reads } = await poll(async () => {
      // Other sessions on the shared server may be waiting too: look for ours.
      const found = (await reader.read()).find((e) => e.waitingConnectionId === b.threadId)
      if (found) seenAt = performance.now() - waitStarted
      return found
    })
    console.log(`lock wait first seen ${seenAt.toFixed(0)} ms after the UPDATE was sent (${reads} reads, every ${POLL_MS} ms)`)

    expect(edge).toMatchObject({ shard: 'db1', waitingConnectionId: b.threadId, blockingConnectionId: a.threadId, table: 'accounts' })
    expect(edge!.waitingTrxId).toMatch(/^\d+$/)
    expect(edge!.blockingTrxId).toMatch(/^\d+$/)
    expect(edge!.waitSeconds).toBeGreaterThanOrEqual(0)

    // A plain wait behind a transaction that is busy (not waiting) is no deadlock, whoever is known.
    const a0: TransactionOwnership = { transactionId: 'A', startedAt: 1, processId: 'p', connections: [{ shard: 'db1', connectionId: a.threadId! }] }
    const b0: TransactionOwnership = { transactionId: 'B', startedAt: 2, processId: 'p', connections: [{ shard: 'db1', connectionId: b.threadId! }] }
    expect(findDeadlocks(buildWaitForGraph([edge!], [a0, b0])).cycles).toEqual([])
    expect(findDeadlocks(buildWaitForGraph([edge!], [b0])).cycles).toEqual([])

    await a.query('ROLLBACK')
    await blocked
    await b.query('ROLLBACK')
  })

  it('finds and breaks a real cross-database deadlock that InnoDB cannot see', async () => {
    await resetBalances()
    // T1 moves 10 from db1 to db2; T2 moves 7 from db2 to db1: opposite orders. Each
    // transaction has one connection per "shard", as shardtx does, so InnoDB sees two unrelated
    // waits (T1's db2 connection behind T2's; T2's db1 connection behind T1's), never a cycle.
    const t1 = { db1: await connect(DB1), db2: await connect(DB2) }
    const t2 = { db1: await connect(DB1), db2: await connect(DB2) }
    const readers = [
      createMariaDbLockWaitReader('db1', mysql2QueryRunner(await connect(DB1))),
      createMariaDbLockWaitReader('db2', mysql2QueryRunner(await connect(DB2))),
    ]
    const startedAt = Date.now()
    const ownerships: TransactionOwnership[] = [
      {
        transactionId: 'T1',
        startedAt,
        processId: 'p1',
        connections: [
          { shard: 'db1', connectionId: t1.db1.threadId! },
          { shard: 'db2', connectionId: t1.db2.threadId! },
        ],
      },
      {
        transactionId: 'T2',
        startedAt: startedAt + 1,
        processId: 'p2',
        connections: [
          { shard: 'db1', connectionId: t2.db1.threadId! },
          { shard: 'db2', connectionId: t2.db2.threadId! },
        ],
      },
    ]

    for (const c of [t1.db1, t1.db2, t2.db1, t2.db2]) await c.query('BEGIN')
    await t1.db1.query('UPDATE accounts SET balance = balance - 10 WHERE id = 1')
    await t2.db2.query('UPDATE accounts SET balance = balance - 7 WHERE id = 1')
    const t1Blocked = t1.db2.query('UPDATE accounts SET balance = balance + 10 WHERE id = 1')
    const t2Blocked = t2.db1.query('UPDATE accounts SET balance = balance + 7 WHERE id = 1')
    const t2Outcome = t2Blocked.then(
      () => 'completed',
      (err: { code?: string; errno?: number }) => `${err.code ?? ''} ${err.errno ?? ''}`.trim(),
    )
    const deadlockFrom = performance.now()

    // Both readers hit the same server, so both return every edge; the graph dedupes per server.
    const serverOf = () => 'server-1'
    let edges: LockWaitEdge[] = []
    const { value: found, reads } = await poll(async () => {
      edges = (await Promise.all(readers.map((r) => r.read()))).flat()
      const result = findDeadlocks(buildWaitForGraph(edges, ownerships, { serverOf }))
      return result.cycles.length > 0 ? result : undefined
    })
    const detectedAfter = performance.now() - deadlockFrom
    expect(found?.cycles).toHaveLength(1)
    const cycle = found!.cycles[0]!
    expect(cycle.victim.transactionId).toBe('T2') // youngest
    expect(cycle.transactions.map((t) => t.transactionId)).toEqual(['T2', 'T1'])
    expect(cycle.edges.map((e) => e.table)).toEqual(['accounts', 'accounts'])
    const graph = buildWaitForGraph(edges, ownerships, { serverOf })
    expect(graph.stats.duplicateEdges).toBeGreaterThanOrEqual(2)

    // The same decision from ownerships that went through the registry table.
    const registry = mysql2QueryRunner(await connect(DB1))
    await ensureLockWaitersTable(registry)
    for (const o of ownerships) await publishOwnership(registry, o)
    const published = await readOwnerships(registry)
    const viaRegistry = findDeadlocks(buildWaitForGraph(edges, published, { serverOf }))
    expect(viaRegistry.cycles.map((c) => c.victim.transactionId)).toEqual(['T2'])
    for (const o of ownerships) await withdrawOwnership(registry, o.transactionId)

    // Roll the victim back everywhere: KILL CONNECTION on each of its connections.
    const killStarted = performance.now()
    for (const c of cycle.victim.connections) await admin.query(killConnectionSql(c.connectionId))
    await t1Blocked
    const resolvedAfter = performance.now() - killStarted
    await t1.db1.query('COMMIT')
    await t1.db2.query('COMMIT')
    console.log(
      `cross-database deadlock detected ${detectedAfter.toFixed(0)} ms after both waits began (${reads} polls); ` +
        `survivor's UPDATE finished ${resolvedAfter.toFixed(0)} ms after the KILLs; victim saw: ${await t2Outcome}`,
    )

    expect(await t2Outcome).not.toBe('completed')
    // Survivor committed; the victim's -7/+7 are gone on both databases; money conserved.
    expect(await balance(DB1, 1)).toBe(90)
    expect(await balance(DB2, 1)).toBe(110)
    expect((await balance(DB1, 1)) + (await balance(DB2, 1))).toBe(200)
  })
})

describe('ownership registry', () => {
  it('publishes, reads, refreshes, withdraws and cleans stale rows', async () => {
    const run = mysql2QueryRunner(await connect(DB1))
    await ensureLockWaitersTable(run)
    await ensureLockWaitersTable(run) // IF NOT EXISTS
    await admin.query(`DELETE FROM \`${DB1}\`.${LOCK_WAITERS_TABLE}`)

    const t1: TransactionOwnership = {
      transactionId: 'proc-a:1',
      startedAt: 1_700_000_000_001,
      processId: 'proc-a',
      connections: [
        { shard: '-80', connectionId: 11 },
        { shard: '80-', connectionId: 12 },
      ],
    }
    const t2: TransactionOwnership = {
      transactionId: 'proc-b:1',
      startedAt: 1_700_000_000_002,
      processId: 'proc-b',
      connections: [{ shard: '-80', connectionId: 21 }],
    }
    await publishOwnership(run, t1)
    await publishOwnership(run, t2)
    await publishOwnership(run, t1) // refresh: REPLACE, no duplicate rows
    expect(await readOwnerships(run)).toEqual([t1, t2])

    await withdrawOwnership(run, t1.transactionId)
    expect(await readOwnerships(run)).toEqual([t2])

    // A process that died 60 s ago left its row behind.
    const t3: TransactionOwnership = { transactionId: 'proc-dead:9', startedAt: 1, processId: 'proc-dead', connections: [{ shard: '-80', connectionId: 31 }] }
    await publishOwnership(run, t3)
    await admin.query(`UPDATE \`${DB1}\`.${LOCK_WAITERS_TABLE} SET published_at = UTC_TIMESTAMP(3) - INTERVAL 60 SECOND WHERE transaction_id = ?`, [
      t3.transactionId,
    ])
    expect(await readOwnerships(run, { maxAgeSeconds: 10 })).toEqual([t2])
    expect((await readOwnerships(run, { maxAgeSeconds: 120 })).map((o) => o.transactionId)).toEqual(['proc-b:1', 'proc-dead:9'])
    expect(await cleanStaleOwnerships(run, { maxAgeSeconds: 10 })).toBe(1)
    const [left] = await admin.query(`SELECT transaction_id FROM \`${DB1}\`.${LOCK_WAITERS_TABLE} ORDER BY transaction_id`)
    expect((left as { transaction_id: string }[]).map((r) => r.transaction_id)).toEqual(['proc-b:1'])
    expect(await cleanStaleOwnerships(run, { maxAgeSeconds: 10 })).toBe(0)

    await expect(publishOwnership(run, { ...t2, connections: [] })).rejects.toThrow(TypeError)
    await expect(publishOwnership(run, { ...t2, connections: [{ shard: 'x', connectionId: 0 }] })).rejects.toThrow(/connectionId/)
    await expect(readOwnerships(run, { maxAgeSeconds: 0 })).rejects.toThrow(/maxAgeSeconds/)
  })

  it('publishing from another connection is visible at once, even while the owner waits', async () => {
    // The waiter's own connection is blocked; the registry write goes through a pooled autocommit
    // connection and another process reads it immediately.
    const writer = mysql2QueryRunner(await connect(DB1))
    const otherProcess = mysql2QueryRunner(await connect(DB1))
    await ensureLockWaitersTable(writer)
    const t: TransactionOwnership = { transactionId: 'proc-c:5', startedAt: Date.now(), processId: 'proc-c', connections: [{ shard: 'db1', connectionId: 77 }] }
    await publishOwnership(writer, t)
    expect((await readOwnerships(otherProcess)).some((o) => o.transactionId === 'proc-c:5')).toBe(true)
    await withdrawOwnership(writer, t.transactionId)
    expect((await readOwnerships(otherProcess)).some((o) => o.transactionId === 'proc-c:5')).toBe(false)
  })
})
