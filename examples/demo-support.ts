/**
 * Creates the demo's shard databases on a local server, with a message that says how to provide
 * one when none answers.
 */
import mysql from 'mysql2/promise'

export interface DemoShards {
  /** Shard name -> connection settings, as createShardedDb takes them. */
  shards: Record<string, { host: string; port: number; user: string; password: string; database: string }>
  databases: string[]
  /** `host:port` of the server, without credentials. */
  serverLabel: string
  query(shard: string, sql: string, params?: unknown[]): Promise<any[]>
  close(): Promise<void>
}

const SCHEMA = [
  'CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner VARCHAR(64) NOT NULL, balance BIGINT NOT NULL) ENGINE=InnoDB',
  'CREATE TABLE ledger (transfer_id VARCHAR(64) NOT NULL, account_id BIGINT NOT NULL, amount BIGINT NOT NULL, PRIMARY KEY (transfer_id, account_id)) ENGINE=InnoDB',
  'CREATE TABLE notifications (user_id BIGINT NOT NULL, message VARCHAR(200) NOT NULL, PRIMARY KEY (user_id, message)) ENGINE=InnoDB',
  'CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB',
]

export async function prepareDemoShards(): Promise<DemoShards> {
  const url = new URL(process.env.SHARDTX_DEMO_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306')
  const server = {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username) || 'root',
    password: decodeURIComponent(url.password),
  }
  const serverLabel = `${server.host}:${server.port}`
  let admin: mysql.Connection
  try {
    admin = await mysql.createConnection({ ...server, connectTimeout: 3000 })
  } catch (err) {
    throw new Error(
      `no MySQL/MariaDB server answered at ${serverLabel} (${(err as Error).message}). ` +
        `Start one (Debian: apt-get install mariadb-server, then start-stop-daemon --start --background --exec /usr/sbin/mariadbd) ` +
        `or point SHARDTX_DEMO_MYSQL_URL at one whose user may CREATE DATABASE, e.g. mysql://user:password@host:3306`,
    )
  }
  const names = ['-80', '80-']
  const databases = ['shardtx_demo_s0', 'shardtx_demo_s1']
  for (const db of databases) {
    await admin.query(`DROP DATABASE IF EXISTS \`${db}\``)
    await admin.query(`CREATE DATABASE \`${db}\``)
  }
  await admin.end()
  const connections = new Map<string, mysql.Connection>()
  for (const [i, name] of names.entries()) {
    const conn = await mysql.createConnection({ ...server, database: databases[i] })
    for (const ddl of SCHEMA) await conn.query(ddl)
    connections.set(name, conn)
  }
  return {
    shards: Object.fromEntries(names.map((n, i) => [n, { ...server, database: databases[i]! }])),
    databases,
    serverLabel,
    async query(shard, sql, params = []) {
      const [rows] = await connections.get(shard)!.query(sql, params)
      return rows as any[]
    },
    close: async () => {
      await Promise.all([...connections.values()].map((c) => c.end()))
    },
  }
}
