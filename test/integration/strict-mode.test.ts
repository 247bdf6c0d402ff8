// Strict mode on real shards: a per-transaction 'warn' override without a reason is refused before
// anything is sent; outside strict mode (and with a reason) the same transaction runs.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { ReasonRequiredError, ShardtxError, type ShardedDb } from '../../src/index.js'
import { createFoundation, type Foundation } from '../support/foundation-fixture.js'

let f: Foundation

beforeAll(async () => {
  f = await createFoundation()
})
afterAll(() => f.close())
beforeEach(async () => {
  await f.reset()
  await f.shards.query('-80', 'INSERT INTO accounts (id, balance) VALUES (1, 100)')
  await f.shards.query('80-', 'INSERT INTO accounts (id, balance) VALUES (4, 100)')
})
afterEach(() => vi.unstubAllEnvs())

/** Moves 10 from account 4 (shard 80-) to account 1 (shard -80); counts callback runs. */
function transfer(db: ShardedDb, options: object) {
  const calls = { count: 0 }
  const done = db.transaction(async (tx) => {
    calls.count++
    await tx('accounts').where({ id: 4 }).decrement('balance', 10)
    await tx('accounts').where({ id: 1 }).increment('balance', 10)
  }, options)
  return { done, calls }
}

/** Connections open to this fixture's shard databases (the fixture's own helpers included). */
async function openConnections(): Promise<number> {
  const [row] = await f.shards.query<{ n: number }>(
    '-80',
    `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB IN (${f.shards.databases.map(() => '?').join(', ')})`,
    f.shards.databases,
  )
  return Number(row!.n)
}

const balances = async () => [(await f.rows('-80', 'accounts'))[0]!.balance, (await f.rows('80-', 'accounts'))[0]!.balance]

describe('strict mode', () => {
  it('refuses a warn override without a reason at once: no callback, no connection, nothing sent', async () => {
    const before = await openConnections()
    const db = f.open({ strict: true })
    const { done, calls } = transfer(db, { crossShard: 'warn' })
    const err = await done.catch((e: unknown) => e)

    expect(err).toBeInstanceOf(ReasonRequiredError)
    expect(err).toBeInstanceOf(ShardtxError)
    expect((err as ReasonRequiredError).code).toBe('SHARDTX_REASON_REQUIRED')
    const message = (err as Error).message
    // Where, why, and how to fix.
    expect(message).toMatch(/^db\.transaction\(\) at test\/integration\/strict-mode\.test\.ts:\d+:\d+ overrides crossShard to 'warn' without a reason/)
    expect(message).toContain('raises in development and test and only logs in production')
    expect(message).toContain("{ crossShard: 'warn', reason: '<link to the ticket or doc explaining why>' }")
    expect((err as ReasonRequiredError).origin?.file).toBe('test/integration/strict-mode.test.ts')

    expect(calls.count).toBe(0)
    expect(await openConnections()).toBe(before)
    expect(await balances()).toEqual([100, 100])
  })

  it('runs the same transaction with a reason', async () => {
    const db = f.open({ strict: true })
    const { done, calls } = transfer(db, { crossShard: 'warn', reason: 'https://tracker.example/PAY-7' })
    await done
    expect(calls.count).toBe(1)
    expect(await balances()).toEqual([110, 90])
  })

  it('allows the reasonless override outside strict mode (the behaviour before strict mode existed)', async () => {
    const db = f.open({ strict: false })
    await transfer(db, { crossShard: 'warn' }).done
    expect(await balances()).toEqual([110, 90])
  })

  it('leaves a database-wide crossShard: warn alone: that is configuration, not a per-call exception', async () => {
    const db = f.open({ strict: true, crossShard: 'warn' })
    await transfer(db, {}).done
    expect(await balances()).toEqual([110, 90])
  })

  it('takes its default from the environment when the option is absent', async () => {
    vi.stubEnv('NODE_ENV', 'production')
    vi.stubEnv('SHARDTX_STRICT', '1')
    await expect(transfer(f.open(), { crossShard: 'warn' }).done).rejects.toThrow(ReasonRequiredError)

    vi.stubEnv('NODE_ENV', 'test')
    vi.stubEnv('SHARDTX_STRICT', '0')
    await transfer(f.open(), { crossShard: 'warn' }).done

    vi.stubEnv('SHARDTX_STRICT', '')
    await expect(transfer(f.open(), { crossShard: 'warn' }).done).rejects.toMatchObject({ code: 'SHARDTX_REASON_REQUIRED' })
    expect(await balances()).toEqual([110, 90])
  })
})
