/**
 * Child process of split-crash.test.ts: runs split transfers and dies by SIGKILL at a chosen
 * point of a plan's life.
 *
 *   node --import tsx test/faults/split-crash-child.ts <config.json> '<run JSON>'
 *
 * config.json: { shards, transfers: Transfer[] } (written by the parent).
 * run: { start, count, concurrency, target?: { phase, recovering, hit } }
 *   - runs transfers[start .. start+count) with `concurrency` in flight, each
 *     `db.transaction(applyTransfer, { crossShard: 'split' })`;
 *   - `recoverOnStart` is on, as in production: the plans a previous child left behind are
 *     finished by this one's start-up recovery, concurrently with its new transfers;
 *   - with a target, the `hit`-th time a plan reaches `phase` (in recovery or not, as asked), the
 *     child writes `KILL <phase> <live|recovery> <planId> <partNo> <shard>` and sends itself SIGKILL at that very point:
 *     the socket writes already made (a COMMIT at `during-commit`) are on the wire, nothing else.
 *
 * Protocol on stdout (written synchronously, so nothing is lost to the kill): `READY`,
 * `START <i>` before transfer i is submitted, `DONE <i>` when db.transaction resolved,
 * `FAIL <i> <code>` when it rejected, `KILL ...`, and `END` after a run that was not killed.
 */
import fs from 'node:fs'
import { createShardedDb } from '../../src/index.js'
import { setSplitPhaseHookForTests, type SplitPhase } from '../../src/policies/split/phase-hook.js'
import { applyTransfer, BANK_TABLES, runConcurrently, type Transfer } from '../support/bank.js'

interface Run {
  start: number
  count: number
  concurrency: number
  target?: { phase: SplitPhase; recovering: boolean; hit: number }
}

const say = (line: string) => fs.writeSync(1, `${line}\n`)

const config = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as { shards: Record<string, object>; transfers: Transfer[] }
const run = JSON.parse(process.argv[3]!) as Run

const target = run.target
if (target !== undefined) {
  let hits = 0
  setSplitPhaseHookForTests((phase, detail) => {
    if (phase !== target.phase || detail.recovering !== target.recovering) return
    if (++hits !== target.hit) return
    say(`KILL ${phase} ${detail.recovering ? 'recovery' : 'live'} ${detail.planId ?? '-'} ${detail.partNo ?? '-'} ${detail.shard ?? '-'}`)
    process.kill(process.pid, 'SIGKILL')
  })
}

const db = createShardedDb({
  shards: config.shards as never,
  tables: BANK_TABLES,
  crossShard: 'split',
  pool: { max: 8 },
  split: { recoverOnStart: true, recoveryIntervalMs: 0 },
})
say('READY')
const indexes = Array.from({ length: Math.max(0, Math.min(run.count, config.transfers.length - run.start)) }, (_, k) => run.start + k)
await runConcurrently(indexes, run.concurrency, async (i) => {
  say(`START ${i}`)
  try {
    await db.transaction((tx) => applyTransfer(tx, config.transfers[i]!))
    say(`DONE ${i}`)
  } catch (err) {
    say(`FAIL ${i} ${(err as { code?: string }).code ?? (err as Error).name}`)
  }
})
await db.recover() // waits for the start-up pass too, so a planned recovery kill has its chance
say('END')
await db.destroy()
