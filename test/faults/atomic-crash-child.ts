/**
 * Child process of atomic-crash.test.ts: runs three-shard `atomic` payments and dies by SIGKILL
 * at a chosen point of a commit.
 *
 *   node --import tsx test/faults/atomic-crash-child.ts <config.json> '<run JSON>'
 *
 * config.json: { shards, payments: Payment[] } (written by the parent).
 * run: { start, count, concurrency, target?: { phase, index?, hit } }
 *   - runs payments[start .. start+count) with `concurrency` in flight, each
 *     `db.transaction(applyPayment, { crossShard: 'atomic', lock })`;
 *   - `atomic.recoverOnStart` is on, as in production: the branches a previous child left prepared
 *     are settled by this one's start-up recovery, concurrently with its new payments, and by its
 *     periodic recovery (every second here);
 *   - with a target, the `hit`-th time a commit reaches `phase` (and branch `index`, for the
 *     per-branch phases), the child writes `KILL <phase> <index> <payment>` and sends itself
 *     SIGKILL at that very point.
 *
 * Protocol on stdout (written synchronously, so nothing is lost to the kill): `READY`,
 * `START <i>`, `DONE <i>`, `FAIL <i> <code>`, `KILL ...`, and `END` after a run that was not killed.
 */
import fs from 'node:fs'
import { createShardedDb } from '../../src/index.js'
import { setAtomicPhaseHookForTests, type AtomicPhase } from '../../src/policies/atomic/phase-hook.js'
import { BANK_TABLES, runConcurrently } from '../support/bank.js'
import { applyPayment, type Payment } from '../support/atomic-bank.js'

interface Run {
  start: number
  count: number
  concurrency: number
  target?: { phase: AtomicPhase; index?: number; hit: number }
}

const say = (line: string) => fs.writeSync(1, `${line}\n`)

const config = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as { shards: Record<string, object>; payments: Payment[] }
const run = JSON.parse(process.argv[3]!) as Run

/** Which payment each attempt (transaction id) is running, so a kill names the payment it interrupted. */
const paymentOf = new Map<string, number>()

const target = run.target
if (target !== undefined) {
  let hits = 0
  setAtomicPhaseHookForTests((phase, detail) => {
    if (phase !== target.phase || (target.index !== undefined && detail.index !== target.index)) return
    if (++hits !== target.hit) return
    say(`KILL ${phase} ${detail.index ?? '-'} ${paymentOf.get(detail.transactionId) ?? '-'}`)
    process.kill(process.pid, 'SIGKILL')
  })
}

const db = createShardedDb({
  shards: config.shards as never,
  tables: BANK_TABLES,
  crossShard: 'atomic',
  pool: { max: 8 },
  // Periodic recovery every second, as production runs it every minute: branches that a child of
  // the other lane left prepared (its lane may have stopped after the last kill, so no new child
  // of its own recovers them at start) would otherwise hold their rows until this child's
  // statements fail with statementTimeoutMs (30 s). One second leaves a 30x margin.
  atomic: { recoverOnStart: true, recoveryIntervalMs: 1000 },
  split: { recoverOnStart: false, recoveryIntervalMs: 0 },
})
say('READY')
const indexes = Array.from({ length: Math.max(0, Math.min(run.count, config.payments.length - run.start)) }, (_, k) => run.start + k)
await runConcurrently(indexes, run.concurrency, async (i) => {
  say(`START ${i}`)
  const p = config.payments[i]!
  try {
    await db.transaction(
      (tx) => {
        paymentOf.set(tx.id, i)
        return applyPayment(tx, p)
      },
      { lock: { accounts: [p.from, ...p.to] } },
    )
    say(`DONE ${i}`)
  } catch (err) {
    say(`FAIL ${i} ${(err as { code?: string }).code ?? (err as Error).name}`)
  }
})
say('END')
await db.destroy()
