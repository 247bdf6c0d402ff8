/**
 * 100,000 real cross-shard transactions in `warn` mode from 1,000 distinct call sites leave the
 * heap flat: the per-origin warning limiter, the reporter and everything a transaction creates
 * are bounded by constants, not by the number of transactions or of call sites.
 *
 * Slow on purpose (about 3 minutes on a loaded 2-core machine): every transaction is a real
 * two-shard write (BEGIN, UPDATE, COMMIT on each of two mariadbd processes) that logs or
 * suppresses a warning. It runs in a child process with --expose-gc so the heap can be measured
 * after full collections, away from the test runner's own allocations.
 */
import { expect, test } from 'vitest'
import { runChild } from './bounded-child.js'

interface ChildResult {
  transactions: number
  sites: number
  maxTrackedOrigins: number
  distinctOriginsSeen: number
  warnings: number
  suppressedReported: number
  committed: [number, number]
  durationSeconds: number
  samples: { transactions: number; heapMb: number; seconds: number }[]
}

/** Samples up to this many transactions are warm-up (JIT, pools, the limiter filling up). */
const WARM_UP = 20_000

test('100,000 warn-mode transactions from 1,000 call sites leave the heap flat (within 10%)', { timeout: 900_000 }, async () => {
  const r = await runChild<ChildResult>('bounded-heap.child.ts', 880_000)
  console.log(
    `bounded-heap: ${r.transactions} transactions in ${r.durationSeconds.toFixed(1)} s, ${r.warnings} warnings logged, ` +
      `heap MB after gc: ${r.samples.map((s) => `${s.transactions / 1000}k=${s.heapMb.toFixed(2)}`).join(' ')}`,
  )
  // Real, committed, and from genuinely distinct call sites.
  expect(r.committed).toEqual([r.transactions, r.transactions])
  expect(r.distinctOriginsSeen).toBe(r.sites)
  expect(r.sites).toBeLessThanOrEqual(r.maxTrackedOrigins)
  // Warnings were both logged and suppressed, and the suppressed ones were counted.
  expect(r.warnings).toBeGreaterThan(r.sites)
  expect(r.warnings).toBeLessThan(r.transactions)
  expect(r.suppressedReported).toBeGreaterThan(0)

  const baseline = r.samples.find((s) => s.transactions === WARM_UP)!.heapMb
  const later = r.samples.filter((s) => s.transactions > WARM_UP)
  expect(later.length).toBeGreaterThanOrEqual(8)
  for (const s of later) expect(s.heapMb, `heap at ${s.transactions}`).toBeLessThanOrEqual(baseline * 1.1)
})
