/**
 * One shard fails at a time, on its own mariadbd: SIGKILL (connections reset, connects refused),
 * SIGSTOP (nothing answers, connects hang), a connection killed mid-transaction, a statement that
 * is merely slow. Each must end within the configured bound, with the right error, without
 * disturbing the other shard; the failed shard must come back by itself.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createShardedDb, ShardUnavailableError, StatementTimeoutError, type ShardedDb } from '../../src/index.js'
import { startServerShards, type ServerShards } from '../support/server-shards.js'
import { captureLogger } from './capture-logger.js'

/** The default failure bound (connectTimeoutMs), and slack for a shared 2-core machine. */
const BOUND_MS = 2000
const SLACK_MS = 750

let shards: ServerShards
let db: ShardedDb
const log = captureLogger()
/** Ids that live on each shard. */
let idOn: Record<string, number>

beforeAll(async () => {
  shards = await startServerShards({ names: ['-80', '80-'] })
  await shards.execAll('CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)')
  db = createShardedDb({ shards: shards.shards, tables: { accounts: { shardKey: 'id' } }, crossShard: 'warn', logger: log })
  idOn = { '-80': 1, '80-': 4 } // Vitess hash: 1 -> -80, 4 -> 80-
  expect(db.shardOf('accounts', 1)).toBe('-80')
  expect(db.shardOf('accounts', 4)).toBe('80-')
  for (const [shard, id] of Object.entries(idOn)) await db.shard(shard)('accounts').insert({ id, balance: 100 })
})

/** Measured failure latencies, printed once so CI logs keep a record of this machine's numbers. */
const observedMs: Record<string, number> = {}

afterAll(async () => {
  console.log(`shard-failure latencies (ms, bound ${BOUND_MS}): ${JSON.stringify(observedMs)}`)
  await db?.destroy()
  await shards?.drop()
})

async function timed<T>(work: () => Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = performance.now()
  try {
    const value = await work()
    return { value, ms: performance.now() - started }
  } catch (error) {
    return { error, ms: performance.now() - started }
  }
}

/** A one-shard transaction: read, then write, on the shard holding `id`. */
function touch(id: number): Promise<number> {
  return db.transaction(async (tx) => {
    const row = await tx('accounts').where({ id }).first()
    await tx('accounts').where({ id }).increment('balance', 1)
    return Number(row.balance)
  })
}

async function waitUntil(condition: () => boolean, withinMs: number): Promise<number> {
  const started = performance.now()
  while (!condition()) {
    if (performance.now() - started > withinMs) throw new Error(`condition not met within ${withinMs} ms: ${JSON.stringify(db.health())}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  return performance.now() - started
}

function waitUntilUp(shard: string, withinMs: number): Promise<number> {
  return waitUntil(() => db.health()[shard]!.state === 'up', withinMs)
}

function expectUnavailable(result: { error?: unknown; ms: number }, shard: string): void {
  observedMs[expect.getState().currentTestName?.replace(/^.*> /, '') ?? '?'] = Math.round(result.ms)
  expect(result.error).toBeInstanceOf(ShardUnavailableError)
  expect((result.error as ShardUnavailableError).shard).toBe(shard)
  expect(result.ms).toBeLessThanOrEqual(BOUND_MS + SLACK_MS)
}

describe('a SIGKILLed shard', () => {
  test('fails its transactions within the bound, fails new ones before sending anything, and comes back within 5 s of a restart', async () => {
    expect(await touch(idOn['-80']!)).toBeGreaterThan(0) // pool has a live connection to -80
    await shards.servers['-80']!.kill()

    const first = await timed(() => touch(idOn['-80']!))
    expectUnavailable(first, '-80')
    expect((first.error as ShardUnavailableError).transactionId).toMatch(/^tx-/)
    // A pooled connection found dead is only a suspicion; the probe that follows is refused at once.
    await waitUntil(() => db.health()['-80']!.state !== 'up', BOUND_MS)
    expect(db.health()['80-']!.state).toBe('up')

    // Fast failure: a statement that needs -80 and 80- is refused before either shard sees it.
    const sentTo80 = countQueries('80-')
    const fast = await timed(() => db.transaction((tx) => tx('accounts').whereIn('id', [idOn['-80']!, idOn['80-']!]).increment('balance', 1)))
    expect(fast.error).toBeInstanceOf(ShardUnavailableError)
    expect((fast.error as Error).message).toMatch(/nothing was sent/)
    expect(fast.ms).toBeLessThan(BOUND_MS / 4)
    expect(sentTo80.stop()).toBe(0)

    // The other shard is unaffected.
    expect(await touch(idOn['80-']!)).toBeGreaterThan(0)

    await shards.servers['-80']!.restart()
    const upAfterMs = await waitUntilUp('-80', 5_000)
    expect(upAfterMs).toBeLessThanOrEqual(5_000)
    expect(await touch(idOn['-80']!)).toBeGreaterThan(0)

    const down = log.events('shardtx.shard_down').filter((l) => l.obj.shard === '-80')
    expect(down.length).toBeGreaterThanOrEqual(1)
    expect(down[0]!.level).toBe('warn')
    expect(log.events('shardtx.shard_up').some((l) => l.obj.shard === '-80' && l.level === 'info')).toBe(true)
  })
})

describe('a SIGSTOPped shard never hangs BEGIN, a statement, COMMIT or ROLLBACK', () => {
  const shard = '80-'
  const id = () => idOn[shard]!

  async function withPausedShard(work: (pause: () => void) => Promise<unknown>): Promise<{ error?: unknown; ms: number }> {
    await waitUntilUp(shard, 5_000)
    const server = shards.servers[shard]!
    let paused = false
    try {
      return await timed(() =>
        work(() => {
          server.pause()
          paused = true
        }),
      )
    } finally {
      if (paused) server.resume()
      await waitUntilUp(shard, 5_000)
    }
  }

  test('BEGIN on a pooled connection', async () => {
    await touch(id()) // leaves an idle pooled connection to reuse
    const result = await withPausedShard(async (pause) => {
      pause()
      return touch(id())
    })
    expectUnavailable(result, shard)
  })

  test('a statement after BEGIN', async () => {
    const result = await withPausedShard((pause) =>
      db.transaction(async (tx) => {
        await tx('accounts').where({ id: id() }).increment('balance', 1)
        pause()
        await tx('accounts').where({ id: id() }).first()
      }),
    )
    expectUnavailable(result, shard)
  })

  test('COMMIT (its outcome is unknown and the error says so)', async () => {
    const result = await withPausedShard((pause) =>
      db.transaction(async (tx) => {
        await tx('accounts').where({ id: id() }).increment('balance', 1)
        pause()
      }),
    )
    expectUnavailable(result, shard)
    expect((result.error as Error).message).toMatch(/COMMIT may or may not have been applied/)
  })

  test('ROLLBACK after the callback failed: the callback error comes back within the bound', async () => {
    const result = await withPausedShard((pause) =>
      db.transaction(async (tx) => {
        await tx('accounts').where({ id: id() }).increment('balance', 1)
        pause()
        throw new Error('application error')
      }),
    )
    expect((result.error as Error).message).toBe('application error')
    expect(result.ms).toBeLessThanOrEqual(BOUND_MS + SLACK_MS)
  })

  test('a new connection (handshake never answered)', async () => {
    const fresh = createShardedDb({ shards: shards.shards, tables: { accounts: { shardKey: 'id' } } })
    try {
      const result = await withPausedShard(async (pause) => {
        pause()
        return fresh.transaction((tx) => tx('accounts').where({ id: id() }).increment('balance', 1))
      })
      expectUnavailable(result, shard)
    } finally {
      await fresh.destroy()
    }
  })

  test('a cross-shard transaction is rolled back on the healthy shard', async () => {
    const before = await shards.query('-80', 'SELECT balance FROM accounts WHERE id = ?', [idOn['-80']])
    const result = await withPausedShard((pause) =>
      db.transaction(
        async (tx) => {
          await tx('accounts').where({ id: idOn['-80']! }).increment('balance', 1000)
          await tx('accounts').where({ id: id() }).increment('balance', 1)
          pause()
          await tx('accounts').where({ id: id() }).decrement('balance', 1)
        },
        { crossShard: 'warn', reason: 'test' },
      ),
    )
    expectUnavailable(result, shard)
    expect(await shards.query('-80', 'SELECT balance FROM accounts WHERE id = ?', [idOn['-80']])).toEqual(before)
  })
})

describe('failures that are not a dead shard', () => {
  test('a connection killed mid-transaction fails that transaction; the shard stays up', async () => {
    const result = await timed(() =>
      db.transaction(async (tx) => {
        await tx('accounts').where({ id: idOn['-80']! }).increment('balance', 1)
        const [rows] = await tx.shard('-80').raw('SELECT CONNECTION_ID() AS id')
        await shards.query('-80', `KILL CONNECTION ${Number(rows[0].id)}`)
        await tx('accounts').where({ id: idOn['-80']! }).first()
      }),
    )
    expect(result.error).toBeInstanceOf(ShardUnavailableError)
    expect((result.error as Error).message).toMatch(/connection lost/)
    await new Promise((r) => setTimeout(r, 200)) // the suspicion probe answers
    expect(db.health()['-80']!.state).toBe('up')
    expect(await touch(idOn['-80']!)).toBeGreaterThan(0)
  })

  test('a statement longer than statementTimeoutMs on a live shard is a StatementTimeoutError, not a down shard', async () => {
    const slow = createShardedDb({
      shards: shards.shards,
      tables: { accounts: { shardKey: 'id' } },
      connectTimeoutMs: 1000, // probed at 500 ms: the shard answers
      statementTimeoutMs: 1500,
    })
    try {
      const result = await timed(() => slow.transaction((tx) => tx.shard('-80').raw('SELECT SLEEP(5)')))
      expect(result.error).toBeInstanceOf(StatementTimeoutError)
      expect(result.ms).toBeGreaterThanOrEqual(1400)
      expect(result.ms).toBeLessThan(1500 + SLACK_MS)
      expect(slow.health()['-80']!.state).toBe('up')
      expect(await slow.transaction((tx) => tx('accounts').where({ id: idOn['-80']! }).first())).toBeTruthy()
    } finally {
      await slow.destroy()
    }
  })
})

/** Counts statements knex sends to one shard's pool (sessions included) until stop(). */
function countQueries(shard: string): { stop(): number } {
  let n = 0
  const knex = db.shard(shard)
  const listener = () => n++
  knex.client.on('query', listener)
  return {
    stop() {
      knex.client.removeListener('query', listener)
      return n
    },
  }
}
