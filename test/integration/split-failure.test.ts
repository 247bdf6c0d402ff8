/**
 * Split plans that fail for good (a constraint violation in a part), compensation hooks, the log
 * line they leave, transient failures that stay pending, and idempotency keys: on real shards.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SplitPlanFailedError, SplitPlanPendingError, keyrangeNames, type ShardedDb, type ShardedDbOptions, type SplitFailure } from '../../src/index.js'
import { setSplitPhaseHookForTests } from '../../src/policies/split/phase-hook.js'
import { BANK_SCHEMA, INITIAL_BALANCE } from '../support/bank.js'
import { capturingLogger } from '../support/foundation-fixture.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { closeSplitFixture, openSplitDb, resetSplitState } from '../support/split-lifecycle.js'

let t: TestShards
const opened: ShardedDb[] = []

const open = (options: Partial<ShardedDbOptions> = {}): ShardedDb => openSplitDb(t, opened, options)

/** From account 1 (shard -80, part 0) to account 4 (shard 80-, part 1). */
const transfer = (db: ShardedDb, id: string, amount: number, options: Record<string, unknown> = {}) =>
  db.transaction(async (tx) => {
    await tx('accounts').where({ id: 1 }).decrement('balance', amount)
    await tx('accounts').where({ id: 4 }).increment('balance', amount)
    await tx('ledger').insert({ transfer_id: id, account_id: 1, amount: -amount })
    await tx('ledger').insert({ transfer_id: id, account_id: 4, amount })
  }, options)

const balanceOf = async (id: number) => Number((await t.query(id === 4 ? '80-' : '-80', 'SELECT balance FROM accounts WHERE id = ?', [id]))[0].balance)

beforeAll(async () => {
  t = await createTestShards({ names: keyrangeNames(2) })
  await t.execAll(BANK_SCHEMA)
})
afterAll(() => closeSplitFixture(t, opened))
beforeEach(async () => {
  await resetSplitState(t)
  await t.query('-80', `INSERT INTO accounts (id, balance) VALUES (1, ${INITIAL_BALANCE})`)
  await t.query('80-', `INSERT INTO accounts (id, balance) VALUES (4, ${INITIAL_BALANCE})`)
})

describe('a part that fails for good', () => {
  it('marks the plan failed, lists applied and unapplied parts, logs it, and runs the compensation hook once', async () => {
    const { entries, logger } = capturingLogger()
    const db = open({ logger })
    await t.query('80-', "INSERT INTO ledger (transfer_id, account_id, amount) VALUES ('dup', 4, 1)") // part 1 will hit ER_DUP_ENTRY
    const failures: SplitFailure[] = []
    const err = await transfer(db, 'dup', 10, {
      compensate: async (f: SplitFailure) => {
        failures.push(f)
        // Undo the applied debit, as an application would.
        await db.shard('-80').raw('UPDATE accounts SET balance = balance + ? WHERE id = 1', [10])
      },
    }).catch((e) => e)

    expect(err).toBeInstanceOf(SplitPlanFailedError)
    expect(err).toMatchObject({
      code: 'SHARDTX_SPLIT_FAILED',
      failedShard: '80-',
      appliedShards: ['-80'],
      unappliedShards: ['80-'],
      causeCode: 'ER_DUP_ENTRY',
      replayed: false,
    })
    expect(err.message).toMatch(/Applied \(committed, kept\): \[-80\]; not applied: \[80-\]/)
    expect(err.message).toMatch(/opened at .*split-failure\.test\.ts:\d+/)
    expect(err.cause.errno).toBe(1062)
    expect(err.cause.sql).toBeUndefined() // mysql2's copy of the statement with its values spliced in

    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({ planId: err.planId, failedShard: '80-', appliedShards: ['-80'], unappliedShards: ['80-'], duringRecovery: false })
    expect(failures[0]!.parts.map((p) => p.shard)).toEqual(['-80', '80-'])
    expect(failures[0]!.parts[1]!.statements[1]).toEqual({
      sql: 'insert into `ledger` (`account_id`, `amount`, `transfer_id`) values (?, ?, ?)',
      bindings: [4, 10, 'dup'],
    })
    expect(await balanceOf(1)).toBe(INITIAL_BALANCE) // compensated
    expect(await balanceOf(4)).toBe(INITIAL_BALANCE) // part 1 rolled back

    const [row] = await t.query('-80', 'SELECT status, failure FROM shardtx_split_plans')
    expect(row.status).toBe('failed')
    expect(JSON.parse(row.failure)).toMatchObject({ partNo: 1, shard: '80-', code: 'ER_DUP_ENTRY', errno: 1062, appliedShards: ['-80'] })

    const logged = entries.find((e) => e.obj.event === 'shardtx.split_plan_failed')!
    expect(logged.level).toBe('error')
    expect(logged.obj).toMatchObject({
      planId: err.planId,
      failedShard: '80-',
      appliedShards: ['-80'],
      unappliedShards: ['80-'],
      errorCode: 'ER_DUP_ENTRY',
      compensation: 'ran',
    })
    expect(JSON.stringify(logged)).not.toContain('dup-') // no key values or driver message by default
    expect(logged.obj.message).toBeUndefined()

    // Recovery leaves a failed plan alone.
    expect(await db.recover()).toMatchObject({ recovered: 0, failed: 0, stillPending: 0 })
    expect(failures).toHaveLength(1)
  })

  it('logs the driver message, and keeps the statement with its values on the cause, only with warnings.logKeyValues', async () => {
    const { entries, logger } = capturingLogger()
    const db = open({ logger, warnings: { logKeyValues: true } })
    await t.query('80-', "INSERT INTO ledger (transfer_id, account_id, amount) VALUES ('dup2', 4, 1)")
    const err = await transfer(db, 'dup2', 1).catch((e) => e)
    expect(err).toBeInstanceOf(SplitPlanFailedError)
    expect(err.cause.sql).toMatch(/'dup2'/)
    const logged = entries.find((e) => e.obj.event === 'shardtx.split_plan_failed')!
    expect(logged.obj.message).toMatch(/Duplicate entry 'dup2-4'/)
    expect(logged.obj.compensation).toBe('none')
  })

  it('a failure in the first part applies nothing', async () => {
    const db = open()
    await t.query('-80', "INSERT INTO ledger (transfer_id, account_id, amount) VALUES ('first', 1, 1)")
    const err = await transfer(db, 'first', 5).catch((e) => e)
    expect(err).toMatchObject({ appliedShards: [], unappliedShards: ['-80', '80-'], failedShard: '-80' })
    expect([await balanceOf(1), await balanceOf(4)]).toEqual([INITIAL_BALANCE, INITIAL_BALANCE])
  })

  it('a compensation hook that throws is reported on the error and in the log', async () => {
    const { entries, logger } = capturingLogger()
    const db = open({ logger })
    await t.query('80-', "INSERT INTO ledger (transfer_id, account_id, amount) VALUES ('h', 4, 1)")
    const err = await transfer(db, 'h', 1, {
      compensate: () => {
        throw new Error('refund service down')
      },
    }).catch((e) => e)
    expect(err).toBeInstanceOf(SplitPlanFailedError)
    expect(err.compensationError.message).toBe('refund service down')
    expect(entries.find((e) => e.obj.event === 'shardtx.split_plan_failed')!.obj.compensation).toBe('threw')
  })

  it('recovery runs split.compensate for a failure it finds', async () => {
    const failures: SplitFailure[] = []
    const db = open({ split: { compensate: (f) => void failures.push(f) } })
    setSplitPhaseHookForTests((p, d) => {
      if (p === 'after-intent' && !d.recovering) throw new Error('simulated crash')
    })
    await expect(transfer(db, 'later', 3)).rejects.toThrow('simulated crash')
    setSplitPhaseHookForTests(undefined)
    await t.query('80-', "INSERT INTO ledger (transfer_id, account_id, amount) VALUES ('later', 4, 1)") // conflicts before recovery runs
    expect(await db.recover()).toMatchObject({ recovered: 0, failed: 1 })
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({ duringRecovery: true, appliedShards: ['-80'], unappliedShards: ['80-'], transactionId: expect.stringMatching(/^tx-/) })
  })
})

describe('a part that fails transiently', () => {
  it('leaves the plan pending (SplitPlanPendingError) after split.partAttempts tries; recovery finishes it', async () => {
    const db = open({ split: { partAttempts: 2 }, retry: { baseDelayMs: 1, maxDelayMs: 2 } })
    let tries = 0
    setSplitPhaseHookForTests((p, d) => {
      if (p === 'in-part' && d.shard === '80-' && !d.recovering) {
        tries++
        throw Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST' })
      }
    })
    const err = await transfer(db, 'tr', 4).catch((e) => e)
    setSplitPhaseHookForTests(undefined)
    expect(tries).toBe(2)
    expect(err).toBeInstanceOf(SplitPlanPendingError)
    expect(err).toMatchObject({ code: 'SHARDTX_SPLIT_PENDING', retryable: false, appliedShards: ['-80'], pendingShards: ['80-'], acceptance: 'accepted' })
    expect(err.message).toMatch(/Do not resubmit/)
    expect(await balanceOf(4)).toBe(INITIAL_BALANCE)
    expect(await db.recover()).toMatchObject({ recovered: 1 })
    expect([await balanceOf(1), await balanceOf(4)]).toEqual([INITIAL_BALANCE - 4, INITIAL_BALANCE + 4])
  })
})

describe('idempotency keys', () => {
  it('a resubmission with the same key applies nothing and returns the original outcome', async () => {
    const db = open()
    let calls = 0
    const submit = (amount: number) =>
      db.transaction(
        async (tx) => {
          calls++
          await tx('accounts').where({ id: 1 }).decrement('balance', amount)
          await tx('accounts').where({ id: 4 }).increment('balance', amount)
          return 'done'
        },
        { idempotencyKey: 'order-42/payment' },
      )
    expect(await submit(10)).toBe('done')
    expect(await submit(10)).toBe('done')
    expect(await submit(999)).toBe('done') // a different body with the same key: still the original plan
    expect(calls).toBe(3)
    expect([await balanceOf(1), await balanceOf(4)]).toEqual([INITIAL_BALANCE - 10, INITIAL_BALANCE + 10])
    const rows = await t.query('-80', 'SELECT idempotency_key FROM shardtx_split_plans')
    expect(rows).toHaveLength(1)
    expect(rows[0].idempotency_key).toMatch(/^[0-9a-f]{64}$/) // only a hash of the key is stored
    expect(rows[0].idempotency_key).not.toContain('order-42')
  })

  it('even a single-shard transaction with a key goes through the intent log, so it too is applied once', async () => {
    const db = open()
    const once = () => db.transaction((tx) => tx('accounts').where({ id: 1 }).decrement('balance', 1), { idempotencyKey: 'single' })
    await once()
    await once()
    expect(await balanceOf(1)).toBe(INITIAL_BALANCE - 1)
  })

  it('replays a failure: same SplitPlanFailedError, marked replayed, and the hook does not run again', async () => {
    const db = open()
    await t.query('80-', "INSERT INTO ledger (transfer_id, account_id, amount) VALUES ('k', 4, 1)")
    let hooks = 0
    const options = { idempotencyKey: 'k', compensate: () => void hooks++ }
    const first = await transfer(db, 'k', 2, options).catch((e) => e)
    const second = await transfer(db, 'k', 2, options).catch((e) => e)
    expect(first).toBeInstanceOf(SplitPlanFailedError)
    expect(second).toBeInstanceOf(SplitPlanFailedError)
    expect(second).toMatchObject({ planId: first.planId, replayed: true, appliedShards: ['-80'], unappliedShards: ['80-'], causeCode: 'ER_DUP_ENTRY' })
    expect(hooks).toBe(1)
    expect(await balanceOf(1)).toBe(INITIAL_BALANCE - 2) // the first attempt's applied part, once
  })

  it('a resubmission of a plan left pending finishes that plan instead of applying a second one', async () => {
    const db = open()
    setSplitPhaseHookForTests((p, d) => {
      if (p === 'between-parts' && !d.recovering) throw new Error('simulated crash')
    })
    await expect(transfer(db, 'pend', 6, { idempotencyKey: 'pend' })).rejects.toBeInstanceOf(SplitPlanPendingError)
    setSplitPhaseHookForTests(undefined)
    await transfer(db, 'pend', 6, { idempotencyKey: 'pend' })
    expect([await balanceOf(1), await balanceOf(4)]).toEqual([INITIAL_BALANCE - 6, INITIAL_BALANCE + 6])
    expect(await db.recover()).toMatchObject({ recovered: 0, stillPending: 0 }) // also writes the batched applied mark
    expect((await t.query('-80', 'SELECT status FROM shardtx_split_plans')).map((r) => r.status)).toEqual(['applied'])
  })

  it('is refused under other policies and validated without echoing the key', async () => {
    const db = open()
    await expect(db.transaction(async () => 1, { crossShard: 'reject', idempotencyKey: 'x' })).rejects.toThrow(
      /`idempotencyKey` applies only to \{ crossShard: 'split' \}/,
    )
    await expect(db.transaction(async () => 1, { crossShard: 'warn', reason: 'r', compensate: () => {} })).rejects.toThrow(/`compensate`/)
    const err = await db.transaction(async () => 1, { idempotencyKey: 'secret-'.repeat(200) }).catch((e) => e)
    expect(err).toBeInstanceOf(TypeError)
    expect(err.message).toMatch(/`idempotencyKey`.*a string of length 1400/)
    expect(err.message).not.toContain('secret')
    await expect(db.transaction(async () => 1, { parallelParts: 'yes' as never })).rejects.toThrow(/`parallelParts`/)
  })
})
