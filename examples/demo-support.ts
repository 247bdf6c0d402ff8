/**
 * What the demo's sections share: the shard databases on a local server (created, or dropped with
 * `--clean`), the tables (db.migrate.latest() with examples/demo-migrations), and the output:
 * numbered headings and short lines, colour only on a terminal that wants it, JSON with `--json`.
 */
import { fileURLToPath } from 'node:url'
import mysql from 'mysql2/promise'
import type { ShardedDb, ShardtxLogger } from '../src/index.js'

export interface DemoShards {
  /** Shard name -> connection settings, as createShardedDb takes them. */
  shards: Record<string, { host: string; port: number; user: string; password: string; database: string }>
  databases: string[]
  /** `host:port` of the server, without credentials. */
  serverLabel: string
  query(shard: string, sql: string, params?: unknown[]): Promise<any[]>
  close(): Promise<void>
}

/** What every section gets, and returns: one line for the closing summary. */
export interface DemoContext {
  db: ShardedDb
  shards: DemoShards
  out: DemoOutput
}
export type DemoSection = (ctx: DemoContext) => Promise<string>

/** The two databases, one per shard; SHARDTX_DEMO_DATABASES=a,b picks others (test/integration/demo.test.ts does). */
export const DEMO_DATABASES = demoDatabases(process.env.SHARDTX_DEMO_DATABASES)

function demoDatabases(setting: string | undefined): string[] {
  const names = (setting ?? 'shardtx_demo_s0,shardtx_demo_s1').split(',').map((n) => n.trim())
  if (names.length !== 2 || !names.every((n) => /^\w{1,64}$/.test(n))) {
    throw new TypeError(`Expected SHARDTX_DEMO_DATABASES to be two database names separated by a comma, got ${JSON.stringify(setting)}`)
  }
  return names
}
const SHARD_NAMES = ['-80', '80-']

/** Where the demo's knex migrations live: one file creating the bank tables. */
export const DEMO_MIGRATIONS = fileURLToPath(new URL('./demo-migrations', import.meta.url))

function serverSettings() {
  const url = new URL(process.env.SHARDTX_DEMO_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306')
  const server = {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username) || 'root',
    password: decodeURIComponent(url.password),
  }
  return { server, serverLabel: `${server.host}:${server.port}` }
}

async function adminConnection(): Promise<{ admin: mysql.Connection; server: ReturnType<typeof serverSettings>['server']; serverLabel: string }> {
  const { server, serverLabel } = serverSettings()
  try {
    return { admin: await mysql.createConnection({ ...server, connectTimeout: 3000 }), server, serverLabel }
  } catch (err) {
    throw new Error(
      `no MySQL/MariaDB server answered at ${serverLabel} (${(err as Error).message}). ` +
        `Start one (Debian: apt-get install mariadb-server, then start-stop-daemon --start --background --exec /usr/sbin/mariadbd) ` +
        `or point SHARDTX_DEMO_MYSQL_URL at one whose user may CREATE DATABASE, e.g. mysql://user:password@host:3306`,
    )
  }
}

/** Creates the demo's shard databases, empty (a previous run's are dropped first). */
export async function prepareDemoShards(): Promise<DemoShards> {
  const { admin, server, serverLabel } = await adminConnection()
  for (const db of DEMO_DATABASES) {
    await admin.query(`DROP DATABASE IF EXISTS \`${db}\``)
    await admin.query(`CREATE DATABASE \`${db}\``)
  }
  await admin.end()
  const connections = new Map<string, mysql.Connection>()
  for (const [i, name] of SHARD_NAMES.entries()) connections.set(name, await mysql.createConnection({ ...server, database: DEMO_DATABASES[i] }))
  return {
    shards: Object.fromEntries(SHARD_NAMES.map((n, i) => [n, { ...server, database: DEMO_DATABASES[i]! }])),
    databases: DEMO_DATABASES,
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

/** `npm run demo -- --clean`: drops the demo's databases. Returns the ones that existed. */
export async function dropDemoDatabases(): Promise<string[]> {
  const { admin } = await adminConnection()
  try {
    const dropped: string[] = []
    for (const db of DEMO_DATABASES) {
      const [rows] = await admin.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = ?', [db])
      if ((rows as unknown[]).length === 0) continue
      await admin.query(`DROP DATABASE \`${db}\``)
      dropped.push(db)
    }
    return dropped
  } finally {
    await admin.end()
  }
}

/** Headings, lines and log events, as the demo prints them. */
export interface DemoOutput {
  /** Prints the next numbered heading: `1. Routing ...`. */
  heading(title: string): void
  /** One indented line. */
  line(text: string): void
  /** The logger the demo's ShardedDb writes to: one short line per event, JSON with `--json`. */
  logger: ShardtxLogger
  /** `--json`: log events as one JSON object per line, as a log pipeline receives them. */
  json: boolean
}

/**
 * Output for the demo. Bold headings only where colour is wanted: a terminal (`hasColors()` is
 * false for pipes and files, and honours NO_COLOR, FORCE_COLOR and TERM=dumb).
 */
export function demoOutput(
  options: { json: boolean },
  stream: Pick<NodeJS.WriteStream, 'write'> & { hasColors?: (env?: object) => boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): DemoOutput {
  const colour = typeof stream.hasColors === 'function' && stream.hasColors(env)
  const bold = (text: string) => (colour ? `\x1b[1m${text}\x1b[22m` : text)
  const dim = (text: string) => (colour ? `\x1b[2m${text}\x1b[22m` : text)
  let section = 0
  const write = (text: string) => stream.write(`${text}\n`)
  const event = (level: string) => (obj: object, msg?: string) => {
    if (options.json) write(`  ${dim(`log ${level}`)} ${JSON.stringify(obj)}`)
    else write(`  ${dim(`log ${level}`)} ${(msg ?? JSON.stringify(obj)).replace(/^shardtx: /, '')}`)
  }
  return {
    json: options.json,
    heading: (title) => write(`\n${bold(`${++section}. ${title}`)}`),
    line: (text) => write(`  ${text}`),
    // Info and above, like a service's logger in production: debug events are not even built.
    logger: { error: event('error'), warn: event('warn'), info: event('info'), debug: () => {}, isLevelEnabled: (level) => level !== 'debug' },
  }
}
