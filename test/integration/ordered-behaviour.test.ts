/**
 * The `ordered` policy on two real shards (-80 ranks before 80-): declared and learned lock sets,
 * restarts and their bound, inserts below the top shard, raw statements, reporting; and the two
 * lock-wait stalls the policy exists to avoid, reproduced with plain knex / mysql2.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import knexFactory, { type Knex } from 'knex'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShardedDb, type ShardedDb, type ShardedTransaction, type TransactionOptions } from '../../src/index.js'
import { keyrangeNames } from '../../src/routing/keyrange-names.js'
import { applyTransfer, BANK_TABLES, setupBank, type Bank, type Transfer } from '../support/bank.js'
import { capturingLogger } from '../support/foundation-fixture.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { barrier } from '../support/barrier.js'

let shards: TestShards
let bank: Bank
let db: ShardedDb
let LOW: number[] // accounts on -80
let HIGH: number[] // accounts on 80-
const log = capturingLogger()

beforeAll(async () => {
  shards = await createTestShards({ names: keyrangeNames(2) })
  bank = await setupBank(shards, { perShard: 6, options: { crossShard: 'ordered', logger: log.logger } })
  db = bank.db
  LOW = bank.accountsByShard.get('-80')!
  HIGH = bank.accountsByShard.get('80-')!
})
afterAll(async () => {
  await db.destroy()
  await shards.drop()
})

let transferSeq = 0
const transfer = (from: number, to: number, amount = 10): Transfer => ({ id: `b${++transferSeq}`, from, to, amount })

async function balance(id: number): Promise<number> {
  const [row] = await shards.query(db.shardOf('accounts', id), 'SELECT balance FROM accounts WHERE id = ?', [id])
  return Number(row.balance)
}

/** True when `id` is locked by some transaction: a NOWAIT locking read from outside fails at once with 1205. */
async function isLocked(id: number): Promise<boolean> {
  try {
    await shards.query(db.shardOf('accounts', id), 'SELECT id FROM accounts WHERE id = ? FOR UPDATE NOWAIT', [id])
    return false
  } catch (err) {
    if ((err as { errno?: number }).errno === 1205) return true
    throw err
  }
}

/** Runs `fn` as an ordered transaction and counts how many times the callback ran (attempts). */
async function counted(fn: (tx: ShardedTransaction, attempt: number) => Promise<void>, options: TransactionOptions = {}) {
  let attempts = 0
  await db.transaction((tx) => fn(tx, ++attempts), { crossShard: 'ordered', ...options })
  return attempts
}

/** Makes sure this ShardedDb has seen both servers (it learns from the first session whether they take the no-wait form). */
async function warmUp(): Promise<void> {
  await counted(async (tx) => {
    await tx('accounts').where({ id: LOW[5]! }).increment('balance', 0)
    await tx('accounts').where({ id: HIGH[5]! }).increment('balance', 0)
  })
}

/** An outside transaction holding `ids` (all on one shard) FOR UPDATE until `release()`. */
async function holdRows(ids: number[]): Promise<{ release: () => Promise<void> }> {
  const conn = await mysql.createConnection({ ...shards.shards[db.shardOf('accounts', ids[0]!)]! })
  await conn.query('BEGIN')
  await conn.query(`SELECT id FROM accounts WHERE id IN (${ids.map(() => '?').join(',')}) FOR UPDATE`, ids)
  let released = false
  return {
    release: async () => {
      if (released) return
      released = true
      await conn.query('COMMIT')
      await conn.end()
    },
  }
}

describe('declared lock set', () => {
  it('takes the declared rows in canonical order before the first statement that needs them, commits in canonical order, runs the callback once', async () => {
    const [a, b] = [LOW[0]!, HIGH[0]!]
    const [before_a, before_b] = [await balance(a), await balance(b)]
    const commits: string[] = []
    const onCommit = (msg: unknown) => commits.push((msg as { shard: string }).shard)
    diagnosticsChannel.subscribe('shardtx:shard-commit', onCommit)
    let lockedAfterFirst: boolean[] = []
    try {
      const attempts = await counted(
        async (tx) => {
          const t = transfer(b, a) // starts on the higher shard: would restart if learned
          await tx('accounts').where({ id: t.from }).decrement('balance', t.amount)
          // The first statement reached 80-, so -80's declared row was locked before it, in order.
          lockedAfterFirst = [await isLocked(a), await isLocked(b)]
          await tx('accounts').where({ id: t.to }).increment('balance', t.amount)
          await tx('ledger').insert({ transfer_id: t.id, account_id: t.from, amount: -t.amount })
          await tx('ledger').insert({ transfer_id: t.id, account_id: t.to, amount: t.amount })
        },
        { lock: { accounts: [b, a] } },
      )
      expect(attempts).toBe(1)
    } finally {
      diagnosticsChannel.unsubscribe('shardtx:shard-commit', onCommit)
    }
    expect(lockedAfterFirst).toEqual([true, true])
    expect(commits).toEqual(['-80', '80-'])
    expect([await balance(a), await balance(b)]).toEqual([before_a + 10, before_b - 10])
  })

  it('a read of a declared row finds it locked: declared rows are taken before any statement reaches their shard', async () => {
    const [a, b] = [LOW[1]!, HIGH[1]!]
    let seen: { lockedBeforeRead: boolean[]; lockedAfterRead: boolean[] } | undefined
    await counted(
      async (tx) => {
        const lockedBeforeRead = [await isLocked(a), await isLocked(b)]
        await tx('accounts').where({ id: b }).first() // a plain read of 80-: takes -80's and 80-'s declared rows first
        seen = { lockedBeforeRead, lockedAfterRead: [await isLocked(a), await isLocked(b)] }
      },
      { lock: { accounts: [a, b] } },
    )
    expect(seen).toEqual({ lockedBeforeRead: [false, false], lockedAfterRead: [true, true] })
  })

  it('raw SQL through tx.shard(name) also finds the declared rows up to its shard locked first', async () => {
    const [a, b] = [LOW[3]!, HIGH[3]!]
    let lockedAfterRaw: boolean[] = []
    const attempts = await counted(
      async (tx) => {
        await tx.shard('80-').raw('UPDATE accounts SET balance = balance + 0 WHERE id = ?', [b])
        lockedAfterRaw = [await isLocked(a), await isLocked(b)]
      },
      { lock: { accounts: [a, b] } },
    )
    expect(attempts).toBe(1)
    expect(lockedAfterRaw).toEqual([true, true])
  })

  it('declared rows the callback never reaches are still locked before commit', async () => {
    const [a, b] = [LOW[2]!, HIGH[2]!]
    const holder = await holdRows([b])
    const releasedAt = { t: 0 }
    setTimeout(() => {
      releasedAt.t = performance.now()
      void holder.release()
    }, 300)
    try {
      await counted(async (tx) => void (await tx('accounts').where({ id: a }).increment('balance', 0)), { lock: { accounts: [a, b] } })
      // The transaction ended only after the holder let b go 300 ms later: its commit had to lock b.
      expect(releasedAt.t).toBeGreaterThan(0)
    } finally {
      await holder.release()
    }
  })
})

describe('learned lock set', () => {
  it('a transfer that reaches a lower shard after locking a higher one takes the free row there without waiting: one attempt', async () => {
    await warmUp()
    const [a, b] = [LOW[1]!, HIGH[1]!]
    const [before_a, before_b] = [await balance(a), await balance(b)]
    const attempts = await counted((tx) => applyTransfer(tx, transfer(b, a)))
    expect(attempts).toBe(1)
    expect([await balance(a), await balance(b)]).toEqual([before_a + 10, before_b - 10])
  })

  it('restarts when the lower-shard row is busy; the next attempt takes both rows in canonical order', async () => {
    await warmUp()
    const [a, b] = [LOW[3]!, HIGH[3]!]
    const [before_a, before_b] = [await balance(a), await balance(b)]
    const holder = await holdRows([a])
    const lockedAfterFirst: boolean[][] = []
    try {
      const attempts = await counted(async (tx, attempt) => {
        if (attempt === 2) await holder.release()
        await tx('accounts').where({ id: b }).decrement('balance', 10) // 80-
        lockedAfterFirst.push([await isLocked(a), await isLocked(b)])
        await tx('accounts').where({ id: a }).increment('balance', 10) // -80: busy in attempt 1, refused at once
      })
      expect(attempts).toBe(2)
    } finally {
      await holder.release()
    }
    expect(lockedAfterFirst).toEqual([
      [true, true], // attempt 1: a held by the outside transaction, b by us
      [true, true], // attempt 2: a taken (in order) before b
    ])
    expect([await balance(a), await balance(b)]).toEqual([before_a + 10, before_b - 10])
    expect(log.entries.some((e) => e.level === 'debug' && e.obj.event === 'shardtx.lock_restart' && e.obj.cause === 'busy' && e.obj.shard === '-80')).toBe(true)
  })

  it('two transfers in opposite directions, forced to interleave, both commit: the one that would wait on a lower shard restarts instead', async () => {
    await warmUp()
    const [a, b] = [LOW[2]!, HIGH[2]!]
    const [before_a, before_b] = [await balance(a), await balance(b)]
    const bothHoldOneRow = barrier(2)
    const attempts = { up: 0, down: 0 }
    await Promise.all([
      db.transaction(
        async (tx) => {
          attempts.up++
          await tx('accounts').where({ id: a }).decrement('balance', 1) // -80
          if (attempts.up === 1) await bothHoldOneRow()
          await tx('accounts').where({ id: b }).increment('balance', 1) // 80-: waits for the other, in order
        },
        { crossShard: 'ordered' },
      ),
      db.transaction(
        async (tx) => {
          attempts.down++
          await tx('accounts').where({ id: b }).decrement('balance', 2) // 80-
          if (attempts.down === 1) await bothHoldOneRow()
          await tx('accounts').where({ id: a }).increment('balance', 2) // -80 while holding 80-: busy, refused at once, restart
        },
        { crossShard: 'ordered' },
      ),
    ])
    // Naively these two would wait on each other until innodb_lock_wait_timeout (50 s by default).
    expect(attempts).toEqual({ up: 1, down: 2 })
    expect([await balance(a), await balance(b)]).toEqual([before_a + 1, before_b - 1])
  })
})

describe('the stall ordered avoids, with plain knex', () => {
  it('two transactions held open on two shard databases in opposite orders wait on each other until the lock wait timeout', async () => {
    const [a, b] = [LOW[3]!, HIGH[3]!]
    const knexes = Object.fromEntries(
      ['-80', '80-'].map((s) => [s, knexFactory({ client: 'mysql2', connection: shards.shards[s]!, pool: { min: 0, max: 4 } })]),
    ) as Record<string, Knex>
    const begin = async (shard: string) => {
      const trx = await knexes[shard]!.transaction()
      await trx.raw('SET SESSION innodb_lock_wait_timeout = 1') // default 50 s; 1 s keeps the test short
      return trx
    }
    const bothHoldOneRow = barrier(2)
    const naive = async (first: [string, number], second: [string, number]) => {
      const open: Knex.Transaction[] = []
      try {
        open.push(await begin(first[0]))
        await open[0]!('accounts').where({ id: first[1] }).decrement('balance', 1)
        await bothHoldOneRow()
        open.push(await begin(second[0]))
        await open[1]!('accounts').where({ id: second[1] }).increment('balance', 1)
        for (const trx of open) await trx.commit()
        return undefined
      } catch (err) {
        for (const trx of open) await trx.rollback().catch(() => undefined)
        return err as { errno?: number }
      }
    }
    try {
      const errors = await Promise.all([naive(['-80', a], ['80-', b]), naive(['80-', b], ['-80', a])])
      const failed = errors.filter((e) => e !== undefined)
      // Neither server sees a cycle (no 1213): each sees one ordinary lock wait, ended only by the timeout.
      expect(failed.length).toBeGreaterThanOrEqual(1)
      expect(failed.map((e) => e!.errno)).toEqual(failed.map(() => 1205))
    } finally {
      await Promise.all(Object.values(knexes).map((k) => k.destroy()))
    }
  })
})

describe('inserts (rows that do not exist yet)', () => {
  it('sends an insert below the top shard without waiting: a gap lock held elsewhere fails the attempt at once, and it is retried', async () => {
    const [a, b] = [LOW[4]!, HIGH[4]!]
    // Another client takes a gap lock on ledger at -80 (a locking read of a row that does not exist).
    const blocker = await mysql.createConnection({ ...shards.shards['-80']! })
    await blocker.query('BEGIN')
    await blocker.query("SELECT * FROM ledger WHERE transfer_id = 'zzz' AND account_id = ? FOR UPDATE", [a])
    const retries: unknown[] = []
    const probe = createShardedDb({
      shards: shards.shards,
      tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } },
      crossShard: 'ordered',
      logger: {
        ...capturingLogger().logger,
        debug(obj: object) {
          if ((obj as { event?: string }).event !== 'shardtx.transaction_retry') return
          retries.push(obj)
          void blocker.query('COMMIT') // the retry finds the gap free
        },
      },
    })
    let attempts = 0
    try {
      // Had the insert waited, it would have waited 50 s (the default) for the blocker, and this
      // test would hit its timeout below; the blocker lets go only when the attempt has failed.
      await probe.transaction(
        (tx) => {
          attempts++
          return applyTransfer(tx, transfer(b, a)) // ledger row of `a` goes to -80 while 80- is held
        },
        { crossShard: 'ordered', lock: { accounts: [a, b] } },
      )
    } finally {
      await probe.destroy()
      await blocker.end()
    }
    expect(attempts).toBe(2)
    expect(retries).toMatchObject([{ errorCode: 'ER_LOCK_WAIT_TIMEOUT', attempt: 1 }])
  }, 20_000)

  it('restarts when an insert needs a session on a lower shard and no connection there is free, so connections are taken in canonical order too', async () => {
    const [a, b] = [LOW[5]!, HIGH[5]!]
    const id = `ins${++transferSeq}`
    // One connection per shard: while `other` holds -80's, a session there could only be waited for.
    const small = createShardedDb({ shards: shards.shards, tables: BANK_TABLES, crossShard: 'ordered', pool: { max: 1 } })
    const otherHolds = barrier(2)
    let letOtherGo!: () => void
    const otherMayCommit = new Promise<void>((resolve) => (letOtherGo = resolve))
    let attempts = 0
    try {
      const other = small.transaction(async (tx) => {
        await tx('accounts').where({ id: LOW[4]! }).increment('balance', 0) // takes -80's only connection
        await otherHolds()
        await otherMayCommit
      })
      await otherHolds()
      await small.transaction(
        async (tx) => {
          attempts++
          if (attempts === 2) letOtherGo() // the restarted attempt waits for -80's connection first, in order
          await tx('accounts').where({ id: b }).decrement('balance', 3) // 80-
          await tx('ledger').insert({ transfer_id: id, account_id: a, amount: 3 }) // -80: no session there, none free
        },
        { crossShard: 'ordered' },
      )
      await other
    } finally {
      letOtherGo()
      await small.destroy()
    }
    expect(attempts).toBe(2)
    expect(await shards.query('-80', 'SELECT amount FROM ledger WHERE transfer_id = ?', [id])).toEqual([{ amount: 3 }])
  })

  it('pre-locking a missing row does not protect a later insert: gap locks are shared, and the insert closes a cross-shard cycle', async () => {
    // Why the policy sends such inserts without waiting instead of "locking" them up front:
    // A and B both lock the same missing row on -80 in canonical order (no conflict, gap locks are
    // shared), then A locks a row on 80-, B waits for it, and A's insert on -80 waits for B's gap lock.
    const conn = (shard: string) => mysql.createConnection({ ...shards.shards[shard]! })
    const [aLow, aHigh, bLow, bHigh] = await Promise.all([conn('-80'), conn('80-'), conn('-80'), conn('80-')])
    const all = [aLow, aHigh, bLow, bHigh]
    try {
      for (const c of all) await c.query('SET SESSION innodb_lock_wait_timeout = 1') // default 50 s
      for (const c of all) await c.query('BEGIN')
      await aLow.query("SELECT * FROM ledger WHERE transfer_id = 'gap-a' AND account_id = ? FOR UPDATE", [LOW[0]])
      await bLow.query("SELECT * FROM ledger WHERE transfer_id = 'gap-b' AND account_id = ? FOR UPDATE", [LOW[0]])
      await aHigh.query('SELECT id FROM accounts WHERE id = ? FOR UPDATE', [HIGH[0]])
      const bWaits = bHigh.query('SELECT id FROM accounts WHERE id = ? FOR UPDATE', [HIGH[0]]).then(
        () => undefined,
        (e: { errno: number }) => e.errno,
      )
      const aInserts = aLow.query("INSERT INTO ledger VALUES ('gap-a', ?, 1)", [LOW[0]]).then(
        () => undefined,
        (e: { errno: number }) => e.errno,
      )
      const outcomes = await Promise.all([aInserts, bWaits])
      // Both waits end only by timeout: no server saw a cycle (that would be 1213 at once).
      expect(outcomes).toContain(1205)
      expect(outcomes).not.toContain(1213)
    } finally {
      for (const c of all) await c.query('ROLLBACK').catch(() => undefined)
      await Promise.all(all.map((c) => c.end()))
    }
  })
})

describe('raw statements and the restart bound', () => {
  it('restarts when tx.shard(name) opens a session on a lower shard', async () => {
    const [a, b] = [LOW[0]!, HIGH[0]!]
    const before_a = await balance(a)
    const attempts = await counted(async (tx) => {
      await tx('accounts').where({ id: b }).decrement('balance', 1)
      await tx.shard('-80').raw('UPDATE accounts SET balance = balance + 1 WHERE id = ?', [a])
    })
    expect(attempts).toBe(2)
    expect(await balance(a)).toBe(before_a + 1)
  })

  it('past maxLockRestarts, fails with an error naming the shards and tables that kept changing and suggesting `lock`; nothing committed', async () => {
    await warmUp()
    const b = HIGH[1]!
    const before = await Promise.all([b, ...LOW].map(balance))
    // A different lower-shard row every attempt, each busy when tried: the lock set never settles.
    const holders = await Promise.all(LOW.slice(1, 4).map((id) => holdRows([id])))
    let attempts = 0
    const err = await db
      .transaction(
        async (tx) => {
          attempts++
          if (attempts > 1) await holders[attempts - 2]!.release() // the row the previous attempt found busy
          await tx('accounts').where({ id: b }).decrement('balance', 1)
          await tx('accounts').where({ id: LOW[attempts]! }).increment('balance', 1)
        },
        { crossShard: 'ordered', maxLockRestarts: 2 },
      )
      .catch((e: unknown) => e)
      .finally(() => Promise.all(holders.map((h) => h.release())))
    expect(attempts).toBe(3)
    expect(err).toMatchObject({ name: 'LockSetUnstableError', code: 'SHARDTX_LOCK_SET_UNSTABLE', retryable: false })
    const message = (err as Error).message
    expect(message).toMatch(/after 2 restarts \(maxLockRestarts\)/)
    expect(message).toMatch(
      /attempt 1: rows of accounts on shard -80 \(locked by another transaction\) while holding shard 80-; attempt 2: .*; attempt 3 \(refused\)/,
    )
    expect(message).toMatch(/lock: \{ accounts: \[/)
    expect(message).toMatch(/ordered-behaviour\.test\.ts:\d+/)
    expect((err as { restarts: unknown[] }).restarts).toHaveLength(3)
    expect(await Promise.all([b, ...LOW].map(balance))).toEqual(before)
  })

  it('with maxLockRestarts: 0, refuses the first out-of-order statement without restarting', async () => {
    await warmUp()
    const holder = await holdRows([LOW[2]!])
    let attempts = 0
    const err = await db
      .transaction(
        async (tx) => {
          attempts++
          await tx('accounts').where({ id: HIGH[2]! }).decrement('balance', 1)
          await tx('accounts').where({ id: LOW[2]! }).increment('balance', 1) // busy: refused at once
        },
        { crossShard: 'ordered', maxLockRestarts: 0 },
      )
      .catch((e: unknown) => e)
      .finally(() => holder.release())
    expect(attempts).toBe(1)
    expect(err).toMatchObject({ code: 'SHARDTX_LOCK_SET_UNSTABLE' })
  })
})

describe('reporting', () => {
  it('publishes every cross-shard ordered transaction on the diagnostics channel and logs at most one per origin, at debug level', async () => {
    const events: { policy: string; shards: string[] }[] = []
    const onEvent = (e: unknown) => events.push(e as { policy: string; shards: string[] })
    diagnosticsChannel.subscribe('shardtx:cross-shard-transaction', onEvent)
    const logged = log.entries.length
    try {
      for (let i = 0; i < 3; i++) {
        const t = transfer(LOW[i]!, HIGH[i]!, 1)
        await db.transaction((tx) => applyTransfer(tx, t), { crossShard: 'ordered', lock: { accounts: [t.from, t.to] } })
      }
    } finally {
      diagnosticsChannel.unsubscribe('shardtx:cross-shard-transaction', onEvent)
    }
    expect(events).toHaveLength(3)
    expect(events.every((e) => e.policy === 'ordered' && e.shards.join() === '-80,80-')).toBe(true)
    const fresh = log.entries.slice(logged)
    expect(fresh.filter((e) => e.obj.event === 'shardtx.cross_shard_transaction').map((e) => e.level)).toEqual(['debug'])
    expect(fresh.filter((e) => e.level === 'warn')).toEqual([])
  })
})
