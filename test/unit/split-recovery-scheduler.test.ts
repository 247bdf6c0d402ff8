import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { resolveSplitOptions } from '../../src/config/split-options.js'
import { RecoveryScheduler } from '../../src/transaction/recovery-scheduler.js'
import type { SplitCoordinator } from '../../src/policies/split/split-coordinator.js'

const report = { recovered: 0, failed: 0, stillPending: 0, pruned: 0, durationMs: 0 }

function fakeCoordinator(impl: () => Promise<typeof report> = async () => report) {
  const calls: { olderThanMs: number; trigger: string }[] = []
  const coordinator = { recover: vi.fn(async (o: { olderThanMs: number; trigger: string }) => (calls.push(o), impl())), drain: vi.fn(async () => undefined) }
  return { calls, get: () => coordinator as unknown as SplitCoordinator }
}

const logger = () => ({ error: vi.fn(), warn: vi.fn(), info: vi.fn(), debug: vi.fn() })

describe('RecoveryScheduler', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('recovers once at start (next tick, every plan) and then every interval (plans older than one interval)', async () => {
    const c = fakeCoordinator()
    const s = new RecoveryScheduler(c.get, resolveSplitOptions({ recoveryIntervalMs: 1000 }), logger())
    s.start()
    expect(c.calls).toEqual([]) // creating a ShardedDb stays synchronous
    await vi.advanceTimersByTimeAsync(0)
    expect(c.calls).toEqual([{ olderThanMs: 0, trigger: 'start' }])
    await vi.advanceTimersByTimeAsync(3000)
    expect(c.calls.slice(1)).toEqual(Array(3).fill({ olderThanMs: 1000, trigger: 'interval' }))
    await s.stop()
    await vi.advanceTimersByTimeAsync(5000)
    expect(c.calls).toHaveLength(4)
  })

  it('does nothing when both are turned off', async () => {
    const c = fakeCoordinator()
    const s = new RecoveryScheduler(c.get, resolveSplitOptions({ recoverOnStart: false, recoveryIntervalMs: 0 }), logger())
    s.start()
    await vi.advanceTimersByTimeAsync(10 * 60_000)
    expect(c.calls).toEqual([])
    await s.stop()
  })

  it('never queues a second background pass behind a slow one, and stop() waits for the one in progress', async () => {
    let finish!: () => void
    const c = fakeCoordinator(() => new Promise((resolve) => (finish = () => resolve(report))))
    const s = new RecoveryScheduler(c.get, resolveSplitOptions({ recoverOnStart: false, recoveryIntervalMs: 100 }), logger())
    s.start()
    await vi.advanceTimersByTimeAsync(1000)
    expect(c.calls).toHaveLength(1)
    let stopped = false
    const stopping = s.stop().then(() => (stopped = true))
    await vi.advanceTimersByTimeAsync(0)
    expect(stopped).toBe(false)
    finish()
    await stopping
    expect(stopped).toBe(true)
  })

  it('logs a failed pass instead of throwing, and tries again next interval', async () => {
    const log = logger()
    const c = fakeCoordinator(async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    })
    const s = new RecoveryScheduler(c.get, resolveSplitOptions({ recoveryIntervalMs: 100 }), log)
    s.start()
    await vi.advanceTimersByTimeAsync(250)
    expect(c.calls.length).toBe(3)
    expect(log.warn).toHaveBeenCalledWith(
      { event: 'shardtx.split_recovery_error', trigger: 'start', errorCode: 'ECONNREFUSED', errno: undefined },
      expect.stringContaining('next pass tries again'),
    )
    await s.stop()
  })
})
