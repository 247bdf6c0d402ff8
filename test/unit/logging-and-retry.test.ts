import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { OriginRateLimiter, MAX_TRACKED_ORIGINS } from '../../src/shared/origin-rate-limiter.js'
import { backoffDelay } from '../../src/shared/backoff.js'
import { firstUserFrame } from '../../src/shared/call-site.js'
import { isRetryableError, DistributedDeadlockError, ShardUnavailableError } from '../../src/shared/errors.js'

describe('OriginRateLimiter', () => {
  it('lets one warning per origin through per interval and counts the rest', () => {
    const limiter = new OriginRateLimiter(1000)
    expect(limiter.decide('a.ts:1:1', 0)).toEqual({ emit: true, suppressed: 0, suppressedElsewhere: 0 })
    expect(limiter.decide('a.ts:1:1', 10)).toEqual({ emit: false })
    expect(limiter.decide('b.ts:2:2', 20).emit).toBe(true)
    expect(limiter.decide('a.ts:1:1', 999)).toEqual({ emit: false })
    expect(limiter.decide('a.ts:1:1', 1000)).toEqual({ emit: true, suppressed: 2, suppressedElsewhere: 0 })
  })

  it('stays bounded with endless distinct origins and reports the counts it had to forget', () => {
    const limiter = new OriginRateLimiter(60_000)
    for (let i = 0; i < MAX_TRACKED_ORIGINS; i++) {
      limiter.decide(`f${i}`, 0)
      limiter.decide(`f${i}`, 1) // one suppressed each
    }
    let reported = 0
    for (let i = 0; i < 5 * MAX_TRACKED_ORIGINS; i++) {
      const d = limiter.decide(`g${i}`, 2)
      if (d.emit) reported += d.suppressedElsewhere
    }
    expect(limiter.size).toBe(MAX_TRACKED_ORIGINS)
    // every suppressed warning of the forgotten origins was reported exactly once, with a later warning
    expect(reported).toBe(MAX_TRACKED_ORIGINS)
  })
})

describe('backoffDelay', () => {
  it('stays within [0, min(max, base * 2^(n-1))] for any attempt, including absurd ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, { baseDelayMs: 10, maxDelayMs: 1000 }, () => r)
        expect(Number.isFinite(d)).toBe(true)
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThanOrEqual(Math.min(1000, 10 * 2 ** Math.min(attempt - 1, 30)))
      }),
    )
  })
})

describe('firstUserFrame', () => {
  it('skips shardtx, knex and node internals and returns the application frame', () => {
    const here = new URL(import.meta.url).pathname
    const srcFile = new URL('../../src/transaction/run-transaction.ts', import.meta.url).pathname
    const stack = [
      'Error',
      `    at runTransaction (${srcFile}:10:5)`,
      '    at Builder.then (/app/node_modules/knex/lib/builder.js:1:1)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      `    at async handler (${here}:42:7)`,
    ].join('\n')
    expect(firstUserFrame(stack)).toMatchObject({ line: 42, column: 7, functionName: 'handler' })
    expect(firstUserFrame(stack)!.file).toMatch(/logging-and-retry\.test\.ts$/)
    expect(firstUserFrame('Error\n    at node:internal/x:1:1')).toBeUndefined()
  })
})

describe('isRetryableError', () => {
  it('retries deadlocks and lock-wait timeouts, and distributed deadlocks, nothing else', () => {
    expect(isRetryableError({ errno: 1213 })).toBe(true)
    expect(isRetryableError({ errno: 1205 })).toBe(true)
    expect(isRetryableError({ errno: 1062 })).toBe(false)
    expect(isRetryableError(new Error('x'))).toBe(false)
    expect(isRetryableError(new DistributedDeadlockError({ transactionId: 't', shards: [], tables: [], cycle: ['t'] }))).toBe(true)
    expect(isRetryableError(new ShardUnavailableError('-80', 'down'))).toBe(false)
  })
})
