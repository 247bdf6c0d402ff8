/**
 * A fresh set of shard databases on the test server for one test file (or one test).
 *
 * Names look like `stx_<time>_<pid>_<random>_<index>`, unique per call, per process and per
 * machine, so test files, parallel runs and several developers can share one server. Each set is
 * guarded by a MySQL named lock held for its lifetime: the server releases the lock when the
 * owning process dies, which is how a later run knows the databases are garbage (this works across
 * machines and containers, where checking a pid would not).
 */
import crypto from 'node:crypto'
import mysql from 'mysql2/promise'
import { adminConnection, parseServerUrl, testServerUrl } from './test-server.js'

/** Connection fields of one shard database, in the shape `createShardedDb({ shards })` accepts. */
export interface TestShardConnection {
  host: string
  port: number
  user: string
  password: string
  database: string
}

export interface TestShards {
  /** shard name -> connection object { host, port, user, password, database } usable by createShardedDb */
  shards: Record<string, TestShardConnection>
  /** Shard names in the order given. */
  names: string[]
  /** Actual database names, in the same order as `names`. */
  databases: string[]
  /** Run SQL on every shard database (e.g. CREATE TABLE); several `;`-separated statements are allowed. */
  execAll(sql: string): Promise<void>
  /**
   * Run SQL on one shard, returning its rows (`[]` for statements without a result set).
   * Values go in `params` as `?` placeholders.
   */
  query<T = any>(shard: string, sql: string, params?: unknown[]): Promise<T[]>
  /** Drop the databases and close every connection this object opened. Safe to call twice. */
  drop(): Promise<void>
}

/** Databases this module creates; nothing else is ever dropped by the hygiene below. */
// Exactly our shape: 8 base-36 digits of Date.now() (true from 1973 to 2059) and 8 hex digits of
// randomness, so other people's `stx_*` names (e.g. `stx_dl_...`) are never mistaken for ours.
const NAME_PATTERN = /^stx_([0-9a-z]{8})_(\d+)_([0-9a-f]{8})_(\d+)$/

/** Databases older than this are dropped even if their owner still seems alive (leaked lock connection). */
const MAX_AGE_MS = 6 * 60 * 60 * 1000

let staleCleanup: Promise<number> | undefined

/**
 * Creates one empty database per shard name on the test server and returns connection objects
 * for them plus small helpers. Call `drop()` in `afterAll`.
 *
 * @example
 * ```ts
 * let t: TestShards
 * beforeAll(async () => {
 *   t = await createTestShards({ names: ['-80', '80-'] })
 *   await t.execAll('CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance INT NOT NULL)')
 * })
 * afterAll(() => t.drop())
 * test('routes', async () => {
 *   const db = createShardedDb({ shards: t.shards, tables: { accounts: { shardKey: 'id' } } })
 *   // ...
 *   expect(await t.query('-80', 'SELECT id FROM accounts')).toEqual([{ id: 1 }])
 * })
 * ```
 */
export async function createTestShards(opts: { names: string[]; server?: string }): Promise<TestShards> {
  const names = opts.names
  if (!Array.isArray(names) || names.length === 0) {
    throw new TypeError(`createTestShards: names must be a non-empty array of shard names, got ${JSON.stringify(names)}`)
  }
  if (new Set(names).size !== names.length) {
    throw new TypeError(`createTestShards: shard names must be distinct, got ${JSON.stringify(names)}`)
  }
  const url = opts.server ?? testServerUrl()
  const address = parseServerUrl(url)

  // Hygiene first (once per process, and per default server only), so a crashed earlier run
  // does not leave hundreds of databases behind.
  if (opts.server === undefined) {
    staleCleanup ??= dropStaleTestDatabases().catch(() => 0)
    await staleCleanup
  }

  const prefix = `stx_${Date.now().toString(36)}_${process.pid}_${crypto.randomBytes(4).toString('hex')}`
  const databases = names.map((_, i) => `${prefix}_${i}`)

  // The lock connection lives as long as the databases; it must not keep the process alive if a
  // test forgets drop(), so its socket is unref'd once the lock is held.
  const lockConn = await adminConnection(url)
  const shardConns = new Map<string, Promise<mysql.Connection>>()
  let dropped: Promise<void> | undefined

  try {
    const [lockRows] = await lockConn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [prefix])
    if (Number(lockRows[0]?.got) !== 1) throw new Error(`could not take the named lock ${prefix}`)
    for (const db of databases) await lockConn.query(`CREATE DATABASE \`${db}\``)
    setRef(lockConn, false)
  } catch (err) {
    await dropDatabases(lockConn, databases).catch(() => {})
    await lockConn.end().catch(() => {})
    throw err
  }

  const shards: Record<string, TestShardConnection> = {}
  names.forEach((name, i) => {
    shards[name] = { host: address.host, port: address.port, user: address.user, password: address.password, database: databases[i]! }
  })

  function shardConnection(shard: string): Promise<mysql.Connection> {
    if (dropped) return Promise.reject(new Error(`createTestShards: shard ${shard} used after drop()`))
    const target = shards[shard]
    if (!target) {
      return Promise.reject(new TypeError(`createTestShards: unknown shard ${JSON.stringify(shard)}; known: ${JSON.stringify(names)}`))
    }
    let conn = shardConns.get(shard)
    if (!conn) {
      // One connection per shard, created on first use: set-up SQL is sequential anyway, and
      // multipleStatements lets one execAll() carry a whole schema.
      conn = mysql.createConnection({ ...target, connectTimeout: 3_000, multipleStatements: true })
      shardConns.set(shard, conn)
      conn.catch(() => shardConns.delete(shard))
    }
    return conn
  }

  return {
    shards,
    names: [...names],
    databases,
    async execAll(sql) {
      await Promise.all(names.map(async (name) => (await shardConnection(name)).query(sql)))
    },
    async query<T = any>(shard: string, sql: string, params?: unknown[]): Promise<T[]> {
      const conn = await shardConnection(shard)
      const [rows] = await conn.query(sql, params)
      return (Array.isArray(rows) ? rows : []) as T[]
    },
    drop() {
      dropped ??= (async () => {
        const conns = await Promise.allSettled(shardConns.values())
        await Promise.all(conns.map((c) => (c.status === 'fulfilled' ? c.value.end().catch(() => {}) : undefined)))
        setRef(lockConn, true) // so that the process cannot exit half-way through the DROPs
        try {
          await dropDatabases(lockConn, databases)
        } finally {
          await lockConn.end().catch(() => {})
        }
      })()
      return dropped
    },
  }
}

/**
 * Drops `stx_*` databases left by test processes that are gone: their named lock is free (the
 * owner's connection closed, i.e. it exited or crashed), or they are older than 6 hours. Returns
 * how many it dropped. `createTestShards` calls it once per process; call it by hand to clean a
 * shared server.
 *
 * @example
 * ```ts
 * const n = await dropStaleTestDatabases()   // e.g. 12 after a run that was killed with ^C
 * ```
 */
export async function dropStaleTestDatabases(url: string = testServerUrl()): Promise<number> {
  const conn = await adminConnection(url)
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>("SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'stx\\_%'")
    let dropped = 0
    for (const { name } of rows as { name: string }[]) {
      const m = NAME_PATTERN.exec(name)
      if (!m) continue
      const createdAt = parseInt(m[1]!, 36)
      const lock = `stx_${m[1]}_${m[2]}_${m[3]}`
      const [held] = await conn.query<mysql.RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS owner', [lock])
      const ownerGone = held[0]?.owner == null
      if (ownerGone || Date.now() - createdAt > MAX_AGE_MS) {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``)
        dropped++
      }
    }
    return dropped
  } finally {
    await conn.end()
  }
}

async function dropDatabases(conn: mysql.Connection, databases: string[]): Promise<void> {
  for (const db of databases) await conn.query(`DROP DATABASE IF EXISTS \`${db}\``)
}

/** mysql2 keeps its socket on the callback-style connection behind the promise wrapper. */
function setRef(conn: mysql.Connection, ref: boolean): void {
  const stream = (conn as unknown as { connection?: { stream?: { ref?: () => void; unref?: () => void } } }).connection?.stream
  if (ref) stream?.ref?.()
  else stream?.unref?.()
}
