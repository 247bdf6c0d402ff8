/**
 * Recovery of accepted split plans on real shards: plans left behind at each point of their life
 * are finished by db.recover() exactly once, also when two recoverers race, at start-up and
 * periodically; finished plans are pruned. Crashes here are simulated in-process by a phase hook
 * that throws (test/faults/split-crash.test.ts kills real processes).
 */
import type { Connection } from 'mysql2/promise'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CREATE_APPLIED_TABLE, SplitPlanPendingError, createShardedDb, keyrangeNames, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { setSplitPhaseHookForTests, type SplitPhase, type SplitPhaseDetail } from '../../src/policies/split/phase-hook.js'
import { BANK_SCHEMA, BANK_TABLES, INITIAL_BALANCE } from '../support/bank.js'
import { capturingLogger } from '../support/foundation-fixture.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { adminConnection } from '../support/test-server.js'
import { closeSplitFixture, openSplitDb, resetSplitState } from '../support/split-lifecycle.js'

let t: TestShards
const opened: ShardedDb[] = []
const LOW = [1, 2, 3, 5] // on -80
const HIGH = [4, 6] // on 80-

const open = (options: Partial<ShardedDbOptions> = {}): ShardedDb =>
  openSplitDb(t, opened, { tables: { ...BANK_TABLES, typed: { shardKey: 'id' } }, ...options })

/** A simulated crash: thrown by the phase hook, it stops the plan where a dead process would have. */
class SimulatedCrash extends Error {}

/** Throws SimulatedCrash at `phase` (the first `times` times it is reached), outside recovery. */
function crashAt(phase: SplitPhase, times = Infinity) {
  let left = times
  setSplitPhaseHookForTests((p, d) => {
    if (p === phase && !d.recovering && left-- > 0) throw new SimulatedCrash(phase)
  })
}

const transfer = (db: ShardedDb, id: string, from: number, to: number, amount: number) =>
  db.transaction(async (tx) => {
    await tx('accounts').where({ id: from }).decrement('balance', amount)
    await tx('accounts').where({ id: to }).increment('balance', amount)
    await tx('ledger').insert({ transfer_id: id, account_id: from, amount: -amount })
    await tx('ledger').insert({ transfer_id: id, account_id: to, amount })
  })

async function balances(): Promise<Record<number, number>> {
  const out: Record<number, number> = {}
  for (const shard of t.names) for (const r of await t.query(shard, 'SELECT id, balance FROM accounts')) out[Number(r.id)] = Number(r.balance)
  return out
}

async function ledgerCount(transferId: string): Promise<number> {
  let n = 0
  for (const shard of t.names) n += Number((await t.query(shard, 'SELECT COUNT(*) AS n FROM ledger WHERE transfer_id = ?', [transferId]))[0].n)
  return n
}

const planStatuses = async () => (await t.query('-80', 'SELECT status FROM shardtx_split_plans ORDER BY plan_id')).map((r) => r.status)

beforeAll(async () => {
  t = await createTestShards({ names: keyrangeNames(2) })
  await t.execAll(BANK_SCHEMA)
  await t.execAll(`CREATE TABLE typed (
    id BIGINT PRIMARY KEY, at DATETIME(3) NULL, big BIGINT UNSIGNED NULL, raw VARBINARY(16) NULL, txt VARCHAR(50) CHARACTER SET utf8mb4 NULL, flag TINYINT(1) NULL
  ) ENGINE=InnoDB`)
})
afterAll(() => closeSplitFixture(t, opened))
beforeEach(async () => {
  await resetSplitState(t, ['typed'])
  await t.query('-80', `INSERT INTO accounts (id, balance) VALUES ${LOW.map((id) => `(${id}, ${INITIAL_BALANCE})`).join(',')}`)
  await t.query('80-', `INSERT INTO accounts (id, balance) VALUES ${HIGH.map((id) => `(${id}, ${INITIAL_BALANCE})`).join(',')}`)
})

describe('db.recover()', () => {
  it('finishes plans whose process stopped right after storing the intent, exactly once', async () => {
    const db = open()
    crashAt('after-intent')
    for (let i = 0; i < 5; i++) await expect(transfer(db, `r${i}`, 1, 4, 10)).rejects.toBeInstanceOf(SimulatedCrash)
    setSplitPhaseHookForTests(undefined)
    expect(await balances()).toMatchObject({ 1: INITIAL_BALANCE, 4: INITIAL_BALANCE })
    expect(await planStatuses()).toEqual(Array(5).fill('pending'))

    expect(await db.recover()).toMatchObject({ recovered: 5, failed: 0, stillPending: 0 })
    expect(await balances()).toMatchObject({ 1: INITIAL_BALANCE - 50, 4: INITIAL_BALANCE + 50 })
    for (let i = 0; i < 5; i++) expect(await ledgerCount(`r${i}`)).toBe(2)
    expect(await planStatuses()).toEqual(Array(5).fill('applied'))
    expect(await db.recover()).toMatchObject({ recovered: 0, stillPending: 0 })
    expect(await balances()).toMatchObject({ 1: INITIAL_BALANCE - 50, 4: INITIAL_BALANCE + 50 })
  })

  it('after a stop between parts, applies only the missing part', async () => {
    const db = open()
    crashAt('between-parts')
    const err = await transfer(db, 'b', 1, 4, 7).catch((e) => e)
    setSplitPhaseHookForTests(undefined)
    expect(err).toBeInstanceOf(SplitPlanPendingError) // the plan is accepted: the caller is told recovery will finish it
    expect(err.appliedShards).toEqual(['-80'])
    expect(err.pendingShards).toEqual(['80-'])
    expect(await balances()).toMatchObject({ 1: INITIAL_BALANCE - 7, 4: INITIAL_BALANCE })

    const phases: SplitPhase[] = []
    setSplitPhaseHookForTests((p) => phases.push(p))
    expect(await db.recover()).toMatchObject({ recovered: 1 })
    expect(phases.filter((p) => p === 'part-skipped' || p === 'during-commit')).toEqual(['part-skipped', 'during-commit'])
    expect(await balances()).toMatchObject({ 1: INITIAL_BALANCE - 7, 4: INITIAL_BALANCE + 7 })
    expect(await ledgerCount('b')).toBe(2)
  })

  it('after a stop before the plan was marked applied, only marks it', async () => {
    const db = open()
    crashAt('before-mark-applied')
    await expect(transfer(db, 'm', 4, 1, 3)).rejects.toBeInstanceOf(SimulatedCrash)
    setSplitPhaseHookForTests(undefined)
    expect(await planStatuses()).toEqual(['pending'])
    const phases: SplitPhase[] = []
    setSplitPhaseHookForTests((p) => phases.push(p))
    expect(await db.recover()).toMatchObject({ recovered: 1 })
    expect(phases.filter((p) => p === 'part-skipped')).toHaveLength(2)
    expect(phases).not.toContain('during-commit')
    expect(await balances()).toMatchObject({ 1: INITIAL_BALANCE + 3, 4: INITIAL_BALANCE - 3 })
    expect(await planStatuses()).toEqual(['applied'])
  })

  it('replays every kind of value exactly as knex first sent it', async () => {
    const db = open()
    const row = (id: number) => ({
      id,
      at: new Date(Date.UTC(2024, 1, 29, 23, 59, 58, 123)),
      big: 18_446_744_073_709_551_615n,
      raw: Buffer.from([0, 1, 254, 255]),
      txt: 'naïve ✓ 🚀',
      flag: true,
    })
    crashAt('after-intent')
    await expect(
      db.transaction(async (tx) => {
        await tx('typed').insert(row(1)) // -80
        await tx('typed').insert(row(4)) // 80-
      }),
    ).rejects.toBeInstanceOf(SimulatedCrash)
    setSplitPhaseHookForTests(undefined)
    await db.recover()
    await db.shard('-80')('typed').insert(row(2)) // the same values through plain knex, for comparison
    const [viaRecovery] = await t.query('-80', 'SELECT at, CAST(big AS CHAR) AS big, HEX(raw) AS raw, txt, flag FROM typed WHERE id = 1')
    const [viaKnex] = await t.query('-80', 'SELECT at, CAST(big AS CHAR) AS big, HEX(raw) AS raw, txt, flag FROM typed WHERE id = 2')
    expect(viaRecovery).toEqual(viaKnex)
    expect(viaRecovery).toMatchObject({ big: '18446744073709551615', raw: '0001FEFF', txt: 'naïve ✓ 🚀', flag: 1 })
  })

  it('two recoverers at once apply every part exactly once (the applied marker arbitrates on the server)', async () => {
    const writer = open()
    crashAt('after-intent')
    const n = 30
    for (let i = 0; i < n; i++) await expect(transfer(writer, `c${i}`, LOW[i % 4]!, HIGH[i % 2]!, 1 + i)).rejects.toBeInstanceOf(SimulatedCrash)
    setSplitPhaseHookForTests(undefined)

    const commits = new Map<string, number>()
    let skipped = 0
    setSplitPhaseHookForTests((p, d) => {
      const key = `${d.planId}/${d.partNo}`
      if (p === 'during-commit') commits.set(key, (commits.get(key) ?? 0) + 1)
      if (p === 'part-skipped') skipped++
    })
    // Two ShardedDb instances: separate pools, separate server connections, like two processes.
    const [a, b] = [open(), open()]
    const reports = await Promise.all([a.recover(), b.recover()])
    setSplitPhaseHookForTests(undefined)

    expect(reports[0]!.failed + reports[1]!.failed).toBe(0)
    expect(commits.size).toBe(2 * n)
    expect([...commits.values()].every((c) => c === 1)).toBe(true)
    // Whatever part one recoverer committed, the other found already applied (or never reached).
    expect(skipped).toBeLessThanOrEqual(2 * n)
    const total = Object.values(await balances()).reduce((s, v) => s + v, 0)
    expect(total).toBe(INITIAL_BALANCE * 6)
    for (let i = 0; i < n; i++) expect(await ledgerCount(`c${i}`)).toBe(2)
    expect(new Set(await planStatuses())).toEqual(new Set(['applied']))
  })

  it('a part being applied elsewhere blocks the recoverer on its marker; it then skips it, or applies it if the other rolled back', async () => {
    const writer = open()
    crashAt('after-intent')
    await expect(transfer(writer, 'x', 1, 4, 5)).rejects.toBeInstanceOf(SimulatedCrash)
    await expect(transfer(writer, 'y', 1, 4, 6)).rejects.toBeInstanceOf(SimulatedCrash)
    setSplitPhaseHookForTests(undefined)
    const [px, py] = (await t.query('-80', 'SELECT plan_id FROM shardtx_split_plans ORDER BY plan_id')).map((r) => r.plan_id as string)
    await t.execAll(CREATE_APPLIED_TABLE) // the documented migration; shardtx would create it lazily at the first part

    const admin = await adminConnection()
    const other = await import('mysql2/promise').then((m) => m.createConnection(t.shards['-80']!))
    try {
      // "Another process" is applying part 0 of plan x: marker inserted, data changed, not committed.
      await other.query('BEGIN')
      await other.query('INSERT INTO shardtx_split_applied (plan_id, part_no) VALUES (?, 0)', [px])
      await other.query('UPDATE accounts SET balance = balance - 5 WHERE id = 1')
      await other.query("INSERT INTO ledger (transfer_id, account_id, amount) VALUES ('x', 1, -5)")
      const recovering = open().recover()
      await waitForMarkerLockWait(admin, t.databases[0]!)
      await other.query('COMMIT') // the other process wins: the recoverer must skip part 0 of x
      // Plan y: the other process starts part 0 and then dies (rolls back): the recoverer must apply it.
      await other.query('BEGIN')
      await other.query('INSERT INTO shardtx_split_applied (plan_id, part_no) VALUES (?, 0)', [py])
      await waitForMarkerLockWait(admin, t.databases[0]!)
      await other.query('ROLLBACK')
      expect(await recovering).toMatchObject({ recovered: 2, failed: 0 })
    } finally {
      await other.end()
      await admin.end()
    }
    expect(await balances()).toMatchObject({ 1: INITIAL_BALANCE - 11, 4: INITIAL_BALANCE + 11 })
    expect(await ledgerCount('x')).toBe(2)
    expect(await ledgerCount('y')).toBe(2)
  })

  it('prunes finished plans and their markers, in batches, and never a pending plan', async () => {
    const db = open({ split: { retainFinishedMs: 0 } })
    for (let i = 0; i < 3; i++) await transfer(db, `p${i}`, 1, 4, 1)
    crashAt('after-intent')
    await expect(transfer(db, 'pending', 1, 4, 1)).rejects.toBeInstanceOf(SimulatedCrash)
    setSplitPhaseHookForTests(undefined)
    // The first pass writes the batched applied marks (finished_at = now) and may find them too
    // fresh for even a 0 ms retention; the second certainly prunes them. Neither touches the
    // pending plan, which is younger than olderThanMs.
    const first = await db.recover({ olderThanMs: 3_600_000 })
    const second = await db.recover({ olderThanMs: 3_600_000 })
    expect([first, second]).toMatchObject([
      { recovered: 0, stillPending: 0 },
      { recovered: 0, stillPending: 0 },
    ])
    expect(first.pruned + second.pruned).toBe(3)
    expect(await planStatuses()).toEqual(['pending'])
    expect(await t.query('-80', 'SELECT COUNT(*) AS n FROM shardtx_split_applied')).toEqual([{ n: 0 }])
    expect(await t.query('80-', 'SELECT COUNT(*) AS n FROM shardtx_split_applied')).toEqual([{ n: 0 }])
    expect((await db.recover()).recovered).toBe(1)
  })

  it('a plan row it cannot read (a newer format) is reported and skipped; the others are still recovered', async () => {
    const { entries, logger } = capturingLogger()
    const db = open({ logger })
    crashAt('after-intent')
    await expect(transfer(db, 'ok', 1, 4, 1)).rejects.toBeInstanceOf(SimulatedCrash)
    setSplitPhaseHookForTests(undefined)
    await t.query(
      '-80',
      "INSERT INTO shardtx_split_plans (plan_id, status, part_count, plan, plan_digest) VALUES ('00000000000000000000000000000001', 'pending', 1, '{\"v\":99}', REPEAT('0', 64))",
    )
    expect(await db.recover()).toMatchObject({ recovered: 1, stillPending: 1 })
    expect(entries.find((e) => e.obj.event === 'shardtx.split_plan_unreadable')?.obj.planIds).toEqual(['00000000000000000000000000000001'])
    expect(await ledgerCount('ok')).toBe(2)
  })

  it('validates its options', async () => {
    const db = open()
    await expect(db.recover({ olderThanMs: -1 })).rejects.toThrow(/`olderThanMs`/)
    await expect(db.recover({ olderThan: 5 } as never)).rejects.toThrow(/`recover options\.olderThan`/)
  })
})

describe('automatic recovery', () => {
  it('a new ShardedDb recovers at start by default', async () => {
    crashAt('after-intent')
    await expect(transfer(open(), 's', 1, 4, 9)).rejects.toBeInstanceOf(SimulatedCrash)
    setSplitPhaseHookForTests(undefined)
    const { entries, logger } = capturingLogger()
    const db = createShardedDb({ shards: t.shards, tables: BANK_TABLES, logger, split: { recoveryIntervalMs: 0 } })
    opened.push(db)
    const event = await waitForEvent(entries, (o) => o.event === 'shardtx.split_recovery' && o.trigger === 'start')
    expect(event).toMatchObject({ recovered: 1, failed: 0 })
    expect(await balances()).toMatchObject({ 1: INITIAL_BALANCE - 9, 4: INITIAL_BALANCE + 9 })
  })

  it('runs periodically (split.recoveryIntervalMs), and db.destroy() stops it', async () => {
    crashAt('after-intent')
    await expect(transfer(open(), 'q', 4, 1, 2)).rejects.toBeInstanceOf(SimulatedCrash)
    setSplitPhaseHookForTests(undefined)
    const { entries, logger } = capturingLogger()
    const db = createShardedDb({ shards: t.shards, tables: BANK_TABLES, logger, split: { recoverOnStart: false, recoveryIntervalMs: 50 } })
    const event = await waitForEvent(entries, (o) => o.event === 'shardtx.split_recovery' && o.trigger === 'interval' && Number(o.recovered) === 1)
    expect(event.trigger).toBe('interval')
    await db.destroy()
    expect(await balances()).toMatchObject({ 1: INITIAL_BALANCE + 2, 4: INITIAL_BALANCE - 2 })
    await expect(db.recover()).rejects.toThrow(/after db\.destroy\(\)/)
  })

  it('recovery at start is harmless when split was never used (no table is created)', async () => {
    const { entries, logger } = capturingLogger()
    const db = createShardedDb({ shards: t.shards, tables: BANK_TABLES, logger })
    opened.push(db)
    const event = await waitForEvent(entries, (o) => o.event === 'shardtx.split_recovery')
    expect(event).toMatchObject({ recovered: 0, stillPending: 0, pruned: 0 })
    expect(await t.query('-80', "SHOW TABLES LIKE 'shardtx_split%'")).toEqual([])
  })
})

/**
 * Waits until some transaction on `database` is in LOCK WAIT while inserting an applied marker.
 * Polls INNODB_TRX every 150 ms: InnoDB refreshes that view only when it was last read at least
 * 100 ms earlier (see REFERENCE.md), so faster polling would keep seeing a stale, empty table.
 */
async function waitForMarkerLockWait(admin: Connection, database: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [rows] = await admin.query(
      `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX trx JOIN information_schema.PROCESSLIST p ON p.ID = trx.trx_mysql_thread_id
       WHERE p.DB = ? AND trx.trx_state = 'LOCK WAIT' AND trx.trx_query LIKE 'INSERT INTO shardtx_split_applied%'`,
      [database],
    )
    if (Number((rows as { n: number }[])[0]!.n) > 0) return
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error('the recoverer never waited on the applied marker')
}

/** Resolves with the first logged event matching `match` (polls the captured entries, bounded). */
async function waitForEvent(entries: { obj: Record<string, unknown> }[], match: (o: Record<string, unknown>) => boolean) {
  for (let i = 0; i < 1000; i++) {
    const hit = entries.find((e) => match(e.obj))
    if (hit) return hit.obj
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error('event never logged')
}

export type { SplitPhaseDetail }
