/**
 * ShardGuard with scripted promises, a scripted probe and fake timers: which way each wait ends,
 * and what is cleaned up behind it. No database; shard-failure.test.ts covers real servers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ShardUnavailableError, StatementTimeoutError } from '../../src/shared/errors.js'
import { wasClosed } from '../../src/health/close-connection.js'
import { HealthRegistry } from '../../src/health/health-registry.js'
import { ShardGuard } from '../../src/health/shard-guard.js'
import type { RawConnection } from '../../src/knex/client.js'
import { captureLogger } from './capture-logger.js'

function deferred<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

function fakeConnection(): RawConnection & { destroyed: number; streamDestroyed: number } {
  const c = {
    threadId: 7,
    destroyed: 0,
    streamDestroyed: 0,
    query() {},
    destroy() {
      c.destroyed++
    },
    stream: { destroy: () => c.streamDestroyed++ },
  }
  return c as unknown as RawConnection & { destroyed: number; streamDestroyed: number }
}

let probes: { answer(ok: boolean): void }[]
let health: HealthRegistry
let guard: ShardGuard

beforeEach(() => {
  vi.useFakeTimers()
  probes = []
  const probe = () =>
    new Promise<void>((resolve, reject) =>
      probes.push({ answer: (ok) => (ok ? resolve() : reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }))) }),
    )
  health = new HealthRegistry(['-80'], probe, { probeTimeoutMs: 1000, probeIntervalMs: 500, logger: captureLogger() })
  guard = new ShardGuard('-80', health, { suspectAfterMs: 1000, statementTimeoutMs: 30_000, acquireTimeoutMs: 10_000, poolMax: 10 })
})

afterEach(() => {
  health.close()
  vi.useRealTimers()
})

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )

describe('ShardGuard.run', () => {
  it('passes answers and server errors through untouched', async () => {
    expect(await guard.run(fakeConnection(), 'SELECT', async () => 42)).toBe(42)
    const serverError = Object.assign(new Error('Duplicate entry'), { errno: 1062, sqlState: '23000' })
    await expect(guard.run(fakeConnection(), 'INSERT', () => Promise.reject(serverError))).rejects.toBe(serverError)
  })

  it('a silent statement is suspected after suspectAfterMs; a failed probe fails it at once and closes its connection', async () => {
    const connection = fakeConnection()
    const reply = deferred<number>()
    const result = settle(guard.run(connection, 'COMMIT', () => reply.promise))
    await vi.advanceTimersByTimeAsync(999)
    expect(probes).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(probes).toHaveLength(1)
    probes[0]!.answer(false)
    const { error } = (await result) as { error: ShardUnavailableError }
    expect(error).toBeInstanceOf(ShardUnavailableError)
    expect(error.message).toMatch(/COMMIT may or may not have been applied/)
    expect(wasClosed(connection)).toBe(true)
    expect(connection.streamDestroyed).toBe(1)
    reply.resolve(1) // a late answer changes nothing
    // Refused before sending while down.
    let sent = false
    await expect(guard.run(fakeConnection(), 'SELECT', async () => (sent = true))).rejects.toBeInstanceOf(ShardUnavailableError)
    expect(sent).toBe(false)
  })

  it('a statement on a shard that answers probes runs until statementTimeoutMs, probed every suspectAfterMs', async () => {
    const connection = fakeConnection()
    const result = settle(guard.run(connection, 'SELECT', () => new Promise(() => undefined)))
    for (let i = 1; i < 30; i++) {
      await vi.advanceTimersByTimeAsync(1000)
      expect(probes).toHaveLength(i)
      probes[i - 1]!.answer(true)
    }
    await vi.advanceTimersByTimeAsync(1000)
    const { error } = (await result) as { error: StatementTimeoutError }
    expect(error).toBeInstanceOf(StatementTimeoutError)
    expect(error.timeoutMs).toBe(30_000)
    expect(wasClosed(connection)).toBe(true)
    expect(health.state('-80')).toBe('up')
  })

  it('a lost connection becomes ShardUnavailableError and only a suspicion (the probe decides)', async () => {
    const lost = Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true })
    const connection = fakeConnection()
    await expect(guard.run(connection, 'UPDATE', () => Promise.reject(lost))).rejects.toThrow(/connection lost during UPDATE \(PROTOCOL_CONNECTION_LOST\)/)
    expect(wasClosed(connection)).toBe(true)
    await vi.advanceTimersByTimeAsync(0)
    expect(probes).toHaveLength(1)
    probes[0]!.answer(true)
    await vi.advanceTimersByTimeAsync(0)
    expect(health.state('-80')).toBe('up')
  })
})

describe('ShardGuard.acquire', () => {
  it('a refused connect marks the shard down at once (no probe needed)', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    await expect(
      guard.acquire(
        () => Promise.reject(refused),
        () => undefined,
      ),
    ).rejects.toThrow(/cannot connect \(ECONNREFUSED\)/)
    await vi.advanceTimersByTimeAsync(0)
    expect(health.state('-80')).toBe('down')
    expect(probes).toHaveLength(0)
  })

  it('a pool timeout is a ShardUnavailableError that does not mark the shard down', async () => {
    const timeout = Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' })
    await expect(
      guard.acquire(
        () => Promise.reject(timeout),
        () => undefined,
      ),
    ).rejects.toThrow(/no free connection in its pool within acquireTimeoutMs/)
    await vi.advanceTimersByTimeAsync(0)
    expect(health.state('-80')).toBe('up')
  })

  it('waiters are failed when the shard goes down; a connection that arrives later goes back to the pool', async () => {
    const pooled = deferred<string>()
    const released: string[] = []
    const waiting = settle(
      guard.acquire(
        () => pooled.promise,
        (c) => released.push(c),
      ),
    )
    health.report('-80', { kind: 'failed', reason: 'connect failed' })
    await vi.advanceTimersByTimeAsync(0)
    expect(((await waiting) as { error: unknown }).error).toBeInstanceOf(ShardUnavailableError)
    pooled.resolve('connection-1')
    await vi.advanceTimersByTimeAsync(0)
    expect(released).toEqual(['connection-1'])
  })
})
