// Footprint recording on real shards: every multi-shard transaction becomes one line, committed
// or rolled back, even when its log warning is rate limited; single-shard and refused ones do not;
// key values never reach the file; db.destroy() flushes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { summarizeFootprints } from '../../src/cli/report-summary.js'
import type { FootprintTransactionRecord } from '../../src/index.js'
import { capturingLogger, createFoundation, type Foundation } from '../support/foundation-fixture.js'
import { withTransaction } from '../support/with-transaction.js'

let f: Foundation
let dir: string

beforeAll(async () => {
  f = await createFoundation()
  dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-footprint-it-'))
})
afterAll(async () => {
  await f.close()
  rmSync(dir, { recursive: true, force: true })
})
beforeEach(async () => {
  await f.reset()
  await f.shards.query('-80', 'INSERT INTO accounts (id, balance) VALUES (1, 100), (2, 100)')
  await f.shards.query('80-', 'INSERT INTO accounts (id, balance) VALUES (4, 100)')
})

const REASON = 'https://tracker.example/PAY-7'

/** 1-based line of this file holding `marker`. */
const lineOf = (marker: string) =>
  readFileSync(new URL(import.meta.url), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(marker) && !l.includes('lineOf(')) + 1

describe('footprint recording', () => {
  it('writes one line per multi-shard transaction, and nothing for single-shard or refused ones', async () => {
    const file = path.join(dir, 'footprints.jsonl')
    const { entries, logger } = capturingLogger()
    // A long interval: only the first warning is logged, every transaction is still recorded.
    const db = f.open({ footprint: { file }, logger, warnings: { intervalMs: 3_600_000, logKeyValues: true } })
    // prettier-ignore
    const transfer = () =>
      db.transaction( // transfer-origin
        async (tx) => {
          await tx('accounts').where({ id: 4 }).decrement('balance', 1)
          await tx('accounts').where({ id: 1 }).increment('balance', 1)
        },
        { crossShard: 'warn', reason: REASON },
      )
    for (let i = 0; i < 3; i++) await transfer()
    const failing = await db
      .transaction(
        async (tx) => {
          await tx('accounts').where({ id: 4 }).decrement('balance', 1)
          await tx('accounts').where({ id: 1 }).increment('balance', 1)
          throw new Error('insufficient funds')
        },
        { crossShard: 'warn', reason: REASON },
      )
      .catch((e: Error) => e.message)
    expect(failing).toBe('insufficient funds')
    await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 1 }).increment('balance', 1)
      await tx('accounts').where({ id: 2 }).decrement('balance', 1) // same shard
    })
    const refused = await db
      .transaction(async (tx) => {
        await tx('accounts').where({ id: 1 }).increment('balance', 1)
        await tx('accounts').where({ id: 4 }).decrement('balance', 1)
      }) // reject: the second shard is refused before it joins
      .catch((e: { code?: string }) => e.code)
    expect(refused).toBe('SHARDTX_CROSS_SHARD')
    await db.destroy()

    // Logged: one warning per origin (2); recorded: every transaction (4).
    expect(entries.filter((e) => e.level === 'warn')).toHaveLength(2)
    const text = readFileSync(file, 'utf8')
    expect(text).not.toMatch(/"keys"|password/)
    const records = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as FootprintTransactionRecord)
    expect(records.map((r) => r.outcome)).toEqual(['committed', 'committed', 'committed', 'rolled back'])
    for (const r of records) {
      expect(r).toMatchObject({ v: 1, kind: 'transaction', policy: 'warn', shards: ['-80', '80-'], tables: ['accounts'], reason: REASON, pid: process.pid })
      expect(r.transactionId).toMatch(/^tx-/)
      expect(Date.parse(r.at)).toBeGreaterThan(Date.now() - 60_000)
      expect(r.origin).toMatch(/^test\/integration\/strict-mode-footprint\.test\.ts:\d+:\d+$/)
    }
    // The three transfers share their origin, the line of `db.transaction(` inside `transfer`.
    expect(records[0]!.origin.split(':')[1]).toBe(String(lineOf('// transfer-origin')))
    expect(new Set(records.slice(0, 3).map((r) => r.origin)).size).toBe(1)
    expect(new Set(records.map((r) => r.transactionId)).size).toBe(4)

    const summary = await summarizeFootprints([file])
    expect(summary.total).toBe(4)
    expect(summary.origins.map((o) => [o.count, o.outcomes])).toEqual([
      [3, { committed: 3 }],
      [1, { 'rolled back': 1 }],
    ])
  })

  it('records who called a helper that wraps db.transaction, and the report attributes to them with --helper', async () => {
    const file = path.join(dir, 'helper-footprints.jsonl')
    const db = f.open({ footprint: { file } })
    const move = (tx: Parameters<Parameters<typeof withTransaction>[1]>[0]) =>
      (async () => {
        await tx('accounts').where({ id: 4 }).decrement('balance', 1)
        await tx('accounts').where({ id: 1 }).increment('balance', 1)
      })()
    await withTransaction(db, move) // caller-one
    await withTransaction(db, move) // caller-two
    await withTransaction(db, move) // caller-two-again
    await db.destroy()
    const records = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as FootprintTransactionRecord)
    expect(records.map((r) => r.origin.replace(/:\d+$/, ''))).toEqual(Array(3).fill(`test/support/with-transaction.ts:13`))
    const here = 'test/integration/strict-mode-footprint.test.ts'
    expect(records.map((r) => r.callers?.[0]?.split(':').slice(0, 2).join(':'))).toEqual(
      ['// caller-one', '// caller-two', '// caller-two-again'].map((marker) => `${here}:${lineOf(marker)}`),
    )

    expect((await summarizeFootprints([file])).origins.map((o) => o.count)).toEqual([3])
    const attributed = await summarizeFootprints([file], { helpers: ['test/support/with-transaction.ts'] })
    expect(attributed.origins.map((o) => [o.origin.split(':').slice(0, 2).join(':'), o.count, o.via.map((v) => v.replace(/:\d+$/, ''))])).toEqual(
      ['// caller-one', '// caller-two', '// caller-two-again'].map((marker) => [`${here}:${lineOf(marker)}`, 1, ['test/support/with-transaction.ts:13']]),
    )
  })

  it('appends to an existing file, and two databases on one file write each transaction once', async () => {
    const file = path.join(dir, 'shared.jsonl')
    const a = f.open({ footprint: { file }, crossShard: 'warn' })
    const b = f.open({ footprint: { file }, crossShard: 'warn' })
    const crossShard = (db: typeof a) =>
      db.transaction(async (tx) => {
        await tx('accounts').where({ id: 4 }).decrement('balance', 1)
        await tx('accounts').where({ id: 1 }).increment('balance', 1)
      })
    await crossShard(a)
    await a.destroy()
    await crossShard(b)
    await b.destroy()
    const c = f.open({ footprint: { file }, crossShard: 'warn' })
    await crossShard(c)
    await c.destroy()
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines.map((l) => (JSON.parse(l) as FootprintTransactionRecord).reason)).toEqual([undefined, undefined, undefined])
  })
})
