/**
 * A distributed deadlock whose two sides live in two Node processes, each with its own ShardedDb
 * and pools: neither process knows the other's connections except through the ownership rows
 * they publish on the coordinator shard. First with both detectors alive (the victim's own process
 * rolls it back); then with the victim's process frozen (SIGSTOP) after it published, where the
 * other process kills the victim's connections after the grace period and a second sighting.
 */
import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createShardedDb, DistributedDeadlockError, keyrangeNames, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { LOCK_WAITERS_TABLE } from '../../src/deadlock/ownership-registry.js'
import { keysPerShard, within } from '../integration/deadlock-support.js'
import { captureLogger } from './capture-logger.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'deadlock-two-process.child.ts')
const BOUND_MS = 30_000
const START = 1_000

interface ChildDone {
  type: 'done'
  ok: boolean
  calls: number
  error?: { name?: string; code?: string; errno?: number; message?: string }
  stats: ReturnType<ShardedDb['deadlockStats']>
  events: Record<string, unknown>[]
}

/** A forked child process (TypeScript through tsx) and a way to wait for its messages. */
class Child {
  readonly process: ChildProcess
  readonly #messages: { type: string }[] = []
  readonly #waiting: { type: string; resolve: (m: any) => void }[] = []

  constructor(config: object) {
    this.process = fork(CHILD, [JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.process.on('message', (m: { type: string }) => {
      const i = this.#waiting.findIndex((w) => w.type === m.type)
      if (i >= 0) this.#waiting.splice(i, 1)[0]!.resolve(m)
      else this.#messages.push(m)
    })
  }

  next<T>(type: string): Promise<T> {
    const i = this.#messages.findIndex((m) => m.type === type)
    if (i >= 0) return Promise.resolve(this.#messages.splice(i, 1)[0] as T)
    return new Promise((resolve) => this.#waiting.push({ type, resolve }))
  }

  send(type: string): void {
    this.process.send({ type })
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return
    const exited = new Promise((resolve) => this.process.once('exit', resolve))
    this.process.kill('SIGCONT')
    this.send('exit')
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
}

let t: TestShards
let a: number // on the first shard (the coordinator's)
let b: number // on the second shard
let db: ShardedDb | undefined
let child: Child | undefined

beforeAll(async () => {
  t = await createTestShards({ names: keyrangeNames(2) })
  await t.execAll('CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB')
  const probe = createShardedDb({ shards: t.shards, tables: { accounts: { shardKey: 'id' } } })
  const keys = [...keysPerShard(probe, 1).values()]
  await probe.destroy()
  a = keys[0]![0]!
  b = keys[1]![0]!
})
beforeEach(async () => {
  for (const shard of t.names) await t.query(shard, 'DELETE FROM accounts')
  await t.query(t.names[0]!, 'INSERT INTO accounts VALUES (?, ?)', [a, START])
  await t.query(t.names[1]!, 'INSERT INTO accounts VALUES (?, ?)', [b, START])
})
afterEach(async () => {
  await child?.stop()
  await db?.destroy()
  child = db = undefined
})
afterAll(() => t.drop())

function openParent(options: Partial<ShardedDbOptions> = {}) {
  const logger = captureLogger()
  db = createShardedDb({ shards: t.shards, tables: { accounts: { shardKey: 'id' } }, crossShard: 'warn', logger, retry: { maxAttempts: 1 }, ...options })
  return { db, logger }
}

async function balances(): Promise<[number, number]> {
  const [[ra], [rb]] = await Promise.all([
    t.query(t.names[0]!, 'SELECT balance FROM accounts WHERE id = ?', [a]),
    t.query(t.names[1]!, 'SELECT balance FROM accounts WHERE id = ?', [b]),
  ])
  return [Number(ra.balance), Number(rb.balance)]
}

/**
 * The parent's transaction: takes `a` (first shard), signals, waits for `proceed`, then reaches for
 * `b` (second shard), which the child holds. It starts first, so it is the older of the two.
 */
function parentSide(parentDb: ShardedDb, proceed: Promise<void>) {
  let holding!: () => void
  const held = new Promise<void>((resolve) => (holding = resolve))
  const done = parentDb.transaction(async (tx) => {
    await tx('accounts').where({ id: a }).decrement('balance', 1)
    holding()
    await proceed
    await tx('accounts').where({ id: b }).increment('balance', 1)
  })
  return { held, done }
}

describe('a deadlock across two processes', () => {
  it("is broken by the victim's own process: the younger transaction (in the child) is rolled back on both shards", async () => {
    const { db: parentDb } = openParent()
    child = new Child({ shards: t.shards, first: b, second: a, maxAttempts: 1 })
    await child.next('ready')
    let release!: () => void
    const proceed = new Promise<void>((resolve) => (release = resolve))
    const parent = parentSide(parentDb, proceed)
    await parent.held
    child.send('run')
    await child.next('holding')
    release() // parent reaches for b (held by the child)...
    child.send('go') // ...and the child for a (held by the parent): a cycle across processes
    const result = await within(BOUND_MS, 'the cross-process cycle', child.next<ChildDone>('done'))
    await within(BOUND_MS, 'the parent transaction', parent.done)

    expect(result.ok).toBe(false)
    expect(result.error?.name).toBe(DistributedDeadlockError.name)
    expect(result.error?.code).toBe('SHARDTX_DISTRIBUTED_DEADLOCK')
    expect(result.stats).toMatchObject({ detections: 1, victimsKilledLocally: 1, victimsKilledForOtherProcesses: 0 })
    const [event] = result.events
    expect(event).toMatchObject({ event: 'shardtx.distributed_deadlock', resolution: 'rolled back here' })
    const members = event!.transactions as { processId: string }[]
    expect(new Set(members.map((m) => m.processId)).size).toBe(2) // one transaction of each process
    expect(parentDb.deadlockStats()).toMatchObject({ victimsKilledLocally: 0, victimsKilledForOtherProcesses: 0 })
    expect(await balances()).toEqual([START - 1, START + 1]) // the parent's transfer only; nothing of the child's
    // Both withdrew their ownership rows before releasing their connections.
    expect(await t.query(t.names[0]!, `SELECT * FROM ${LOCK_WAITERS_TABLE}`)).toEqual([])
  })

  it("is broken by the other process after the grace period when the victim's process is frozen, rolling the victim back on every shard", async () => {
    const graceMs = 1_000
    const { db: parentDb, logger } = openParent({ deadlock: { killOtherProcessVictimsAfterMs: graceMs } })
    child = new Child({ shards: t.shards, first: b, second: a, maxAttempts: 1 })
    await child.next('ready')
    let freeze!: () => void
    const frozen = new Promise<void>((resolve) => (freeze = resolve))
    const parent = parentSide(parentDb, frozen)
    await parent.held
    child.send('run')
    const { transactionId } = await child.next<{ transactionId: string }>('holding')
    child.send('go') // the child waits for a (held by the parent) and, past the threshold, publishes itself
    await within(BOUND_MS, 'the child publishing its wait', waitForRow(transactionId))
    child.process.kill('SIGSTOP') // its detector can no longer act
    freeze() // the parent now waits for b, held by the frozen child: a cycle only the parent can break
    await within(BOUND_MS, 'the parent transaction behind a frozen victim', parent.done)

    // (The grace period and the second sighting are checked with a scripted clock in test/unit/detector-*.)
    expect(parentDb.deadlockStats()).toMatchObject({ victimsKilledForOtherProcesses: 1, victimsKilledLocally: 0 })
    const [event] = logger.events('shardtx.distributed_deadlock')
    expect(event!.obj).toMatchObject({ resolution: 'killed for another process', victim: transactionId })
    child.process.kill('SIGCONT')
    const result = await within(BOUND_MS, 'the killed child transaction', child.next<ChildDone>('done'))
    expect(result.ok).toBe(false) // its connections were killed: rolled back on both shards, never half-done
    expect(await balances()).toEqual([START - 1, START + 1])
  })
})

/** Resolves once `transactionId` has a row in the coordinator's ownership table. */
async function waitForRow(transactionId: string): Promise<void> {
  for (;;) {
    const rows = await t.query(t.names[0]!, `SELECT 1 FROM ${LOCK_WAITERS_TABLE} WHERE transaction_id = ?`, [transactionId]).catch(() => [])
    if (rows.length > 0) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
