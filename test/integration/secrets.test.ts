/**
 * Passwords and key values end-to-end on the real server. A MySQL user with a password full of
 * URL-significant characters connects through a URL shard and an object shard; then every path
 * that produces text runs: commits, a cross-shard warning, retries, a failing statement, a
 * statement timeout, a shard that refuses connections (errors, health events, knex's own log
 * lines), a wrong password. Nothing shardtx logs or throws, and nothing `util.inspect` or
 * `JSON.stringify` shows, contains the password (plain or percent-encoded). Shard key values
 * appear in errors only with `warnings.logKeyValues: true`.
 */
import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShardedDb, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { captureLogger } from '../faults/capture-logger.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { adminConnection, parseServerUrl, testServerUrl } from '../support/test-server.js'

const USER = `stx_sec_${randomBytes(4).toString('hex')}`
/** Distinctive, and full of characters that URLs and SQL treat specially. */
const PASSWORD = `Pw-${randomBytes(6).toString('hex')}-@:/%#?'"`
const ENCODED = encodeURIComponent(PASSWORD)
/** A shard key value that must not leak unless asked for. */
const KEY = `cust-${randomBytes(5).toString('hex')}-SECRETKEY`

let shards: TestShards
const server = parseServerUrl(testServerUrl())

beforeAll(async () => {
  shards = await createTestShards({ names: ['-80', '80-'] })
  await shards.execAll('CREATE TABLE items (k VARCHAR(255) PRIMARY KEY, n INT NOT NULL DEFAULT 0)')
  const admin = await adminConnection()
  try {
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [USER, '%', PASSWORD])
    for (const database of shards.databases) await admin.query(`GRANT ALL ON \`${database}\`.* TO ?@?`, [USER, '%'])
  } finally {
    await admin.end()
  }
})

afterAll(async () => {
  const admin = await adminConnection()
  try {
    await admin.query('DROP USER IF EXISTS ?@?', [USER, '%'])
  } finally {
    await admin.end()
  }
  await shards?.drop()
})

function shardConfig(options: { badPortFor?: string; password?: string } = {}): ShardedDbOptions['shards'] {
  const pw = options.password ?? PASSWORD
  const port = (shard: string) => (options.badPortFor === shard ? 1 : server.port)
  return {
    '-80': `mysql://${USER}:${encodeURIComponent(pw)}@${server.host}:${port('-80')}/${shards.databases[0]}`,
    '80-': { host: server.host, port: port('80-'), user: USER, password: pw, database: shards.databases[1]! },
  }
}

/** Everything a person or a log pipeline could see of a value. */
function allTextOf(value: unknown): string {
  const parts = [inspect(value, { depth: 10, showHidden: true, getters: true })]
  if (value instanceof Error) {
    parts.push(value.message, value.stack ?? '')
    for (let cause: unknown = value.cause; cause !== undefined; cause = (cause as Error).cause) parts.push(inspect(cause, { depth: 10, showHidden: true }))
  }
  try {
    parts.push(JSON.stringify(value) ?? '')
  } catch {
    // circular: inspect above already shows it
  }
  parts.push(String(value))
  return parts.join('\n')
}

async function outcome(work: () => Promise<unknown>): Promise<unknown> {
  try {
    return await work()
  } catch (err) {
    return err
  }
}

const keyOn = (db: ShardedDb, shard: string) => {
  for (let i = 0; ; i++) if (db.shardOf('items', `${KEY}-${i}`) === shard) return `${KEY}-${i}`
}

describe('passwords never appear in logs, errors or inspected objects', () => {
  it('through commits, warnings, retries, failures, timeouts, a refused shard and a wrong password', async () => {
    const log = captureLogger()
    const seen: unknown[] = []
    const base = { tables: { items: { shardKey: 'k' } }, router: 'xxhash' as const, logger: log }

    const db = createShardedDb({ ...base, shards: shardConfig(), crossShard: 'warn', retry: { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 } })
    const a = keyOn(db, '-80')
    const b = keyOn(db, '80-')
    seen.push(db, db.health())
    // Commits on both shards, one transaction spanning them (a warning), and a retried callback.
    await db.transaction(async (tx) => {
      await tx('items').insert({ k: a })
      await tx('items').insert({ k: b })
    })
    let attempts = 0
    await db.transaction(async (tx) => {
      await tx('items').where({ k: a }).increment('n', 1)
      if (++attempts === 1) throw Object.assign(new Error('Deadlock found when trying to get lock'), { errno: 1213 })
    })
    // A failing statement (server error) and a statement timeout.
    seen.push(await outcome(() => db.transaction((tx) => tx('items').where({ k: a }).update({ missing_column: 1 }))))
    const slow = createShardedDb({ ...base, shards: shardConfig(), statementTimeoutMs: 300 })
    seen.push(await outcome(() => slow.transaction((tx) => tx.shard('-80').raw('SELECT SLEEP(2)'))))
    seen.push(slow)
    await slow.destroy()

    // A shard that refuses connections: errors, the shard_down event, knex's pool warnings at debug.
    const refused = createShardedDb({ ...base, shards: shardConfig({ badPortFor: '-80' }) })
    seen.push(await outcome(() => refused.transaction((tx) => tx('items').where({ k: a }).first())))
    await new Promise((r) => setTimeout(r, 50))
    seen.push(await outcome(() => refused.transaction((tx) => tx('items').where({ k: a }).first())))
    seen.push(refused, refused.health())
    await refused.destroy()

    // The wrong password: the server's "Access denied" error.
    const wrong = createShardedDb({ ...base, shards: shardConfig({ password: `${PASSWORD}-wrong` }) })
    seen.push(await outcome(() => wrong.transaction((tx) => tx('items').where({ k: a }).first())))
    await wrong.destroy()
    await db.destroy()

    expect(log.events('shardtx.cross_shard_transaction').length).toBeGreaterThan(0)
    expect(log.events('shardtx.transaction_retry').length).toBeGreaterThan(0)
    expect(log.events('shardtx.shard_down').length).toBeGreaterThan(0)
    expect(log.events('shardtx.knex_log').length).toBeGreaterThan(0) // knex's pool warnings, routed to the logger
    expect(seen.filter((v) => v instanceof Error).map((e) => (e as Error & { code?: string }).code)).toEqual(
      expect.arrayContaining(['ER_BAD_FIELD_ERROR', 'SHARDTX_STATEMENT_TIMEOUT', 'SHARDTX_SHARD_UNAVAILABLE', 'ER_ACCESS_DENIED_ERROR']),
    )
    const text = [log.text(), ...seen.map(allTextOf)].join('\n')
    expect(text).not.toContain(PASSWORD)
    expect(text).not.toContain(ENCODED)
    expect(text).not.toContain(PASSWORD.slice(0, 15)) // not even the distinctive prefix
  })
})

describe('shard key values appear only with warnings.logKeyValues', () => {
  async function failingStatementText(logKeyValues: boolean): Promise<string> {
    const log = captureLogger()
    const db = createShardedDb({
      shards: shardConfig(),
      tables: { items: { shardKey: 'k' } },
      router: 'xxhash',
      crossShard: 'warn',
      warnings: { logKeyValues },
      logger: log,
    })
    const a = keyOn(db, '-80')
    const b = keyOn(db, '80-')
    await db.transaction(async (tx) => {
      await tx('items').where({ k: a }).increment('n', 1)
      await tx('items').where({ k: b }).increment('n', 1) // cross-shard: a warning
    })
    const err = await outcome(() => db.transaction((tx) => tx('items').where({ k: a }).update({ missing_column: 1 })))
    await db.destroy()
    expect(err).toBeInstanceOf(Error)
    expect(log.events('shardtx.cross_shard_transaction').length).toBe(1)
    return `${log.text()}\n${allTextOf(err)}`
  }

  it('off (the default): neither logs nor errors carry them; the SQL shows placeholders', async () => {
    const text = await failingStatementText(false)
    expect(text).not.toContain(KEY)
    expect(text).toContain('where `k` = ?')
  })

  it('on: errors show the statement with its values, for debugging', async () => {
    expect(await failingStatementText(true)).toContain(KEY)
  })
})
