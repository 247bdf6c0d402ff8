/**
 * Which MySQL/MariaDB server the tests use, and an admin connection to it.
 *
 * Tests always run against a real server (never a mock): `SHARDTX_TEST_MYSQL_URL`, or the MariaDB
 * that runs on this machine by default. The user needs CREATE/DROP DATABASE because every test run
 * creates its own shard databases (see `shard-databases.ts`).
 */
import { redactUrl } from '../../src/config/connection.js'
import mysql from 'mysql2/promise'

/** The default server: the MariaDB that the development machine and CI run on port 3306. */
const DEFAULT_URL = 'mysql://root@127.0.0.1:3306'

/** How to get a server, repeated in every "cannot connect" error so nobody has to look it up. */
const HOW_TO_FIX =
  'Set SHARDTX_TEST_MYSQL_URL=mysql://user:pass@host:port to a MySQL 8 / MariaDB 10.6+ server ' +
  'whose user can CREATE/DROP DATABASE, or start the local one: ' +
  'mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld && ' +
  'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd'

/** Connection fields taken from a `mysql://` URL. */
export interface ServerAddress {
  host: string
  port: number
  user: string
  password: string
  /** Database in the URL path, if any. Tests normally leave it out. */
  database?: string
}

/**
 * The URL of the server tests use: `SHARDTX_TEST_MYSQL_URL`, else `mysql://root@127.0.0.1:3306`.
 *
 * @example
 * ```ts
 * // SHARDTX_TEST_MYSQL_URL=mysql://ci:secret@db:3306 npx vitest run --project integration
 * testServerUrl() // 'mysql://ci:secret@db:3306'
 * ```
 */
export function testServerUrl(): string {
  return process.env.SHARDTX_TEST_MYSQL_URL ?? DEFAULT_URL
}

/**
 * Splits a `mysql://user:pass@host:port/db` URL into connection fields (user and password are
 * percent-decoded; the port defaults to 3306, the user to root).
 *
 * @example
 * ```ts
 * parseServerUrl('mysql://app:s%40cret@10.0.0.5:3307')
 * // { host: '10.0.0.5', port: 3307, user: 'app', password: 's@cret' }
 * ```
 */
export function parseServerUrl(url: string): ServerAddress {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // The raw string may contain a password, so it is not echoed back.
    throw new TypeError(`test server URL is not a valid URL (${redactUrl(url)}); expected mysql://user:pass@host:port`)
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new TypeError(`test server URL must start with mysql://, got ${parsed.protocol}// (${redactUrl(url)})`)
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: parsed.username ? decodeURIComponent(parsed.username) : 'root',
    password: decodeURIComponent(parsed.password),
    ...(database ? { database } : {}),
  }
}

/** The library's own redaction (hides everything up to the last `@`), so tests and shardtx agree. */
export { redactUrl }

let raisedMaxConnections: Promise<void> | undefined

/**
 * Opens a mysql2/promise connection (no default database) to the test server as its admin user.
 * Fails within ~3 s with a message that names the URL tried (password redacted), the underlying
 * error and how to provide a server. Close it with `await conn.end()`.
 *
 * @example
 * ```ts
 * const admin = await adminConnection()
 * try { await admin.query('CREATE DATABASE scratch') } finally { await admin.end() }
 * ```
 */
export async function adminConnection(url: string = testServerUrl()): Promise<mysql.Connection> {
  const address = parseServerUrl(url)
  let conn: mysql.Connection
  try {
    conn = await mysql.createConnection({ ...address, connectTimeout: 3_000 })
  } catch (err) {
    throw new Error(`Cannot connect to the test MySQL server at ${redactUrl(url)}: ${describeError(err)}. ${HOW_TO_FIX}`, { cause: err })
  }
  raisedMaxConnections ??= raiseMaxConnections(conn)
  await raisedMaxConnections
  return conn
}

/**
 * Throws (see {@link adminConnection}) unless the test server answers `SELECT 1`. Call it in a
 * `beforeAll` to fail a suite with one clear message instead of one timeout per test.
 *
 * @example
 * ```ts
 * beforeAll(() => assertServerReachable())
 * ```
 */
export async function assertServerReachable(url: string = testServerUrl()): Promise<void> {
  const conn = await adminConnection(url)
  try {
    await conn.query('SELECT 1')
  } finally {
    await conn.end()
  }
}

/**
 * Tests open many pools at once (64-worker fault tests, one pool per shard per test file), and the
 * MariaDB default of 151 connections runs out. Raise it once per process when we are allowed to;
 * a user without SUPER simply keeps the server's value.
 */
async function raiseMaxConnections(conn: mysql.Connection): Promise<void> {
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.max_connections AS n')
    if (Number(rows[0]?.n) < 1000) await conn.query('SET GLOBAL max_connections = 1000')
  } catch {
    // Not permitted (or not supported): the tests still run, just with fewer spare connections.
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    // AggregateError (IPv4 + IPv6 attempts) has an empty message; its parts say what happened.
    const parts = err instanceof AggregateError ? err.errors.map((e) => describeError(e)).join('; ') : err.message
    return [typeof code === 'string' ? code : undefined, parts].filter(Boolean).join(' ')
  }
  return String(err)
}
