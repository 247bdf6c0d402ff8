/**
 * The `split` policy on two real shards: one transaction per shard in canonical order, the intent
 * log written before any part, reads on committed data, and write results that refuse to be used.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { inspect } from 'node:util'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SplitUnsupportedError, SplitWriteResultError, keyrangeNames, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { setSplitPhaseHookForTests, type SplitPhase } from '../../src/policies/split/phase-hook.js'
import { BANK_SCHEMA, INITIAL_BALANCE } from '../support/bank.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { closeSplitFixture, openSplitDb, resetSplitState } from '../support/split-lifecycle.js'

let t: TestShards
const opened: ShardedDb[] = []
// With the Vitess hash vindex, ids 1, 2, 3, 5 live on -80 and 4, 6 on 80-.
const LOW = [1, 2, 3, 5]
const HIGH = [4, 6]

const open = (options: Partial<ShardedDbOptions> = {}): ShardedDb => openSplitDb(t, opened, options)

const balance = async (id: number) => {
  const shard = HIGH.includes(id) ? '80-' : '-80'
  const [row] = await t.query(shard, 'SELECT balance FROM accounts WHERE id = ?', [id])
  return Number(row.balance)
}

beforeAll(async () => {
  t = await createTestShards({ names: keyrangeNames(2) })
  await t.execAll(BANK_SCHEMA)
})
afterAll(() => closeSplitFixture(t, opened))
beforeEach(async () => {
  await resetSplitState(t)
  await t.query('-80', `INSERT INTO accounts (id, balance) VALUES ${LOW.map((id) => `(${id}, ${INITIAL_BALANCE})`).join(',')}`)
  await t.query('80-', `INSERT INTO accounts (id, balance) VALUES ${HIGH.map((id) => `(${id}, ${INITIAL_BALANCE})`).join(',')}`)
})

/** Debit on 80-, credit on -80: the callback's order is the reverse of canonical order. */
const transfer = (tx: (table: string) => any, id: string, from = 4, to = 1, amount = 10) =>
  (async () => {
    await tx('accounts').where({ id: from }).decrement('balance', amount)
    await tx('accounts').where({ id: to }).increment('balance', amount)
    await tx('ledger').insert({ transfer_id: id, account_id: from, amount: -amount })
    await tx('ledger').insert({ transfer_id: id, account_id: to, amount })
  })()

describe('split: one transaction per shard', () => {
  it("applies each shard's writes as its own transaction, shards in canonical order, after the intent is stored", async () => {
    const db = open()
    const seen: { phase: SplitPhase; shard?: string | undefined; connectionId?: number | undefined; plans: number }[] = []
    setSplitPhaseHookForTests((phase, d) => seen.push({ phase, shard: d.shard, connectionId: d.connectionId, plans: -1 }))
    await db.transaction((tx) => transfer(tx, 'a'))
    setSplitPhaseHookForTests(undefined)

    expect(await balance(4)).toBe(INITIAL_BALANCE - 10)
    expect(await balance(1)).toBe(INITIAL_BALANCE + 10)
    expect(seen.filter((s) => s.phase === 'in-part').map((s) => s.shard)).toEqual(['-80', '80-'])
    expect(seen.map((s) => s.phase)).toEqual([
      'after-intent',
      'in-part',
      'before-commit',
      'during-commit',
      'part-ended',
      'between-parts',
      'in-part',
      'before-commit',
      'during-commit',
      'part-ended',
      'before-mark-applied',
    ])
    // Two different server connections, one per part: no session ever spanned shards.
    const connections = seen.filter((s) => s.phase === 'in-part').map((s) => s.connectionId)
    expect(new Set(connections).size).toBe(2)

    // A plan's own status is written in batches after the fact; recover() writes queued marks first.
    expect(await db.recover()).toMatchObject({ recovered: 0, stillPending: 0 })
    const [plan] = await t.query('-80', 'SELECT status, part_count, plan, finished_at FROM shardtx_split_plans')
    expect(plan).toMatchObject({ status: 'applied', part_count: 2 })
    const parts = JSON.parse(plan.plan).parts
    expect(parts.map((p: { shard: string }) => p.shard)).toEqual(['-80', '80-'])
    expect(parts[1].statements[0]).toEqual({ sql: 'update `accounts` set `balance` = `balance` - ? where `id` = ?', bindings: [10, 4] })
    expect(await t.query('-80', 'SELECT part_no FROM shardtx_split_applied')).toEqual([{ part_no: 0 }])
    expect(await t.query('80-', 'SELECT part_no FROM shardtx_split_applied')).toEqual([{ part_no: 1 }])
  })

  it('runs a single-shard split transaction as one ordinary transaction, without an intent log row', async () => {
    const db = open()
    await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 1 }).decrement('balance', 5)
      await tx('accounts').where({ id: 2 }).increment('balance', 5)
    })
    expect([await balance(1), await balance(2)]).toEqual([INITIAL_BALANCE - 5, INITIAL_BALANCE + 5])
    expect(await t.query('-80', "SHOW TABLES LIKE 'shardtx_split_plans'")).toEqual([])
  })

  it('routes one multi-row insert to every shard it touches', async () => {
    const db = open()
    await db.transaction((tx) =>
      tx('ledger').insert([
        { transfer_id: 'multi', account_id: 1, amount: 1 },
        { transfer_id: 'multi', account_id: 4, amount: -1 },
        { transfer_id: 'multi', account_id: 2, amount: 2 },
      ]),
    )
    expect((await t.query('-80', "SELECT account_id FROM ledger WHERE transfer_id = 'multi' ORDER BY 1")).map((r) => Number(r.account_id))).toEqual([1, 2])
    expect((await t.query('80-', "SELECT account_id FROM ledger WHERE transfer_id = 'multi'")).map((r) => Number(r.account_id))).toEqual([4])
  })

  it('runs parts concurrently when parallelParts is set, still one transaction per shard', async () => {
    const db = open()
    const phases: SplitPhase[] = []
    setSplitPhaseHookForTests((phase) => phases.push(phase))
    await db.transaction((tx) => transfer(tx, 'p'), { parallelParts: true })
    expect([await balance(4), await balance(1)]).toEqual([INITIAL_BALANCE - 10, INITIAL_BALANCE + 10])
    // Both parts are started together (no 'between-parts' step); still one session per part.
    expect(phases.filter((p) => p === 'in-part')).toHaveLength(2)
    expect(phases).not.toContain('between-parts')
    await db.recover() // writes the batched applied mark
    const [plan] = await t.query('-80', 'SELECT status, parallel_parts FROM shardtx_split_plans')
    expect(plan).toEqual({ status: 'applied', parallel_parts: 1 })
  })
})

describe('split: reporting', () => {
  it('publishes every multi-shard split transaction on the cross-shard diagnostics channel, none for one shard', async () => {
    const db = open()
    const events: Record<string, unknown>[] = []
    const listener = (e: unknown) => events.push(e as Record<string, unknown>)
    diagnosticsChannel.subscribe('shardtx:cross-shard-transaction', listener)
    try {
      await db.transaction((tx) => transfer(tx, 'ch'))
      await db.transaction((tx) => tx('accounts').where({ id: 1 }).increment('balance', 1))
      await t.query('80-', "INSERT INTO ledger (transfer_id, account_id, amount) VALUES ('ch2', 4, 1)")
      await db.transaction((tx) => transfer(tx, 'ch2')).catch(() => undefined) // part on 80- fails after -80 applied
    } finally {
      diagnosticsChannel.unsubscribe('shardtx:cross-shard-transaction', listener)
    }
    expect(events.map((e) => [e.policy, e.shards, e.outcome])).toEqual([
      ['split', ['-80', '80-'], 'committed'],
      ['split', ['-80', '80-'], 'partial commit'],
    ])
    expect(events[0]).toMatchObject({ tables: ['accounts', 'ledger'], origin: expect.stringMatching(/split\.test\.ts:\d+/) })
  })
})

describe('split: reads', () => {
  it("see committed data, not the callback's own pending writes", async () => {
    const db = open()
    const inside = await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 4 }).decrement('balance', 10)
      await tx('accounts').where({ id: 1 }).increment('balance', 10)
      return Number((await tx('accounts').where({ id: 1 }).first()).balance)
    })
    expect(inside).toBe(INITIAL_BALANCE)
    expect(await balance(1)).toBe(INITIAL_BALANCE + 10)
  })
})

describe('split: results of writes', () => {
  it('refuses arithmetic, comparison, destructuring and property reads on a write result, and applies nothing', async () => {
    const db = open()
    const uses: [string, (n: any) => unknown][] = [
      ['n + 1', (n) => n + 1],
      ['n > 0', (n) => n > 0],
      ['`${n}`', (n) => `${n}`],
      [
        'const [id] = n',
        (n) => {
          const [id] = n
          return id
        },
      ],
      ['n.affectedRows', (n) => n.affectedRows],
      ['JSON.stringify(n)', (n) => JSON.stringify(n)],
      ["'x' in n", (n) => 'x' in n],
      ['Object.keys(n)', (n) => Object.keys(n)],
    ]
    for (const [label, use] of uses) {
      let caught: unknown
      const err = await db
        .transaction(async (tx) => {
          const n = await tx('accounts').where({ id: 4 }).decrement('balance', 10)
          await tx('accounts').where({ id: 1 }).increment('balance', 10)
          try {
            use(n)
          } catch (e) {
            caught = e // swallowing it must not let the plan through
          }
        })
        .catch((e) => e)
      expect(caught, label).toBeInstanceOf(SplitWriteResultError)
      expect(err, label).toBe(caught)
      expect(err.code).toBe('SHARDTX_SPLIT_WRITE_RESULT')
      expect(err.message).toMatch(/an update on `accounts` \(at .*split\.test\.ts:\d+:\d+\)/)
      expect(err.message).toMatch(/crossShard: 'ordered'/)
      expect(err.message).toMatch(/nothing was applied/)
    }
    expect([await balance(4), await balance(1)]).toEqual([INITIAL_BALANCE, INITIAL_BALANCE])
    expect(await t.query('-80', "SHOW TABLES LIKE 'shardtx_split_plans'")).toEqual([])
  })

  it('insert ids: `const [id] = await tx(t).insert(...)` fails at once, pointing to ordered', async () => {
    const db = open()
    const err = await db
      .transaction(async (tx) => {
        const [id] = await tx('ledger').insert({ transfer_id: 'i', account_id: 1, amount: 1 })
        return id
      })
      .catch((e) => e)
    expect(err).toBeInstanceOf(SplitWriteResultError)
    expect(err.message).toMatch(/an insert on `ledger`/)
    expect(await t.query('-80', "SELECT * FROM ledger WHERE transfer_id = 'i'")).toEqual([])
  })

  it('a result returned from the callback still refuses use after commit, and shows what it is when inspected', async () => {
    const db = open()
    const n: any = await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 1 }).increment('balance', 1)
      return tx('accounts').where({ id: 4 }).decrement('balance', 1)
    })
    expect(await balance(4)).toBe(INITIAL_BALANCE - 1) // committed: the use comes later
    expect(inspect(n)).toMatch(/SplitWriteResult of an update on `accounts`: not available under crossShard 'split'/)
    let err: any
    try {
      void (n + 0)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(SplitWriteResultError)
    expect(err.message).not.toMatch(/nothing was applied/)
  })
})

describe('split: statements it cannot plan', () => {
  it('refuses a locking read, pointing to ordered, and applies nothing', async () => {
    const db = open()
    const err = await db
      .transaction(async (tx) => {
        await tx('accounts').where({ id: 4 }).decrement('balance', 10)
        try {
          await tx('accounts').where({ id: 1 }).forUpdate().first()
        } catch {
          // swallowed: the transaction is doomed anyway
        }
      })
      .catch((e) => e)
    expect(err).toBeInstanceOf(SplitUnsupportedError)
    expect(err.message).toMatch(/locking read .*forUpdate.*crossShard: 'ordered'/)
    expect(await balance(4)).toBe(INITIAL_BALANCE)
  })

  it('refuses writes through tx.shard(), allows readOnly reads there', async () => {
    const db = open()
    const rows = await db.transaction((tx) => tx.shard('80-', { readOnly: true }).raw('SELECT COUNT(*) AS n FROM accounts'))
    expect(Number(rows[0][0].n)).toBe(2)
    const err = await db.transaction((tx) => tx.shard('80-').raw('UPDATE accounts SET balance = 0')).catch((e) => e)
    expect(err).toBeInstanceOf(SplitUnsupportedError)
    expect(err.message).toMatch(/tx\.shard\('80-'\)/)
    expect(await balance(4)).toBe(INITIAL_BALANCE)
  })

  it('refuses a value it cannot store exactly, at the statement', async () => {
    const db = open()
    // mysql2 would render NaN as the bare word NaN: the statement could never run, now or in recovery.
    // (knex sorts insert columns: account_id, amount, transfer_id, so amount is binding 2.)
    const err = await db.transaction((tx) => tx('ledger').insert({ transfer_id: 'o', account_id: 1, amount: Number.NaN })).catch((e) => e)
    expect(err).toBeInstanceOf(SplitUnsupportedError)
    expect(err.message).toMatch(/binding 2 of an insert on `ledger` is the number NaN/)
  })

  it('bounds the plan size (split.maxPlanBytes)', async () => {
    const db = open({ split: { maxPlanBytes: 2048 } })
    const err = await db
      .transaction(async (tx) => {
        for (let i = 0; i < 100; i++) await tx('ledger').insert({ transfer_id: `big-${i}`, account_id: i % 2 ? 1 : 4, amount: i })
      })
      .catch((e) => e)
    expect(err).toBeInstanceOf(SplitUnsupportedError)
    expect(err.message).toMatch(/split\.maxPlanBytes \(2048 bytes\)/)
    expect(await t.query('-80', "SELECT * FROM ledger WHERE transfer_id LIKE 'big-%'")).toEqual([])
  })
})
