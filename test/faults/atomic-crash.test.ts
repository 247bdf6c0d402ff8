/**
 * Crash test of the `atomic` policy on three separate mariadbd processes (one per shard): a child
 * process runs three-shard payments (a coordinator and two XA branches each) and is SIGKILLed
 * again and again at a named step of a commit: before any prepare, after each prepare, before
 * and after the decision, before each branch commit; then at random steps and moments. Two lanes
 * of children run at once, each child recovering at start while the other lane's child works, as
 * two instances of a service would. At the end two recoverers run at once. Then: no shardtx
 * branch left in any server's `XA RECOVER`, every payment on all three shards or on none, money
 * conserved; and each payment killed before its decision is on none, each killed after it on all.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShardedDb, type ShardedDb } from '../../src/index.js'
import type { AtomicPhase } from '../../src/policies/atomic/phase-hook.js'
import { BANK_TABLES, setupBank, type Bank } from '../support/bank.js'
import { checkPayments, preparedXaBranches, threeShardPayments } from '../support/atomic-bank.js'
import { startServerShards, type ServerShards } from '../support/server-shards.js'
import { bundledChild } from '../support/bundled-child.js'

const PAYMENTS = 1200
const MIN_KILLS = 64
const PER_RUN = 30
const CONCURRENCY = 8
const LANES = 2
/** The named kill points of the issue: each is hit at least {@link PER_NAMED} times before random ones. */
const NAMED: { phase: AtomicPhase; index?: number }[] = [
  { phase: 'before-prepare' },
  { phase: 'after-prepare', index: 0 },
  { phase: 'after-prepare', index: 1 },
  { phase: 'before-decision' },
  { phase: 'after-decision' },
  { phase: 'before-branch-commit', index: 0 },
  { phase: 'before-branch-commit', index: 1 },
]
const PER_NAMED = 5
/** Steps after which the decision is durable: a payment killed there must be applied on every shard. */
const DECIDED: ReadonlySet<AtomicPhase> = new Set(['after-decision', 'before-branch-commit'])

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
let shards: ServerShards
let bank: Bank
let workDir: string
let childCommand: string[]

beforeAll(async () => {
  shards = await startServerShards({ names: ['-55', '55-aa', 'aa-'] })
  // 10 accounts per shard, not a power of two: bank.ts's generator degenerates to one hot account for 8, 16, 64...
  bank = await setupBank(shards, { perShard: 10, options: { atomic: { recoverOnStart: false, recoveryIntervalMs: 0 } } })
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardtx-atomic-crash-'))
  fs.writeFileSync(path.join(workDir, 'config.json'), JSON.stringify({ shards: shards.shards, payments: threeShardPayments(bank, PAYMENTS, 5) }))
  childCommand = await bundledChild(path.join(here, 'atomic-crash-child.ts'), 'shardtx-atomic-crash')
}, 120_000)
afterAll(async () => {
  await bank?.db.destroy()
  await shards?.drop()
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true })
  if (childCommand?.length === 1) fs.rmSync(childCommand[0]!, { force: true })
})

interface ChildResult {
  started: number[]
  done: number[]
  failed: string[]
  kill: { phase: AtomicPhase; index: string; payment: number | undefined } | undefined
  ended: boolean
  signal: NodeJS.Signals | null
  code: number | null
  stderr: string
}

function runChild(run: object): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...childCommand, path.join(workDir, 'config.json'), JSON.stringify(run)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60_000) // a hung child fails the test instead of hanging it
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog)
      const lines = out.split('\n')
      const nums = (tag: string) => lines.filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.split(' ')[1]))
      const killLine = lines.find((l) => l.startsWith('KILL '))?.split(' ')
      resolve({
        started: nums('START'),
        done: nums('DONE'),
        failed: lines.filter((l) => l.startsWith('FAIL ')),
        kill: killLine ? { phase: killLine[1] as AtomicPhase, index: killLine[2]!, payment: killLine[3] === '-' ? undefined : Number(killLine[3]) } : undefined,
        ended: lines.includes('END'),
        signal,
        code,
        stderr: err,
      })
    })
  })
}

/** Recovers with two ShardedDbs at once until no branch is left to a live owner (bounded: 30 s). */
async function recoverWithTwo(): Promise<{ committed: number; rolledBack: number; inDoubt: number; passes: number }> {
  const dbs: ShardedDb[] = [0, 1].map(() =>
    createShardedDb({ shards: shards.shards, tables: BANK_TABLES, atomic: { recoverOnStart: false, recoveryIntervalMs: 0 }, split: { recoverOnStart: false } }),
  )
  const total = { committed: 0, rolledBack: 0, inDoubt: 0, passes: 0 }
  try {
    const deadline = Date.now() + 30_000
    for (;;) {
      const reports = await Promise.all(dbs.map((db) => db.recover()))
      total.passes++
      for (const r of reports) {
        total.committed += r.atomic.committed
        total.rolledBack += r.atomic.rolledBack
      }
      total.inDoubt = Math.max(...reports.map((r) => r.atomic.inDoubt))
      if (reports.every((r) => r.atomic.inProgress === 0 && r.atomic.inDoubt === 0) || Date.now() > deadline) return total
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await Promise.all(dbs.map((db) => db.destroy()))
  }
}

describe('atomic survives SIGKILL of the coordinating process at every step of a commit', () => {
  it(`${PAYMENTS} three-shard payments, >= ${MIN_KILLS} kills: after recovery every payment is on all shards or none`, { timeout: 900_000 }, async () => {
    const started = performance.now()
    let state = 17
    const rand = (n: number) => ((state = (state * 48271) % 2147483647), state % n)
    const kills: { phase: AtomicPhase; index: string; payment: number | undefined; named: boolean }[] = []
    const done = new Set<number>()
    const clientFailures: string[] = []
    let runs = 0
    let runsWithoutKill = 0
    let scheduled = 0

    const lane = async (from: number, to: number) => {
      let next = from
      while (kills.length < MIN_KILLS && next < to) {
        const k = scheduled++
        // The named points first, each PER_NAMED times; then random points at random moments.
        const named = k < NAMED.length * PER_NAMED
        const point = named ? NAMED[k % NAMED.length]! : NAMED[rand(NAMED.length)]!
        const target = { ...point, hit: 1 + rand(2 * CONCURRENCY) }
        const r = await runChild({ start: next, count: Math.min(PER_RUN, to - next), concurrency: CONCURRENCY, target })
        runs++
        if (r.kill) {
          expect(r.signal, r.stderr).toBe('SIGKILL')
          kills.push({ ...r.kill, named })
        } else {
          expect(r.ended, r.stderr).toBe(true)
          expect(r.code).toBe(0)
          runsWithoutKill++
        }
        r.done.forEach((i) => done.add(i))
        clientFailures.push(...r.failed)
        next = r.started.length > 0 ? Math.max(...r.started) + 1 : next + (r.ended ? PER_RUN : 0)
      }
    }
    const half = PAYMENTS / LANES
    await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i * half, (i + 1) * half)))
    const recovery = await recoverWithTwo()
    const durationS = (performance.now() - started) / 1000

    const byPoint = new Map<string, number>()
    for (const k of kills)
      byPoint.set(`${k.phase}${k.index === '-' ? '' : `#${k.index}`}`, (byPoint.get(`${k.phase}${k.index === '-' ? '' : `#${k.index}`}`) ?? 0) + 1)
    console.log(
      `atomic crash test: ${runs} child runs, ${kills.length} SIGKILLs (${kills.filter((k) => !k.named).length} at random points; ${runsWithoutKill} runs ended without reaching their kill point), ` +
        `${durationS.toFixed(1)} s; kills by point: ${[...byPoint].map(([p, n]) => `${p}=${n}`).join(', ')}; final recovery by two recoverers: ${JSON.stringify(recovery)}`,
    )
    expect(kills.length).toBeGreaterThanOrEqual(MIN_KILLS)
    for (const point of NAMED) {
      const name = `${point.phase}${point.index === undefined ? '' : `#${point.index}`}`
      expect(byPoint.get(name) ?? 0, name).toBeGreaterThanOrEqual(3)
    }
    // Transactions that lost their process before the decision rolled back cleanly; nothing else failed.
    expect(clientFailures).toEqual([])

    expect(await preparedXaBranches(shards)).toEqual([])
    const check = await checkPayments(bank)
    expect(check.partial).toEqual([])
    expect(check.total).toBe(check.expectedTotal)
    expect(check.accountsOutOfBalance).toEqual([])
    const payments = JSON.parse(fs.readFileSync(path.join(workDir, 'config.json'), 'utf8')).payments as { id: string }[]
    const applied = new Set(check.applied)
    for (const i of done) expect(applied.has(payments[i]!.id), `payment ${i} reported committed`).toBe(true)
    for (const k of kills) {
      if (k.payment === undefined) continue
      // The decision decides: after it, on every shard; before it, on none.
      expect(applied.has(payments[k.payment]!.id), `payment ${k.payment} killed at ${k.phase}`).toBe(DECIDED.has(k.phase))
    }
    console.log(`atomic crash test: ${applied.size} payments applied of ${PAYMENTS} (${done.size} seen committing by a child), none partial, money conserved`)
  })
})
