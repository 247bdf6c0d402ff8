import { describe, expect, it } from 'vitest'
import { canAcquireWithoutWaiting, type KnexClientLike } from '../../src/knex/client.js'

/** A knex client whose tarn pool reports these counts. */
function clientWith(pool: { max: number; free: number; used: number; pendingAcquires: number; pendingCreates: number } | undefined): KnexClientLike {
  const tarn =
    pool === undefined
      ? undefined
      : {
          max: pool.max,
          numFree: () => pool.free,
          numUsed: () => pool.used,
          numPendingAcquires: () => pool.pendingAcquires,
          numPendingCreates: () => pool.pendingCreates,
        }
  return { pool: tarn } as unknown as KnexClientLike
}

describe('canAcquireWithoutWaiting: may ordered open a session below the top without waiting for another transaction?', () => {
  it('yes with a free connection, or with room to open one, and nobody queued', () => {
    expect(canAcquireWithoutWaiting(clientWith({ max: 2, free: 1, used: 1, pendingAcquires: 0, pendingCreates: 0 }))).toBe(true)
    expect(canAcquireWithoutWaiting(clientWith({ max: 2, free: 0, used: 1, pendingAcquires: 0, pendingCreates: 0 }))).toBe(true)
  })

  it('no when every connection is taken or being opened, or when others are already queued', () => {
    expect(canAcquireWithoutWaiting(clientWith({ max: 2, free: 0, used: 2, pendingAcquires: 0, pendingCreates: 0 }))).toBe(false)
    expect(canAcquireWithoutWaiting(clientWith({ max: 2, free: 0, used: 1, pendingAcquires: 0, pendingCreates: 1 }))).toBe(false)
    expect(canAcquireWithoutWaiting(clientWith({ max: 2, free: 1, used: 1, pendingAcquires: 1, pendingCreates: 0 }))).toBe(false)
  })

  it('no when the pool is not the tarn pool it knows (the cautious answer: restart instead of waiting)', () => {
    expect(canAcquireWithoutWaiting(clientWith(undefined))).toBe(false)
    expect(canAcquireWithoutWaiting({ pool: { max: 2 } } as unknown as KnexClientLike)).toBe(false)
  })
})
