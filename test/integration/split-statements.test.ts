/**
 * What `split` sends, statement by statement, read from mysql2's own `mysql2:query` tracing
 * channel (every statement any connection sends, BEGIN and COMMIT included), filtered to this
 * file's shard databases: parts start without a BEGIN, concurrent plans share one intent-log
 * INSERT, and the callback's read sessions are returned before the parts need connections.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { keyrangeNames, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { BANK_SCHEMA, INITIAL_BALANCE } from '../support/bank.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { closeSplitFixture, openSplitDb, resetSplitState } from '../support/split-lifecycle.js'

let t: TestShards
const opened: ShardedDb[] = []
// With the Vitess hash vindex, ids 1, 2, 3, 5 live on -80 and 4, 6 on 80-.
const LOW = [1, 2, 3, 5]
const HIGH = [4, 6]

const open = (options: Partial<ShardedDbOptions> = {}): ShardedDb => openSplitDb(t, opened, options)

/** Statements sent to this file's databases while `record` is on, as `shard: SQL`. */
let sent: string[] = []
let recording = false
const shardOfDatabase = new Map<string, string>()
const onStart = (message: unknown) => {
  const { query, database } = message as { query: string; database: string }
  const shard = shardOfDatabase.get(database)
  if (recording && shard !== undefined) sent.push(`${shard}: ${query}`)
}
const tracing = diagnosticsChannel.tracingChannel('mysql2:query')
const subscribers = { start: onStart, end() {}, asyncStart() {}, asyncEnd() {}, error() {} }

async function record(work: () => Promise<unknown>): Promise<string[]> {
  sent = []
  recording = true
  try {
    await work()
  } finally {
    recording = false
  }
  return sent
}

const balance = async (id: number) => {
  const [row] = await t.query(HIGH.includes(id) ? '80-' : '-80', 'SELECT balance FROM accounts WHERE id = ?', [id])
  return Number(row.balance)
}

/** Debit on 80-, credit on -80: the callback's order is the reverse of canonical order. */
const transfer = (tx: (table: string) => any, from: number, to: number, amount: number) =>
  (async () => {
    await tx('accounts').where({ id: from }).decrement('balance', amount)
    await tx('accounts').where({ id: to }).increment('balance', amount)
  })()

beforeAll(async () => {
  t = await createTestShards({ names: keyrangeNames(2) })
  await t.execAll(BANK_SCHEMA)
  t.names.forEach((name, i) => shardOfDatabase.set(t.databases[i]!, name))
  tracing.subscribe(subscribers)
})
afterAll(async () => {
  tracing.unsubscribe(subscribers)
  await closeSplitFixture(t, opened)
})
beforeEach(async () => {
  await resetSplitState(t)
  await t.query('-80', `INSERT INTO accounts (id, balance) VALUES ${LOW.map((id) => `(${id}, ${INITIAL_BALANCE})`).join(',')}`)
  await t.query('80-', `INSERT INTO accounts (id, balance) VALUES ${HIGH.map((id) => `(${id}, ${INITIAL_BALANCE})`).join(',')}`)
})
afterEach(() => {
  recording = false
})

describe('split: statements per transaction', () => {
  it('sends the plan, then on each shard its applied marker, its writes and COMMIT: no BEGIN', async () => {
    const db = open()
    await db.transaction((tx) => transfer(tx, 4, 1, 1)) // creates the intent-log tables and the connections
    await db.recover() // writes that plan's batched applied mark now, not during the recording
    const statements = await record(() => db.transaction((tx) => transfer(tx, 4, 1, 10)))
    const shapes = statements.map((s) => s.replace(/^(\S+: \w+ \w*\s*`?\w+`?).*$/s, '$1'))
    expect(shapes).toEqual([
      '-80: INSERT INTO shardtx_split_plans',
      '-80: INSERT INTO shardtx_split_applied',
      '-80: update `accounts`',
      '-80: COMMIT',
      '80-: INSERT INTO shardtx_split_applied',
      '80-: update `accounts`',
      '80-: COMMIT',
    ])
    expect([await balance(4), await balance(1)]).toEqual([INITIAL_BALANCE - 11, INITIAL_BALANCE + 11])
  })

  it('stores concurrent plans with shared INSERTs; each plan is applied once', async () => {
    const db = open()
    await db.transaction((tx) => transfer(tx, 4, 1, 1))
    const count = 40
    const statements = await record(() =>
      Promise.all(Array.from({ length: count }, (_, i) => db.transaction((tx) => transfer(tx, HIGH[i % 2]!, LOW[i % 4]!, 1)))),
    )
    const planInserts = statements.filter((s) => s.startsWith('-80: INSERT INTO shardtx_split_plans'))
    // Every plan's row in some INSERT, and fewer INSERTs than plans: at least one carried several.
    const rowsInserted = planInserts.reduce((n, s) => n + (s.match(/'pending'/g) ?? []).length, 0)
    expect(rowsInserted).toBe(count)
    expect(planInserts.length).toBeLessThan(count)
    expect(await t.query('-80', 'SELECT COUNT(*) AS n FROM shardtx_split_plans')).toEqual([{ n: count + 1 }])
    expect(await t.query('80-', 'SELECT COUNT(*) AS n FROM shardtx_split_applied')).toEqual([{ n: count + 1 }])
    const total = (await Promise.all([...LOW, ...HIGH].map(balance))).reduce((a, b) => a + b, 0)
    expect(total).toBe(INITIAL_BALANCE * 6)
    expect((await balance(4)) + (await balance(6))).toBe(INITIAL_BALANCE * 2 - count - 1)
  })

  it('a duplicate idempotency key inside a shared INSERT: the others are stored, the repeat replays the original', async () => {
    const db = open()
    await db.transaction((tx) => transfer(tx, 4, 1, 1))
    const keys = ['k1', 'k2', 'k3', 'same', 'k5', 'same', 'k7', 'k8']
    const statements = await record(() => Promise.all(keys.map((idempotencyKey) => db.transaction((tx) => transfer(tx, 4, 1, 10), { idempotencyKey }))))
    // The shared INSERT was refused for the duplicate, then each plan went alone.
    const planInserts = statements.filter((s) => s.startsWith('-80: INSERT INTO shardtx_split_plans'))
    expect(planInserts.some((s) => (s.match(/'pending'/g) ?? []).length > 1)).toBe(true)
    expect(await t.query('-80', 'SELECT COUNT(*) AS n FROM shardtx_split_plans WHERE idempotency_key IS NOT NULL')).toEqual([{ n: 7 }])
    // Seven plans applied once each (the repeat's writes were not applied), plus the first transfer.
    expect([await balance(4), await balance(1)]).toEqual([INITIAL_BALANCE - 71, INITIAL_BALANCE + 71])
  })
})

describe('split: connections', () => {
  it("returns the callback's read sessions before its parts take connections from the same pool", async () => {
    // One connection per shard for transactions: a read session held through the commit would
    // leave the -80 part without a connection until acquireTimeoutMs ends it with an error.
    const db = open({ pool: { min: 0, max: 1 }, acquireTimeoutMs: 2000 })
    const seen = await db.transaction(async (tx) => {
      const before = Number((await tx('accounts').where({ id: 1 }).first()).balance)
      await transfer(tx, 4, 1, 10)
      return before
    })
    expect(seen).toBe(INITIAL_BALANCE)
    expect([await balance(4), await balance(1)]).toEqual([INITIAL_BALANCE - 10, INITIAL_BALANCE + 10])
  })
})
