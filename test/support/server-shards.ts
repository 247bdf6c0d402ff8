/**
 * Shards on separate `mariadbd` processes, one server per shard, for fault tests: each shard can
 * be SIGKILLed, SIGSTOPped and restarted without touching the others. The returned object has the
 * shape of {@link TestShards}, so `setupBank()` and friends work on it unchanged.
 */
import mysql from 'mysql2/promise'
import type { TestShards } from './shard-databases.js'
import { prepareMariadbTemplate, startMariadb, type MariadbProcess } from './mariadb-process.js'

export interface ServerShards extends TestShards {
  /** The server of each shard, to kill / pause / resume / restart. */
  servers: Record<string, MariadbProcess>
}

/** Every shard's database has this name, on its own server. */
const DATABASE = 'app'

/**
 * Starts one MariaDB server per shard name (in parallel), creates the `app` database on each, and
 * returns connection objects for `createShardedDb({ shards })`. Call `drop()` in `afterAll`: it
 * stops every server and removes its datadir.
 *
 * @example
 * ```ts
 * const shards = await startServerShards({ names: keyrangeNames(4) })
 * const bank = await setupBank(shards, { perShard: 8 })
 * await shards.servers['-40']!.kill()      // SIGKILL that shard only
 * await shards.servers['-40']!.restart()
 * afterAll(() => shards.drop())
 * ```
 */
export async function startServerShards(opts: { names: string[]; extraArgs?: string[] }): Promise<ServerShards> {
  await prepareMariadbTemplate() // once, before starting servers in parallel
  const started = await Promise.allSettled(
    opts.names.map((name) => startMariadb({ name: `shard${name}`, ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}) })),
  )
  const failed = started.find((r) => r.status === 'rejected')
  if (failed) {
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)))
    throw (failed as PromiseRejectedResult).reason
  }
  const servers: Record<string, MariadbProcess> = {}
  opts.names.forEach((name, i) => {
    servers[name] = (started[i] as PromiseFulfilledResult<MariadbProcess>).value
  })
  for (const name of opts.names) {
    await withConnection(servers[name]!, undefined, (c) => c.query(`CREATE DATABASE ${DATABASE}`))
  }

  const shards: TestShards['shards'] = {}
  for (const name of opts.names) {
    shards[name] = { host: '127.0.0.1', port: servers[name]!.port, user: 'root', password: '', database: DATABASE }
  }
  let dropped: Promise<void> | undefined
  return {
    servers,
    shards,
    names: [...opts.names],
    databases: opts.names.map(() => DATABASE),
    async execAll(sql) {
      await Promise.all(opts.names.map((name) => withConnection(servers[name]!, DATABASE, (c) => c.query(sql))))
    },
    async query<T = any>(shard: string, sql: string, params?: unknown[]): Promise<T[]> {
      const server = servers[shard]
      if (!server) throw new TypeError(`startServerShards: unknown shard ${JSON.stringify(shard)}; known: ${JSON.stringify(opts.names)}`)
      const [rows] = await withConnection(server, DATABASE, (c) => c.query(sql, params))
      return (Array.isArray(rows) ? rows : []) as T[]
    },
    drop() {
      dropped ??= Promise.all(Object.values(servers).map((s) => s.stop())).then(() => undefined)
      return dropped
    },
  }
}

/** A short-lived connection per call: a shard may have been killed and restarted since the last one. */
async function withConnection<T>(server: MariadbProcess, database: string | undefined, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: server.port,
    user: 'root',
    connectTimeout: 5_000,
    multipleStatements: true,
    ...(database ? { database } : {}),
  })
  try {
    return await fn(conn)
  } finally {
    await conn.end().catch(() => undefined)
  }
}
