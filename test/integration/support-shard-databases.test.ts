import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTestShards, dropStaleTestDatabases, type TestShards } from '../support/shard-databases.js'
import { adminConnection, assertServerReachable, redactUrl } from '../support/test-server.js'

async function existingDatabases(names: string[]): Promise<string[]> {
  const admin = await adminConnection()
  try {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?) ORDER BY SCHEMA_NAME',
      [names],
    )
    return rows.map((r) => r.name as string)
  } finally {
    await admin.end()
  }
}

describe('test server', () => {
  test('the configured server answers', async () => {
    await expect(assertServerReachable()).resolves.toBeUndefined()
  })

  test('an unreachable server fails fast with the URL (password redacted) and how to fix it', async () => {
    // Port 1 on localhost: nothing listens there, so the connection is refused at once.
    const started = Date.now()
    const err: Error = await assertServerReachable('mysql://app:hunter2@127.0.0.1:1').then(
      () => {
        throw new Error('expected a failure')
      },
      (e: Error) => e,
    )
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(err.message).toContain('mysql://app:***@127.0.0.1:1')
    expect(err.message).toContain('ECONNREFUSED')
    expect(err.message).toContain('SHARDTX_TEST_MYSQL_URL=')
    expect(err.message).toContain('start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd')
    expect(err.message).not.toContain('hunter2')
  })

  test('redactUrl hides only the password', () => {
    expect(redactUrl('mysql://app:p%40ss:w@db:3306/x')).toBe('mysql://app:***@db:3306/x')
    expect(redactUrl('mysql://root@127.0.0.1:3306')).toBe('mysql://root@127.0.0.1:3306')
  })
})

describe('createTestShards', () => {
  let t: TestShards
  let other: TestShards

  beforeAll(async () => {
    ;[t, other] = await Promise.all([createTestShards({ names: ['-40', '40-80', '80-'] }), createTestShards({ names: ['-80', '80-'] })])
  })
  afterAll(async () => {
    await t?.drop()
    await other?.drop()
  })

  test('creates one existing, distinct database per shard name, unique across calls', async () => {
    expect(t.names).toEqual(['-40', '40-80', '80-'])
    expect(t.databases).toHaveLength(3)
    expect(new Set([...t.databases, ...other.databases]).size).toBe(5)
    for (const db of t.databases) expect(db).toMatch(new RegExp(`^stx_[0-9a-z]+_${process.pid}_[0-9a-f]+_\\d$`))
    expect(await existingDatabases(t.databases)).toEqual([...t.databases].sort())
    expect(t.shards['40-80']).toMatchObject({ host: '127.0.0.1', database: t.databases[1] })
    expect(Object.keys(t.shards)).toEqual(t.names)
  })

  test('the connection objects connect to their own database', async () => {
    for (const name of t.names) {
      const conn = await mysql.createConnection(t.shards[name]!)
      try {
        const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db')
        expect(rows[0]!.db).toBe(t.shards[name]!.database)
      } finally {
        await conn.end()
      }
    }
  })

  test('execAll runs on every shard; query reads one shard with bound parameters', async () => {
    await t.execAll(`
      CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner VARCHAR(50) NOT NULL);
      INSERT INTO accounts VALUES (1, 'everywhere');
    `)
    await t.query('40-80', 'INSERT INTO accounts VALUES (?, ?)', [2, "o'brien"])
    for (const name of t.names) {
      const rows = await t.query<{ id: number; owner: string }>(name, 'SELECT id, owner FROM accounts ORDER BY id')
      expect(rows).toEqual(
        name === '40-80'
          ? [
              { id: 1, owner: 'everywhere' },
              { id: 2, owner: "o'brien" },
            ]
          : [{ id: 1, owner: 'everywhere' }],
      )
    }
    // The other set is untouched: its databases are separate.
    await expect(other.query('-80', 'SELECT 1 FROM accounts')).rejects.toMatchObject({ code: 'ER_NO_SUCH_TABLE' })
  })

  test('query on an unknown shard names it and the known ones', async () => {
    await expect(t.query('c0-', 'SELECT 1')).rejects.toThrow(/unknown shard "c0-".*"-40","40-80","80-"/)
  })

  test('bad names are refused', async () => {
    await expect(createTestShards({ names: [] })).rejects.toThrow(TypeError)
    await expect(createTestShards({ names: ['a', 'a'] })).rejects.toThrow(/distinct/)
  })

  test('hygiene leaves live sets alone', async () => {
    await dropStaleTestDatabases()
    expect(await existingDatabases(t.databases)).toHaveLength(3)
  })

  test('drop removes the databases and can be called twice', async () => {
    const s = await createTestShards({ names: ['a', 'b'] })
    expect(await existingDatabases(s.databases)).toHaveLength(2)
    await s.drop()
    await s.drop()
    expect(await existingDatabases(s.databases)).toEqual([])
    await expect(s.query('a', 'SELECT 1')).rejects.toThrow(/after drop/)
  })
})

describe('dropStaleTestDatabases', () => {
  test('drops sets whose owner is gone and nothing that is not ours', async () => {
    // A set "left by a crashed run": created under a name pattern of ours, with no lock holder.
    const orphan = `stx_${Date.now().toString(36)}_1_deadbeef_0`
    const foreign = 'stx_not_ours'
    const admin = await adminConnection()
    try {
      await admin.query(`CREATE DATABASE \`${orphan}\``)
      await admin.query(`CREATE DATABASE IF NOT EXISTS \`${foreign}\``)
      expect(await dropStaleTestDatabases()).toBeGreaterThanOrEqual(1)
      expect(await existingDatabases([orphan, foreign])).toEqual([foreign])
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`${orphan}\``)
      await admin.query(`DROP DATABASE IF EXISTS \`${foreign}\``)
      await admin.end()
    }
  })
})
