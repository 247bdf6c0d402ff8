import mysql from 'mysql2'
import type { ConnectionSettings } from '../config/connection.js'
import { mysql2Options } from '../config/mysql2-options.js'
import { isConnectionError } from './connection-errors.js'

/** Checks whether a shard answers; resolves when alive, rejects with the reason when not. */
export type ShardProbe = (shard: string, timeoutMs: number) => Promise<void>

/**
 * A probe that opens a fresh connection (never a pooled one: those may be stuck behind a hung
 * statement) and runs `SELECT 1`, all within `timeoutMs`, then closes the socket.
 *
 * Any reply from the server counts as alive, errors included (too many connections, access
 * denied): the server is running, and the transactions that use it will get that error with its
 * own message. Only a connection that cannot be made or gets no answer in time counts as dead.
 * The probe does not select the shard's database, so a dropped database does not look like a
 * dead server.
 *
 * @example
 * ```ts
 * const probe = connectionProbe(new Map([['-80', settings]]))
 * await probe('-80', 1000) // rejects with code ECONNREFUSED / ETIMEDOUT when the shard is down
 * ```
 */
export function connectionProbe(connections: ReadonlyMap<string, ConnectionSettings>): ShardProbe {
  return (shard, timeoutMs) => {
    const settings = connections.get(shard)
    if (settings === undefined) return Promise.reject(new Error(`shardtx internal error: no connection settings for shard ${shard}`))
    return probeOnce(settings, timeoutMs)
  }
}

function probeOnce(settings: ConnectionSettings, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const connection = mysql.createConnection({ ...mysql2Options(settings, { database: false }), connectTimeout: timeoutMs })
    let settled = false
    const finish = (err: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // destroy() only half-closes (FIN) and keeps waiting for the server; a hung server would
      // keep the socket open, so the stream is destroyed too.
      connection.destroy()
      ;(connection as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.()
      if (err === undefined || !isConnectionError(err)) resolve()
      else reject(err)
    }
    const timer = setTimeout(() => {
      finish(Object.assign(new Error(`no answer to the health probe (connect and SELECT 1) within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }))
    }, timeoutMs)
    timer.unref()
    connection.on('error', (err) => finish(err))
    connection.query('SELECT 1', (err) => finish(err ?? undefined))
  })
}
