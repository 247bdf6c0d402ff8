import mysql from 'mysql2/promise'
import type { ConnectionSettings } from '../config/connection.js'
import { mysql2Options } from '../config/mysql2-options.js'
import type { QueryRunner } from './query-runner.js'
import { attachServerReader, type ServerReaderHandle, type TimedLockWaits } from './shared-server-reader.js'

/** Connections per server for the detector: reads, ownership rows and KILLs are short and few. */
const DETECTOR_POOL_SIZE = 8
/** Requests queued for a detector connection at most; beyond that a request fails at once (bounded). */
const DETECTOR_QUEUE_LIMIT = 1_000
/** Longest a detector statement may take, connection included; a hung server fails it, the detector carries on. */
export const DETECTOR_STATEMENT_TIMEOUT_MS = 5_000
/** Idle detector connections close after this; they exist only while something waits. */
const DETECTOR_IDLE_TIMEOUT_MS = 10_000

/**
 * Shards on one server share its connection ids and its lock views. Servers are recognised by the
 * address they are configured with: give every shard of a server the same host and port (or socket).
 *
 * @example
 * ```ts
 * serverKeyOf({ host: '10.0.0.5', port: 3306, user: 'app', password: '', database: 'app_s0' }) // 'server:10.0.0.5:3306'
 * ```
 */
export function serverKeyOf(settings: ConnectionSettings): string {
  return settings.socketPath !== undefined ? `server:${settings.socketPath}` : `server:${settings.host.toLowerCase()}:${settings.port}`
}

/** What the detector needs from the servers; an interface so unit tests can script it. */
export interface ServerAccess {
  /** The server of a shard, or of a server key (which maps to itself). */
  serverOf(shard: string): string
  /** Runs a statement on one of the detector's own connections to `server` (never a transaction's, never a pooled app connection). */
  run(server: string, sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>
  /** Reads the server's lock waits through the process-wide throttled reader. */
  readLockWaits(server: string): Promise<TimedLockWaits>
  close(): Promise<void>
}

/**
 * The detector's connections: a small mysql2 pool per server, opened on first use (that is, only
 * once a statement has waited past the threshold), with the database of the server's first shard
 * in canonical order, so the coordinator's pool sees the ownership table.
 *
 * Why not the shards' own pools: in a deadlock every pooled connection may be held by a blocked
 * transaction (64 workers, pool.max 10), and a detector waiting for one of them would wait for
 * the deadlock it is meant to break.
 *
 * @example
 * ```ts
 * const servers = new DetectorServers(['-80', '80-'], config.connections, 2_000)
 * const { edges } = await servers.readLockWaits(servers.serverOf('-80'))
 * await servers.close()
 * ```
 */
export class DetectorServers implements ServerAccess {
  readonly #serverOfShard = new Map<string, string>()
  readonly #settings = new Map<string, ConnectionSettings>()
  readonly #pools = new Map<string, mysql.Pool>()
  readonly #readers = new Map<string, ServerReaderHandle>()
  readonly #connectTimeoutMs: number
  #closed = false

  /** `shards` in canonical order. */
  constructor(shards: readonly string[], connections: ReadonlyMap<string, ConnectionSettings>, connectTimeoutMs: number) {
    this.#connectTimeoutMs = connectTimeoutMs
    for (const shard of shards) {
      const settings = connections.get(shard)
      if (settings === undefined) throw new Error(`shardtx internal error: no connection settings for shard ${shard}`)
      const server = serverKeyOf(settings)
      this.#serverOfShard.set(shard, server)
      if (!this.#settings.has(server)) this.#settings.set(server, settings)
    }
  }

  serverOf(shard: string): string {
    return this.#serverOfShard.get(shard) ?? shard
  }

  run(server: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    const pool = this.#pool(server)
    return withDeadline(
      pool
        .query({ sql, values: params, timeout: DETECTOR_STATEMENT_TIMEOUT_MS })
        .then(([rows]) => (Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [])),
      DETECTOR_STATEMENT_TIMEOUT_MS,
      `${sql.split(/\s/, 1)[0]} on ${server}`,
    )
  }

  readLockWaits(server: string): Promise<TimedLockWaits> {
    let reader = this.#readers.get(server)
    if (reader === undefined) {
      reader = attachServerReader(server, (sql, params) => this.run(server, sql, params))
      this.#readers.set(server, reader)
    }
    return reader.read()
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const reader of this.#readers.values()) reader.detach()
    this.#readers.clear()
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    // end() waits for statements still queued on a connection; a hung server must not hang destroy().
    await Promise.all(pools.map((p) => withDeadline(p.end(), DETECTOR_STATEMENT_TIMEOUT_MS, 'closing the detector connections').catch(() => undefined)))
  }

  #pool(server: string): mysql.Pool {
    if (this.#closed) throw new Error('shardtx: the deadlock detector was stopped (db.destroy())')
    let pool = this.#pools.get(server)
    if (pool === undefined) {
      const settings = this.#settings.get(server)
      if (settings === undefined) throw new Error(`shardtx internal error: unknown server ${server}`)
      pool = mysql.createPool({
        ...mysql2Options(settings),
        connectTimeout: this.#connectTimeoutMs,
        connectionLimit: DETECTOR_POOL_SIZE,
        maxIdle: DETECTOR_POOL_SIZE,
        idleTimeout: DETECTOR_IDLE_TIMEOUT_MS,
        queueLimit: DETECTOR_QUEUE_LIMIT,
        supportBigNumbers: true,
      })
      this.#pools.set(server, pool)
    }
    return pool
  }
}

/** `work`, or a rejection after `ms` (the work itself is bounded by the statement timeout too). */
function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`shardtx deadlock detector: ${what} took longer than ${ms} ms`), { code: 'ETIMEDOUT' })), ms)
    timer.unref()
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}

/**
 * A runner bound to one server, in the building blocks' shape.
 *
 * @example
 * ```ts
 * await publishOwnership(runnerOf(servers, servers.serverOf('-80')), ownership)
 * ```
 */
export function runnerOf(servers: ServerAccess, server: string): QueryRunner {
  return (sql, params) => servers.run(server, sql, params)
}
