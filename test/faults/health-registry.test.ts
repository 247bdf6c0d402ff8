/**
 * The health state machine with a scripted probe and fake timers: no database, no wall clock.
 * The fault tests next to this file check the same transitions against real servers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ShardUnavailableError } from '../../src/shared/errors.js'
import { HealthRegistry } from '../../src/health/health-registry.js'
import { captureLogger } from './capture-logger.js'

/** A probe whose calls the test answers one by one. */
function scriptedProbe() {
  const calls: { shard: string; timeoutMs: number; answer(ok: boolean): void }[] = []
  const probe = (shard: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      calls.push({
        shard,
        timeoutMs,
        answer: (ok) => (ok ? resolve() : reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))),
      })
    })
  return { probe, calls }
}

const flush = () => vi.advanceTimersByTimeAsync(0)

let log: ReturnType<typeof captureLogger>
let script: ReturnType<typeof scriptedProbe>
let health: HealthRegistry

beforeEach(() => {
  vi.useFakeTimers()
  log = captureLogger()
  script = scriptedProbe()
  health = new HealthRegistry(['-80', '80-'], script.probe, { probeTimeoutMs: 1000, probeIntervalMs: 500, logger: log })
})

afterEach(() => {
  health.close()
  vi.useRealTimers()
})

describe('HealthRegistry', () => {
  it('starts up; a failed connect marks only that shard down, fails its waiters at once, and logs one warning', async () => {
    expect(health.state('-80')).toBe('up')
    const failedWaits: ShardUnavailableError[] = []
    health.onDown('-80', (err) => failedWaits.push(err))
    health.onDown('80-', () => {
      throw new Error('80- must not be failed')
    })
    health.report('-80', { kind: 'failed', reason: 'connect failed', error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })
    expect(health.state('-80')).toBe('up') // report() only enqueues
    await flush()
    expect(health.state('-80')).toBe('down')
    expect(health.state('80-')).toBe('up')
    expect(failedWaits).toHaveLength(1)
    expect(failedWaits[0]).toBeInstanceOf(ShardUnavailableError)
    expect(health.unavailable('-80')?.message).toMatch(/marked down .*ECONNREFUSED.*nothing was sent/)
    expect(health.unavailable('80-')).toBeUndefined()
    const [down] = log.events('shardtx.shard_down')
    expect(down).toMatchObject({ level: 'warn', obj: { shard: '-80', reason: 'connect failed', failedWaiters: 1, error: { code: 'ECONNREFUSED' } } })
  })

  it('a suspicion is decided by a probe: an answer keeps the shard up, silence takes it down', async () => {
    health.report('-80', { kind: 'suspect', reason: 'SELECT unanswered for 1000 ms' })
    await flush()
    expect(script.calls).toHaveLength(1)
    expect(script.calls[0]).toMatchObject({ shard: '-80', timeoutMs: 1000 })
    script.calls[0]!.answer(true)
    await flush()
    expect(health.state('-80')).toBe('up')

    health.report('-80', { kind: 'suspect', reason: 'COMMIT unanswered for 1000 ms' })
    await flush()
    script.calls[1]!.answer(false)
    await flush()
    expect(health.state('-80')).toBe('down')
    expect(log.events('shardtx.shard_down')[0]!.obj.reason).toMatch(/health probe failed after: COMMIT unanswered/)
  })

  it('suspicions during a probe coalesce into one more probe (latest wins), never a queue of probes', async () => {
    health.report('-80', { kind: 'suspect', reason: 'first' })
    await flush()
    for (let i = 0; i < 10_000; i++) health.report('-80', { kind: 'suspect', reason: `later ${i}` })
    await flush()
    expect(script.calls).toHaveLength(1)
    script.calls[0]!.answer(true)
    await flush()
    expect(script.calls).toHaveLength(2) // one probe that started after the later suspicions
    script.calls[1]!.answer(false)
    await flush()
    expect(log.events('shardtx.shard_down')[0]!.obj.reason).toMatch(/later 9999/)
  })

  it('probes a down shard every probeIntervalMs (state probing) until one answers, then it is up again', async () => {
    health.report('80-', { kind: 'failed', reason: 'connect failed' })
    await flush()
    expect(health.state('80-')).toBe('down')
    await vi.advanceTimersByTimeAsync(499)
    expect(script.calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(health.state('80-')).toBe('probing')
    expect(health.unavailable('80-')).toBeInstanceOf(ShardUnavailableError) // still refused while probing
    script.calls[0]!.answer(false)
    await flush()
    expect(health.state('80-')).toBe('down')
    expect(health.snapshot()['80-']!.consecutiveFailures).toBe(2)
    await vi.advanceTimersByTimeAsync(500)
    script.calls[1]!.answer(true)
    await flush()
    expect(health.state('80-')).toBe('up')
    expect(health.snapshot()['80-']).toMatchObject({
      state: 'up',
      consecutiveFailures: 0,
      lastError: { message: expect.stringMatching(/ECONNREFUSED|connect failed/) },
    })
    expect(log.events('shardtx.shard_up')).toMatchObject([{ level: 'info', obj: { shard: '80-', failedProbes: 2 } }])
  })

  it('a suspicion probe that outlives the shard going down does not bring it back up', async () => {
    health.report('-80', { kind: 'suspect', reason: 'slow' })
    await flush()
    health.report('-80', { kind: 'failed', reason: 'connect failed' })
    await flush()
    expect(health.state('-80')).toBe('down')
    script.calls[0]!.answer(true) // stale: it started before the shard went down
    await flush()
    expect(health.state('-80')).toBe('down')
  })

  it('ignores reports about a shard that is already down (the recovery probe decides)', async () => {
    health.report('-80', { kind: 'failed', reason: 'connect failed' })
    await flush()
    for (let i = 0; i < 100; i++) health.report('-80', { kind: 'suspect', reason: 'again' })
    await flush()
    expect(script.calls).toHaveLength(0)
    expect(log.events('shardtx.shard_down')).toHaveLength(1)
  })

  it('close() stops recovery probing and the worker', async () => {
    health.report('-80', { kind: 'failed', reason: 'connect failed' })
    await flush()
    health.close()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(script.calls).toHaveLength(0)
    health.report('80-', { kind: 'failed', reason: 'connect failed' })
    await flush()
    expect(health.state('80-')).toBe('up')
  })

  it('a listener that ended its registration is not called', async () => {
    let called = 0
    const unregister = health.onDown('-80', () => called++)
    unregister()
    health.report('-80', { kind: 'failed', reason: 'connect failed' })
    await flush()
    expect(called).toBe(0)
  })
})
