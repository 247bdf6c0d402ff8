/**
 * The `atomic` policy against the real MariaDB: ordered's canonical lock order plus XA two-phase
 * commit. Statements are observed on mysql2's own `mysql2:query` tracing channel (what the driver
 * sent, not a mock), branches with `XA RECOVER`, decisions in `shardtx_atomic_decisions`.
 * Crashes with separate servers are in test/faults/atomic-crash.test.ts; the incident workload in
 * atomic-workload.test.ts.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AtomicOutcomeUnknownError, CREATE_ATOMIC_DECISIONS_TABLE, EVENT_NAMES, createShardedDb, type ShardedDb } from '../../src/index.js'
import { setAtomicPhaseHookForTests } from '../../src/policies/atomic/phase-hook.js'
import { GTRID_PREFIX, XID_FORMAT_ID, parseRecoveredXid, shardIdentity, type XaRecoverRow } from '../../src/policies/atomic/xid.js'
import { BANK_TABLES, applyTransfer, checkBank, setupBank, type Bank } from '../support/bank.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'

let shards: TestShards
let bank: Bank
const extraDbs: ShardedDb[] = []

beforeEach(async () => {
  shards = await createTestShards({ names: ['-80', '80-'] })
  bank = await setupBank(shards, { perShard: 4, options: { crossShard: 'atomic', atomic: { recoverOnStart: false, recoveryIntervalMs: 0 } } })
})
afterEach(async () => {
  setAtomicPhaseHookForTests(undefined)
  await Promise.all(extraDbs.splice(0).map((db) => db.destroy()))
  await bank.db.destroy()
  await shards.drop()
})

/** The SQL the driver sent to the databases of this test, in order, while `fn` ran. */
async function sent(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = []
  const onStart = (message: unknown) => {
    const m = message as { query?: string; database?: string }
    if (typeof m.query === 'string' && shards.databases.includes(m.database ?? '')) seen.push(m.query)
  }
  diagnosticsChannel.subscribe('tracing:mysql2:query:start', onStart)
  try {
    await fn()
  } finally {
    diagnosticsChannel.unsubscribe('tracing:mysql2:query:start', onStart)
  }
  return seen
}

/** This test's prepared branches on the server (shardtx's xids whose coordinator is one of its shard databases). */
async function preparedBranches(): Promise<string[]> {
  const rows = await shards.query<XaRecoverRow>('-80', 'XA RECOVER')
  // The identity the library computes for each shard, from the same connection settings.
  const ours = new Set(bank.db.shardNames.map((s) => shardIdentity(s, shards.shards[s]!)))
  return rows
    .map(parseRecoveredXid)
    .filter((x) => x !== undefined && ours.has(x.coordinator))
    .map((x) => x!.gtrid + '/' + x!.bqual)
}

/**
 * Runs db.recover() until no branch is left to a live owner: the server notices a closed
 * connection asynchronously, and until then its prepared branch still counts as attached (1397).
 * Bounded: 10 s. Returns the summed atomic counts.
 */
async function recoverUntilSettled(db: ShardedDb) {
  const total = { committed: 0, rolledBack: 0, inDoubt: 0, inProgress: 0 }
  const deadline = Date.now() + 10_000
  for (;;) {
    const { atomic } = await db.recover()
    total.committed += atomic.committed
    total.rolledBack += atomic.rolledBack
    total.inDoubt = atomic.inDoubt
    total.inProgress = atomic.inProgress
    if (atomic.inProgress === 0 || Date.now() > deadline) return total
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('atomic: commit', () => {
  it('a cross-shard transfer prepares the branch, writes the decision with the coordinator, then commits the branch', async () => {
    const from = bank.accountsByShard.get('-80')![0]!
    const to = bank.accountsByShard.get('80-')![0]!
    const statements = await sent(() =>
      bank.db.transaction((tx) => applyTransfer(tx, { id: 'x1', from, to, amount: 7 }), { crossShard: 'atomic', lock: { accounts: [from, to] } }),
    )
    const xa = statements.filter((s) => /^XA |INSERT INTO shardtx_atomic_decisions|^COMMIT/.test(s)).map((s) => s.split(' (')[0]!.replace(/'[^']*'/g, "'?'"))
    // The coordinator (-80, first session) stays a plain transaction: its COMMIT carries the record.
    const xid = `'?','?',${XID_FORMAT_ID}`
    expect(xa).toEqual([`XA START ${xid}`, 'INSERT INTO shardtx_atomic_decisions', `XA END ${xid}`, `XA PREPARE ${xid}`, 'COMMIT', `XA COMMIT ${xid}`])
    expect(await shards.query('-80', 'SELECT outcome, branches FROM shardtx_atomic_decisions')).toEqual([{ outcome: 'commit', branches: 1 }])
    expect(await preparedBranches()).toEqual([])
    const check = await checkBank(bank)
    expect(check).toMatchObject({ total: check.expectedTotal, brokenTransfers: [], completeTransfers: 1 })
    expect(bank.db.atomicStats()).toMatchObject({ committed: 1, prepareFailures: 0, outcomeUnknown: 0 })
  })

  it('a single-shard transaction under atomic sends no XA statement and writes no record: a plain COMMIT', async () => {
    const [x, y] = bank.accountsByShard.get('80-')!
    const statements = await sent(() => bank.db.transaction((tx) => applyTransfer(tx, { id: 's1', from: x!, to: y!, amount: 3 }), { crossShard: 'atomic' }))
    expect(statements.filter((s) => /^XA |shardtx_atomic_decisions/.test(s))).toEqual([])
    expect(statements.filter((s) => s === 'COMMIT')).toHaveLength(1)
    expect(bank.db.atomicStats().committed).toBe(0)
  })

  it('a read on one shard then writes on another: the written branch commits in one phase (XA END, XA COMMIT ONE PHASE)', async () => {
    const reader = bank.accountsByShard.get('-80')![0]!
    const [x, y] = bank.accountsByShard.get('80-')!
    const statements = await sent(() =>
      bank.db.transaction(
        async (tx) => {
          await tx('accounts').where({ id: reader }).first()
          await applyTransfer(tx, { id: 's2', from: x!, to: y!, amount: 3 })
        },
        { crossShard: 'atomic' },
      ),
    )
    expect(statements.filter((s) => /^XA /.test(s)).map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual(['XA START', 'XA END', 'XA COMMIT'])
    expect(statements.some((s) => s.endsWith('ONE PHASE'))).toBe(true)
    expect(await preparedBranches()).toEqual([])
  })

  it('learned lock set: opposite transfers both commit, each on both shards', async () => {
    const from = bank.accountsByShard.get('-80')![1]!
    const to = bank.accountsByShard.get('80-')![1]!
    await Promise.all([
      bank.db.transaction((tx) => applyTransfer(tx, { id: 'l1', from, to, amount: 5 }), { crossShard: 'atomic' }),
      bank.db.transaction((tx) => applyTransfer(tx, { id: 'l2', from: to, to: from, amount: 9 }), { crossShard: 'atomic' }),
    ])
    const check = await checkBank(bank)
    expect(check).toMatchObject({ total: check.expectedTotal, brokenTransfers: [], completeTransfers: 2, accountsOutOfBalance: [] })
    expect(await preparedBranches()).toEqual([])
  })

  it('a readOnly transaction that participates on two shards commits every session on its own: no record, nothing left prepared', async () => {
    // tx.shard(name) makes a shard a participant (it may write); READ ONLY refuses locking reads, so raw reads it is.
    const statements = await sent(() =>
      bank.db.transaction(
        async (tx) => {
          await tx.shard('-80').raw('SELECT COUNT(*) AS n FROM accounts')
          await tx.shard('80-').raw('SELECT COUNT(*) AS n FROM accounts')
        },
        { crossShard: 'atomic', readOnly: true },
      ),
    )
    expect(statements.filter((s) => /shardtx_atomic_decisions|^XA PREPARE/.test(s))).toEqual([])
    expect(statements.some((s) => s.endsWith('ONE PHASE'))).toBe(true)
    expect(await preparedBranches()).toEqual([])
  })

  it('the lock options are those of ordered: `lock` is validated the same way', async () => {
    await expect(bank.db.transaction(async () => undefined, { crossShard: 'atomic', lock: { nope: [1] } })).rejects.toThrow(/Unknown table in `lock.nope`/)
    await expect(bank.db.transaction(async () => undefined, { crossShard: 'atomic', idempotencyKey: 'k' })).rejects.toThrow(TypeError)
  })
})

describe('atomic: failures before the decision roll back every shard', () => {
  it('a branch that fails to prepare: nothing committed anywhere, no branch left prepared, no record, an event', async () => {
    const events: { event: string; failedShard?: string }[] = []
    const logger = { error: () => undefined, warn: (e: { event: string }) => events.push(e), info: () => undefined, debug: () => undefined }
    const db = createShardedDb({ shards: shards.shards, tables: BANK_TABLES, crossShard: 'atomic', logger, atomic: { recoverOnStart: false } })
    extraDbs.push(db)
    const from = bank.accountsByShard.get('-80')![0]!
    const to = bank.accountsByShard.get('80-')![0]!
    // Kill the branch's connection between the record and the prepare: XA PREPARE cannot succeed.
    setAtomicPhaseHookForTests(async (phase, detail) => {
      if (phase === 'before-prepare') await shards.query('80-', `KILL CONNECTION ${detail.branchConnections[0]}`)
    })
    await expect(db.transaction((tx) => applyTransfer(tx, { id: 'f1', from, to, amount: 11 }), { crossShard: 'atomic', maxAttempts: 1 })).rejects.toMatchObject(
      {
        shard: '80-',
      },
    )
    const check = await checkBank(bank)
    expect(check).toMatchObject({ total: check.expectedTotal, completeTransfers: 0, brokenTransfers: [] })
    expect(await shards.query('-80', 'SELECT COUNT(*) AS n FROM shardtx_atomic_decisions')).toEqual([{ n: 0 }])
    expect(await preparedBranches()).toEqual([])
    expect(events.filter((e) => e.event === 'shardtx.atomic_prepare_failed')).toEqual([expect.objectContaining({ failedShard: '80-' })])
    expect(db.atomicStats().prepareFailures).toBe(1)
  })
})

describe('atomic: recovery', () => {
  it('after the decision, a branch whose process stopped is committed by db.recover(); without a decision it is rolled back', async () => {
    const from = bank.accountsByShard.get('-80')![2]!
    const to = bank.accountsByShard.get('80-')![2]!
    // One transfer loses its connections right after the decision, one right before it: the
    // server sees what it sees when a process dies (KILL CONNECTION ends a session the same way).
    const stop = (at: 'after-decision' | 'before-decision', id: string, amount: number) => {
      setAtomicPhaseHookForTests(async (phase, detail) => {
        if (phase !== at) return
        for (const id of [detail.coordinatorConnection, ...detail.branchConnections]) await shards.query('-80', `KILL CONNECTION ${id}`).catch(() => undefined)
        throw new Error(`stopped at ${at}`)
      })
      return bank.db.transaction((tx) => applyTransfer(tx, { id, from, to, amount }), { crossShard: 'atomic', maxAttempts: 1 }).catch((e: Error) => e)
    }
    // After the decision the transaction is committed: the caller gets its result, recovery finishes the branch.
    expect(await stop('after-decision', 'r1', 13)).toBeUndefined()
    expect(String(await stop('before-decision', 'r2', 17))).toMatch(/stopped at before-decision/)
    setAtomicPhaseHookForTests(undefined)
    const report = await recoverUntilSettled(bank.db)
    expect(report).toMatchObject({ rolledBack: 1, inDoubt: 0, inProgress: 0 })
    // r1's branch was committed from another connection by its own transaction once the server
    // detached it, or, if that did not happen within its few tries, by recovery: once either way.
    expect(report.committed).toBe(bank.db.atomicStats().branchesLeftInDoubt)
    expect(await preparedBranches()).toEqual([])
    const check = await checkBank(bank)
    // r1 decided commit: on both shards; r2 had no decision: on neither.
    expect(check).toMatchObject({ total: check.expectedTotal, brokenTransfers: [], completeTransfers: 1, accountsOutOfBalance: [] })
    const decisions = await shards.query('-80', 'SELECT outcome FROM shardtx_atomic_decisions ORDER BY outcome')
    expect(decisions).toEqual([{ outcome: 'commit' }, { outcome: 'abort' }])
  })

  it("two recoverers at once settle each branch once, and a second pass finds nothing; another ShardedDb's xids are left alone", async () => {
    const from = bank.accountsByShard.get('-80')![3]!
    const to = bank.accountsByShard.get('80-')![3]!
    setAtomicPhaseHookForTests(async (phase, detail) => {
      if (phase !== 'after-prepare') return
      for (const id of [detail.coordinatorConnection, ...detail.branchConnections]) await shards.query('-80', `KILL CONNECTION ${id}`).catch(() => undefined)
      throw new Error('stopped after prepare')
    })
    await bank.db.transaction((tx) => applyTransfer(tx, { id: 'p1', from, to, amount: 19 }), { crossShard: 'atomic', maxAttempts: 1 }).catch(() => undefined)
    setAtomicPhaseHookForTests(undefined)
    // A ShardedDb over other databases on the same server sees the xid in XA RECOVER, and must not touch it.
    const other = await createTestShards({ names: ['-80', '80-'] })
    try {
      const stranger = createShardedDb({ shards: other.shards, tables: BANK_TABLES, atomic: { recoverOnStart: false } })
      extraDbs.push(stranger)
      expect((await stranger.recover()).atomic).toMatchObject({ committed: 0, rolledBack: 0, inDoubt: 0 })
      const first = createShardedDb({ shards: shards.shards, tables: BANK_TABLES, atomic: { recoverOnStart: false } })
      const second = createShardedDb({ shards: shards.shards, tables: BANK_TABLES, atomic: { recoverOnStart: false } })
      extraDbs.push(first, second)
      const deadline = Date.now() + 10_000
      let settled = 0
      for (;;) {
        const reports = await Promise.all([first.recover(), second.recover()])
        settled += reports.reduce((n, r) => n + r.atomic.rolledBack + r.atomic.committed, 0)
        if (reports.every((r) => r.atomic.inProgress === 0) || Date.now() > deadline) break
      }
      expect(settled).toBe(1)
      expect((await first.recover()).atomic).toMatchObject({ committed: 0, rolledBack: 0, inDoubt: 0, inProgress: 0 })
    } finally {
      await other.drop()
    }
    expect(await preparedBranches()).toEqual([])
    const check = await checkBank(bank)
    expect(check).toMatchObject({ total: check.expectedTotal, completeTransfers: 0, brokenTransfers: [] })
  })

  it('a recoverer racing a live committer leaves its attached branch alone, and prunes its record only once no branch carries it', async () => {
    const from = bank.accountsByShard.get('-80')![1]!
    const to = bank.accountsByShard.get('80-')![1]!
    const recoverer = createShardedDb({ shards: shards.shards, tables: BANK_TABLES, atomic: { recoverOnStart: false, retainDecisionsMs: 0 } })
    extraDbs.push(recoverer)
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let reached!: () => void
    const atBranchCommit = new Promise<void>((resolve) => (reached = resolve))
    setAtomicPhaseHookForTests(async (phase) => {
      if (phase !== 'before-branch-commit') return
      reached()
      await held // the decision is durable, the branch prepared and still attached to the committer's connection
    })
    const committing = bank.db.transaction((tx) => applyTransfer(tx, { id: 'race1', from, to, amount: 2 }), { crossShard: 'atomic' })
    await atBranchCommit
    const during = await recoverer.recover()
    expect(during.atomic).toMatchObject({ committed: 0, rolledBack: 0, inDoubt: 0, inProgress: 1, pruned: 0 })
    expect(await shards.query('-80', 'SELECT outcome FROM shardtx_atomic_decisions')).toEqual([{ outcome: 'commit' }])
    release()
    await committing
    const after = await recoverer.recover()
    expect(after.atomic).toMatchObject({ committed: 0, inProgress: 0, pruned: 1 })
    expect(await shards.query('-80', 'SELECT outcome FROM shardtx_atomic_decisions')).toEqual([])
    expect(await preparedBranches()).toEqual([])
    const check = await checkBank(bank)
    expect(check).toMatchObject({ total: check.expectedTotal, completeTransfers: 1, brokenTransfers: [] })
  })

  it('db.health() and atomicStats() show in-doubt counts, and EVENT_NAMES lists the atomic events', async () => {
    expect(bank.db.health()['-80']).toMatchObject({ state: 'up', atomicInDoubt: 0 })
    expect(bank.db.atomicStats()).toMatchObject({ inDoubt: 0, inDoubtByShard: {} })
    expect(EVENT_NAMES).toEqual(expect.arrayContaining(['shardtx.atomic_prepare_failed', 'shardtx.atomic_in_doubt_found', 'shardtx.atomic_in_doubt_resolved']))
  })

  it('the decision table can be created ahead as a migration, and prepared xids are namespaced', async () => {
    for (const name of bank.db.shardNames) await bank.db.shard(name).raw(CREATE_ATOMIC_DECISIONS_TABLE)
    expect(GTRID_PREFIX).toBe('shardtx:')
    expect(AtomicOutcomeUnknownError.name).toBe('AtomicOutcomeUnknownError')
    const [{ n }] = await shards.query(
      '80-',
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'shardtx_atomic_decisions'",
    )
    expect(Number(n)).toBe(1)
  })
})
