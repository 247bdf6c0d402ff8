import diagnosticsChannel from 'node:diagnostics_channel'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { PartialCommitError, type ShardedDb } from '../../src/index.js'
import { capturingLogger, createFoundation, HIGH, LOW, type Foundation } from '../support/foundation-fixture.js'
import { adminConnection } from '../support/test-server.js'

let f: Foundation

beforeAll(async () => {
  f = await createFoundation()
})
afterAll(() => f.close())
beforeEach(async () => {
  await f.reset()
  await f.shards.query('-80', `INSERT INTO accounts (id, balance) VALUES ${LOW.map((id) => `(${id}, 100)`).join(',')}`)
  await f.shards.query('80-', `INSERT INTO accounts (id, balance) VALUES ${HIGH.map((id) => `(${id}, 100)`).join(',')}`)
})

/** Tests run in strict mode (NODE_ENV=test), where a per-transaction 'warn' override needs a reason. */
const WARN_REASON = 'https://tracker.example/warn-policy-tests'

/** A cross-shard transfer whose first write is on the higher shard, so canonical order differs from join order. */
const transfer = (db: ShardedDb, options = {}) =>
  db.transaction(
    async (tx) => {
      await tx('accounts').where({ id: 4 }).decrement('balance', 10) // 80-
      await tx('accounts').where({ id: 1 }).increment('balance', 10) // -80
    },
    { crossShard: 'warn', reason: WARN_REASON, ...options },
  )

describe('warn policy', () => {
  it('commits every shard, one at a time, in canonical (keyrange) order', async () => {
    const db = f.open()
    const commits: { shard: string; index: number }[] = []
    const onCommit = (msg: unknown) => commits.push(msg as { shard: string; index: number })
    diagnosticsChannel.subscribe('shardtx:shard-commit', onCommit)
    try {
      await transfer(db)
    } finally {
      diagnosticsChannel.unsubscribe('shardtx:shard-commit', onCommit)
    }
    expect(commits.map((c) => c.shard)).toEqual(['-80', '80-'])
    expect((await f.rows('-80', 'accounts')).find((r) => Number(r.id) === 1)).toMatchObject({ balance: 110 })
    expect((await f.rows('80-', 'accounts')).find((r) => Number(r.id) === 4)).toMatchObject({ balance: 90 })
  })

  it('raises PartialCommitError naming committed and uncommitted shards when a later COMMIT fails', async () => {
    const { entries, logger } = capturingLogger()
    const db = f.open({ retry: { maxAttempts: 1 }, logger })
    const admin = await adminConnection()
    try {
      const err = await db
        .transaction(
          async (tx) => {
            await tx('accounts').where({ id: 1 }).increment('balance', 10) // -80, commits first
            await tx('accounts').where({ id: 4 }).decrement('balance', 10) // 80-, commits second
            const [[row]] = await tx.shard('80-').raw('SELECT CONNECTION_ID() AS id')
            // A real fault: the server drops the 80- connection, so its COMMIT fails after -80 committed.
            await admin.query(`KILL CONNECTION ${Number(row.id)}`)
          },
          { crossShard: 'warn', reason: WARN_REASON },
        )
        .catch((e) => e)
      expect(err).toBeInstanceOf(PartialCommitError)
      expect(err.code).toBe('SHARDTX_PARTIAL_COMMIT')
      expect(err.committedShards).toEqual(['-80'])
      expect(err.uncommittedShards).toEqual(['80-'])
      expect(err.failedShard).toBe('80-')
      expect(err.message).toMatch(/warn-policy\.test\.ts:\d+/)
      expect(entries.find((e) => e.level === 'error')?.obj).toMatchObject({
        event: 'shardtx.partial_commit',
        transactionId: err.transactionId,
        committedShards: ['-80'],
        uncommittedShards: ['80-'],
        failedShard: '80-',
      })
      expect((await f.rows('-80', 'accounts')).find((r) => Number(r.id) === 1)).toMatchObject({ balance: 110 })
      expect((await f.rows('80-', 'accounts')).find((r) => Number(r.id) === 4)).toMatchObject({ balance: 100 })
    } finally {
      await admin.end()
    }
  })

  it('rolls back every shard when the first COMMIT fails, and reports no partial commit', async () => {
    const db = f.open({ retry: { maxAttempts: 1 } })
    const admin = await adminConnection()
    try {
      const err = await db
        .transaction(
          async (tx) => {
            await tx('accounts').where({ id: 1 }).increment('balance', 10)
            await tx('accounts').where({ id: 4 }).decrement('balance', 10)
            const [[row]] = await tx.shard('-80').raw('SELECT CONNECTION_ID() AS id')
            await admin.query(`KILL CONNECTION ${Number(row.id)}`)
          },
          { crossShard: 'warn', reason: WARN_REASON },
        )
        .catch((e) => e)
      expect(err).not.toBeInstanceOf(PartialCommitError)
      expect(err).toBeInstanceOf(Error)
      expect((await f.rows('80-', 'accounts')).find((r) => Number(r.id) === 4)).toMatchObject({ balance: 100 })
      expect((await f.rows('-80', 'accounts')).find((r) => Number(r.id) === 1)).toMatchObject({ balance: 100 })
    } finally {
      await admin.end()
    }
  })

  it('logs one structured warning per origin per interval, then the count of suppressed ones', async () => {
    const { entries, logger } = capturingLogger()
    const db = f.open({ logger, warnings: { intervalMs: 300 } })
    for (let i = 0; i < 5; i++) await transfer(db, { reason: 'https://tracker.example/42' })
    const warnings = () => entries.filter((e) => e.level === 'warn')
    expect(warnings()).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 350))
    await transfer(db, { reason: 'https://tracker.example/42' })
    expect(warnings()).toHaveLength(2)

    const [first, second] = warnings()
    expect(first!.obj).toMatchObject({
      event: 'shardtx.cross_shard_transaction',
      policy: 'warn',
      outcome: 'committed',
      shards: ['-80', '80-'],
      tables: ['accounts'],
      reason: 'https://tracker.example/42',
      suppressed: 0,
    })
    expect(first!.obj.transactionId).toMatch(/^tx-/)
    expect(first!.obj.origin).toMatch(/warn-policy\.test\.ts:\d+:\d+$/)
    expect(first!.obj.durationMs).toBeGreaterThan(0)
    expect(first!.msg).toContain('spanned shards [-80, 80-]')
    expect(second!.obj.suppressed).toBe(4)
    expect(second!.obj.origin).toBe(first!.obj.origin)
    // Key values stay out of logs by default.
    expect(JSON.stringify(entries)).not.toMatch(/"keys"/)
  })

  it('includes key values only when warnings.logKeyValues is on', async () => {
    const { entries, logger } = capturingLogger()
    const db = f.open({ logger, warnings: { logKeyValues: true } })
    await transfer(db)
    expect(entries.find((e) => e.level === 'warn')!.obj.keys).toEqual({ '-80': ['1'], '80-': ['4'] })
  })

  it('does not warn about a transaction that stayed on one shard', async () => {
    const { entries, logger } = capturingLogger()
    const db = f.open({ logger, crossShard: 'warn' })
    await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 1 }).decrement('balance', 1)
      await tx('accounts').where({ id: 2 }).increment('balance', 1)
      await tx('accounts').where({ id: 4 }).first() // a read elsewhere does not make it cross-shard
    })
    expect(entries.filter((e) => e.level === 'warn')).toEqual([])
  })
})
