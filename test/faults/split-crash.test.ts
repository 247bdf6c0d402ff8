/**
 * Crash test of the split policy: a child process runs 1,000 split transfers and is killed with
 * SIGKILL again and again, each time at a chosen point of a plan's life (after the intent is
 * stored, inside a part, before COMMIT, with COMMIT on the wire, between parts, before the plan
 * is marked applied), sometimes while its start-up recovery is finishing the previous child's
 * plans. Each new child starts where the last one stopped and recovers at start, as a restarted
 * service would. At the end, db.recover() runs once more and every accepted plan must be applied
 * exactly once: money conserved, exactly the accepted transfers in the ledger, each with both
 * rows, no plan failed (a part applied twice would hit the ledger's primary key and fail its plan).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyrangeNames } from '../../src/index.js'
import type { SplitPhase } from '../../src/policies/split/phase-hook.js'
import { checkBank, crossShardTransfers, setupBank, type Bank } from '../support/bank.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'
import { bundledChild } from '../support/bundled-child.js'

const TRANSFERS = 1000
const MIN_KILLS = 60
const PER_RUN = 30
const CONCURRENCY = 8
const LANES = 2
const LIVE_PHASES: SplitPhase[] = ['after-intent', 'in-part', 'before-commit', 'during-commit', 'between-parts', 'before-mark-applied']
const RECOVERY_PHASES: SplitPhase[] = ['in-part', 'during-commit', 'between-parts', 'before-mark-applied']

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
let t: TestShards
let bank: Bank
let workDir: string
let childCommand: string[]

beforeAll(async () => {
  t = await createTestShards({ names: keyrangeNames(4) })
  // 10 accounts per shard, not a power of two: bank.ts's generator degenerates to one hot account for 8, 16, 64...
  bank = await setupBank(t, { perShard: 10, options: { crossShard: 'split', split: { recoverOnStart: false, recoveryIntervalMs: 0 } } })
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardtx-split-crash-'))
  fs.writeFileSync(path.join(workDir, 'config.json'), JSON.stringify({ shards: t.shards, transfers: crossShardTransfers(bank, TRANSFERS, 3) }))
  childCommand = await bundledChild(path.join(here, 'split-crash-child.ts'), 'shardtx-split-crash')
})
afterAll(async () => {
  await bank?.db.destroy()
  await t?.drop()
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true })
  if (childCommand?.length === 1) fs.rmSync(childCommand[0]!, { force: true }) // the per-run bundle
})

interface ChildResult {
  started: number[]
  done: number[]
  failed: string[]
  kill: { phase: SplitPhase; mode: 'live' | 'recovery'; planId: string; partNo: string; shard: string } | undefined
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
    // A hung child is a failure of the test, not a reason to hang CI.
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog)
      const lines = out.split('\n')
      const nums = (tag: string) => lines.filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.split(' ')[1]))
      const killLine = lines.find((l) => l.startsWith('KILL '))
      resolve({
        started: nums('START'),
        done: nums('DONE'),
        failed: lines.filter((l) => l.startsWith('FAIL ')),
        kill: killLine
          ? (([, phase, mode, planId, partNo, shard]) => ({
              phase: phase as SplitPhase,
              mode: mode as 'live' | 'recovery',
              planId: planId!,
              partNo: partNo!,
              shard: shard!,
            }))(killLine.split(' '))
          : undefined,
        ended: lines.includes('END'),
        signal,
        code,
        stderr: err,
      })
    })
  })
}

describe('split survives SIGKILL at every point of a plan', () => {
  it(`1,000 transfers, >= ${MIN_KILLS} kills: after recover(), every accepted plan is applied exactly once`, { timeout: 600_000 }, async () => {
    const started = performance.now()
    let state = 42
    const rand = (n: number) => ((state = (state * 48271) % 2147483647), state % n)
    const kills: { phase: SplitPhase; mode: string }[] = []
    const done = new Set<number>()
    const clientFailures: string[] = []
    let runs = 0
    let runsWithoutKill = 0
    const commitOnTheWire = { landed: 0, lost: 0 }

    // Two lanes, each a succession of children over its own half of the transfers, run at the
    // same time: like two instances of a service, each recovering at start while the other runs.
    const lane = async (laneNo: number, from: number, to: number) => {
      let next = from
      for (let k = laneNo; kills.length < MIN_KILLS && next < to; k += LANES) {
        // Every 4th run aims at the start-up recovery of the plans an earlier kill left behind.
        const target =
          k % 4 === 3
            ? { phase: RECOVERY_PHASES[Math.floor(k / 4) % RECOVERY_PHASES.length]!, recovering: true, hit: 1 }
            : { phase: LIVE_PHASES[k % LIVE_PHASES.length]!, recovering: false, hit: 1 + rand(2 * CONCURRENCY) }
        const r = await runChild({ start: next, count: Math.min(PER_RUN, to - next), concurrency: CONCURRENCY, target })
        runs++
        if (r.kill) {
          expect(r.signal, r.stderr).toBe('SIGKILL')
          kills.push({ phase: r.kill.phase, mode: r.kill.mode })
          if (r.kill.phase === 'during-commit') {
            // Did the COMMIT the process wrote just before dying reach the server? Either is
            // correct; the count shows the kill really landed mid-commit both ways.
            const marker = await t.query(r.kill.shard, 'SELECT 1 FROM shardtx_split_applied WHERE plan_id = ? AND part_no = ?', [
              r.kill.planId,
              Number(r.kill.partNo),
            ])
            commitOnTheWire[marker.length > 0 ? 'landed' : 'lost']++
          }
        } else {
          expect(r.ended, r.stderr).toBe(true)
          expect(r.code).toBe(0)
          runsWithoutKill++
        }
        r.done.forEach((i) => done.add(i))
        clientFailures.push(...r.failed)
        // Transfers started but not accepted before the kill are lost, like requests of a crashed
        // server; the next child goes on after the last one started.
        next = r.started.length > 0 ? Math.max(...r.started) + 1 : next + (r.ended ? PER_RUN : 0)
      }
      // The rest of the lane's transfers, with no kill.
      const last = await runChild({ start: next, count: to - next, concurrency: CONCURRENCY })
      runs++
      expect(last.ended, last.stderr).toBe(true)
      last.done.forEach((i) => done.add(i))
      clientFailures.push(...last.failed)
    }
    const half = TRANSFERS / LANES
    await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i, i * half, (i + 1) * half)))
    // One more recovery, from a ShardedDb that never ran any of these transfers.
    const report = await bank.db.recover()
    const durationS = (performance.now() - started) / 1000

    // Which points were hit.
    const byPoint = new Map<string, number>()
    for (const k of kills) byPoint.set(`${k.mode}:${k.phase}`, (byPoint.get(`${k.mode}:${k.phase}`) ?? 0) + 1)
    console.log(
      `split crash test: ${runs} child runs, ${kills.length} SIGKILLs (${runsWithoutKill} runs ended without reaching their kill point), ${durationS.toFixed(1)} s; ` +
        `kills by point: ${[...byPoint].map(([p, n]) => `${p}=${n}`).join(', ')}; ` +
        `COMMIT on the wire at the kill: committed ${commitOnTheWire.landed}, rolled back ${commitOnTheWire.lost}; final recover(): ${JSON.stringify(report)}`,
    )
    expect(kills.length).toBeGreaterThanOrEqual(MIN_KILLS)
    for (const phase of LIVE_PHASES) expect(byPoint.get(`live:${phase}`) ?? 0, phase).toBeGreaterThanOrEqual(3)
    expect(kills.filter((k) => k.mode === 'recovery').length).toBeGreaterThanOrEqual(3)

    // Nothing failed: a double-applied part would have hit the ledger's primary key.
    expect(clientFailures).toEqual([])
    expect(report).toMatchObject({ failed: 0, stillPending: 0 })
    const plans = await t.query(t.names[0]!, 'SELECT plan_id, status, plan FROM shardtx_split_plans')
    expect(plans.filter((p) => p.status !== 'applied')).toEqual([])

    // Accepted plans (rows in the intent log) are exactly the transfers in the ledger.
    const accepted = new Set<string>()
    for (const p of plans) {
      const ids = new Set<string>()
      for (const part of JSON.parse(p.plan).parts) {
        for (const s of part.statements) if (s.sql.startsWith('insert into `ledger`')) ids.add(s.bindings[2]) // (account_id, amount, transfer_id)
      }
      expect(ids.size).toBe(1)
      const [id] = ids
      expect(accepted.has(id!), `two plans for transfer ${id}`).toBe(false)
      accepted.add(id!)
    }
    const ledgerIds = new Set<string>()
    for (const shard of t.names) for (const r of await t.query(shard, 'SELECT DISTINCT transfer_id FROM ledger')) ledgerIds.add(r.transfer_id)
    expect([...ledgerIds].sort()).toEqual([...accepted].sort())
    // Every transfer a child saw succeed is among them.
    const transfers = JSON.parse(fs.readFileSync(path.join(workDir, 'config.json'), 'utf8')).transfers as { id: string }[]
    for (const i of done) expect(accepted.has(transfers[i]!.id)).toBe(true)

    const check = await checkBank(bank)
    expect(check.total).toBe(check.expectedTotal)
    expect(check.brokenTransfers).toEqual([])
    expect(check.accountsOutOfBalance).toEqual([])
    expect(check.completeTransfers).toBe(accepted.size)
    console.log(
      `split crash test: ${accepted.size} plans accepted of ${TRANSFERS} transfers submitted (${done.size} seen succeeding by a child), all applied exactly once`,
    )
  })
})
