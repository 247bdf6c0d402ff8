/**
 * The hardware floor of bench/overhead: the workloads' SQL sent by hand on a pooled mysql2
 * connection, BEGIN ... COMMIT, with no query builder and no transaction library.
 */
import mysql from 'mysql2'
import type { RawWork } from './overhead-workloads.js'

/** A raw mysql2 pool running one workload per transaction. */
export interface RawSide {
  transaction(work: RawWork, id: number, seq: number): Promise<void>
  end(): Promise<void>
}

/**
 * @example
 * ```ts
 * const raw = rawMysql2Side(connection, 16)
 * await raw.transaction(WORKLOADS['5 statements'].raw, 42, 1)
 * ```
 */
export function rawMysql2Side(connection: mysql.PoolOptions, size: number): RawSide {
  const pool = mysql.createPool({ ...connection, connectionLimit: size, maxIdle: size })
  const acquire = () => new Promise<mysql.PoolConnection>((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))))
  return {
    async transaction(work, id, seq) {
      const conn = await acquire()
      const query = (sql: string, values: unknown[]) =>
        new Promise<unknown>((resolve, reject) => conn.query(sql, values, (err, rows) => (err ? reject(err) : resolve(rows))))
      try {
        await query('BEGIN', [])
        await work(query, id, seq)
        await query('COMMIT', [])
      } catch (err) {
        await query('ROLLBACK', []).catch(() => undefined)
        throw err
      } finally {
        conn.release()
      }
    },
    end: () => new Promise<void>((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve()))),
  }
}
