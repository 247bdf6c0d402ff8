// `shardtx report` end to end (no database): the real bin through tsx on footprint files written
// here, checking grouping, sorting, totals, both formats, and exit codes 0/2.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FootprintSummary } from '../../src/cli/report-summary.js'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')
const tsx = path.join(root, 'node_modules/.bin/tsx')
const main = path.join(root, 'src/cli/main.ts')
const TIMEOUT = 60_000

async function report(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(tsx, [main, 'report', ...args], { cwd: root, encoding: 'utf8' })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    if (typeof e.code !== 'number') throw err
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

let dir: string
const file = (name: string) => path.join(dir, name)

function tx(origin: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    v: 1,
    kind: 'transaction',
    at: '2025-01-01T00:00:00.000Z',
    pid: 1,
    transactionId: 'tx-x-1',
    origin,
    policy: 'warn',
    outcome: 'committed',
    shards: ['-80', '80-'],
    tables: ['accounts'],
    reason: 'https://tracker.example/PAY-7',
    ...extra,
  })
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-report-'))
  // Two workers' files: bank.ts three times (one rolled back); orders.ts once, ordered, which takes
  // no reason; pay.ts once, warn without a reason.
  writeFileSync(
    file('a.jsonl'),
    [
      tx('src/bank.ts:31:12'),
      tx('src/orders.ts:8:3', { policy: 'ordered', reason: undefined, tables: ['orders', 'ledger'] }),
      tx('src/pay.ts:5:1', { reason: undefined }),
      '',
    ].join('\n'),
  )
  // A helper that wraps db.transaction, called from two places (and one call site recorded twice).
  writeFileSync(
    file('helper.jsonl'),
    [
      tx('src/db/with-tx.ts:4:10', { callers: ['src/a.ts:10:3', 'src/routes.ts:1:1'] }),
      tx('src/db/with-tx.ts:4:10', { callers: ['src/a.ts:10:3'] }),
      tx('src/db/with-tx.ts:4:10', { callers: ['src/b.ts:20:5'], policy: 'split', reason: undefined }),
      '',
    ].join('\n'),
  )
  writeFileSync(
    file('b.jsonl'),
    [
      tx('src/bank.ts:31:12', { outcome: 'rolled back', shards: ['40-80', '80-'] }),
      '',
      tx('src/bank.ts:31:12'),
      '{"v":1,"kind":"dropped","at":"2025-01-01T00:00:00.000Z","pid":2,"count":5}',
      '',
    ].join('\n'),
  )
  writeFileSync(file('empty.jsonl'), '')
  writeFileSync(file('torn.jsonl'), `${tx('src/bank.ts:31:12')}\n${tx('src/bank.ts:31:12').slice(0, 50)}`)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe.concurrent('shardtx report', () => {
  it('prints one row per origin, most frequent first, and a total', { timeout: TIMEOUT }, async () => {
    const result = await report([file('a.jsonl'), file('b.jsonl')])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const lines = result.stdout.split('\n')
    expect(lines[0]).toMatch(/^ORIGIN\s+COUNT\s+SHARDS\s+TABLES\s+POLICIES\s+OUTCOMES\s+REASONS$/)
    expect(lines[1]).toMatch(
      /^src\/bank\.ts:31:12\s+3\s+-80, 40-80, 80-\s+accounts\s+warn \(3\)\s+committed \(2\), rolled back \(1\)\s+https:\/\/tracker\.example\/PAY-7$/,
    )
    // ordered (and split) take no reason, so none is missing; a warn transaction without one is counted.
    expect(lines[2]).toMatch(/^src\/orders\.ts:8:3\s+1\s+-80, 80-\s+ledger, orders\s+ordered \(1\)\s+committed \(1\)$/)
    expect(lines[3]).toMatch(/^src\/pay\.ts:5:1\s+1\s+-80, 80-\s+accounts\s+warn \(1\)\s+committed \(1\)\s+no reason \(1\)$/)
    expect(result.stdout).toContain('\n5 cross-shard transactions from 3 origins (2 files)\n')
    expect(result.stdout).toContain('Warning: the recording processes dropped 5 lines under backpressure; counts are incomplete.')
  })

  it('prints the same summary as JSON with --format json', { timeout: TIMEOUT }, async () => {
    const result = await report([file('a.jsonl'), file('b.jsonl'), '--format', 'json'])
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout) as FootprintSummary
    expect(summary.total).toBe(5)
    expect(summary.dropped).toBe(5)
    expect(summary.origins[0]).toEqual({
      origin: 'src/bank.ts:31:12',
      count: 3,
      shards: ['-80', '40-80', '80-'],
      tables: ['accounts'],
      policies: { warn: 3 },
      outcomes: { committed: 2, 'rolled back': 1 },
      reasons: ['https://tracker.example/PAY-7'],
      withoutReason: 0,
      via: [],
    })
    expect(summary.origins[1]).toMatchObject({ origin: 'src/orders.ts:8:3', count: 1, reasons: [], withoutReason: 0 })
    expect(summary.origins[2]).toMatchObject({ origin: 'src/pay.ts:5:1', count: 1, reasons: [], withoutReason: 1 })
  })

  it('attributes transactions opened in a helper (--helper) to the lines that called it', { timeout: TIMEOUT }, async () => {
    const plain = JSON.parse((await report([file('helper.jsonl'), '--format', 'json'])).stdout) as FootprintSummary
    expect(plain.origins.map((o) => [o.origin, o.count])).toEqual([['src/db/with-tx.ts:4:10', 3]])
    const result = await report([file('helper.jsonl'), '--helper', 'src/db/with-tx.ts'])
    expect(result.code).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines[1]).toMatch(/^src\/a\.ts:10:3 \(via src\/db\/with-tx\.ts:4:10\)\s+2\s+/)
    expect(lines[2]).toMatch(/^src\/b\.ts:20:5 \(via src\/db\/with-tx\.ts:4:10\)\s+1\s+.*split \(1\)\s+committed \(1\)$/)
  })

  it('says so when nothing was recorded, and exits 0', { timeout: TIMEOUT }, async () => {
    const result = await report([file('empty.jsonl')])
    expect(result).toEqual({ code: 0, stdout: 'No cross-shard transactions recorded (1 file).\n', stderr: '' })
  })

  it('exits 2 naming the file and line of a malformed line, printing no report', { timeout: TIMEOUT }, async () => {
    const result = await report([file('a.jsonl'), file('torn.jsonl')])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(new RegExp(`^shardtx report: ${file('torn.jsonl')}:2: malformed footprint line: not JSON .*pass --skip-malformed`))
  })

  it('skips and counts malformed lines with --skip-malformed, warning on stderr', { timeout: TIMEOUT }, async () => {
    const result = await report([file('torn.jsonl'), '--skip-malformed'])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(`skipped ${file('torn.jsonl')}:2: not JSON`)
    expect(result.stderr).toContain('warning: 1 malformed line(s) skipped')
    expect(result.stdout).toContain('1 cross-shard transaction from 1 origin (1 file)')
  })

  it.each([
    [['no-such-file.jsonl'], /^shardtx report: cannot read no-such-file\.jsonl: ENOENT: no such file or directory\n$/],
    [[], /missing required argument 'files'/],
    [['x.jsonl', '--format', 'csv'], /Allowed choices are text, json/],
  ])('exits 2 on an unreadable file or bad usage: %j', { timeout: TIMEOUT }, async (args, message) => {
    const result = await report(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stdout).toBe('')
  })
})
