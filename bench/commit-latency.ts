/**
 * bench/commit-latency: how long one cross-shard transfer takes, end to end, under `ordered`
 * (commit shard by shard) and `atomic` (two-phase commit: XA START, decision record, XA END +
 * XA PREPARE, COMMIT, XA COMMIT), with nothing else running: one transfer at a time, no contention.
 *
 *   npm run bench:commit-latency -- [--rounds 6] [--per-round 500]
 *
 * Both policies run against the same two shard databases and accounts (the built package, as
 * users run it). Rounds alternate which policy goes first (A B B A ...), so drift in the
 * machine's load hits both; latencies go into one hdr-histogram per policy (p50, p99).
 */
import { parseArgs } from 'node:util'
import { createShardedDb, keyrangeNames } from './support/built-package.js'
import { applyTransfer, setupBank } from '../test/support/bank.js'
import { createTestShards } from '../test/support/shard-databases.js'
import { LatencyRecorder, formatMs } from './support/latency.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, 'per-round': { type: 'string', default: '500' } } })
const ROUNDS = Number(values.rounds)
const PER_ROUND = Number(values['per-round'])
const POLICIES = ['ordered', 'atomic'] as const

const shards = await createTestShards({ names: keyrangeNames(2) })
const bank = await setupBank(shards, { perShard: 50, create: createShardedDb, options: { atomic: { recoverOnStart: false } } })
const [low, high] = bank.db.shardNames.map((s) => bank.accountsByShard.get(s)!)
const latency = new Map(POLICIES.map((p) => [p, new LatencyRecorder()]))
let n = 0
try {
  // Warm both paths (JIT, pools, the decision table) before measuring.
  for (const policy of POLICIES) for (let i = 0; i < 200; i++) await transfer(policy, false)
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? POLICIES : [...POLICIES].reverse()
    for (const policy of order) for (let i = 0; i < PER_ROUND; i++) await transfer(policy, true)
  }
} finally {
  await bank.db.destroy()
  await shards.drop()
}
const rows = POLICIES.map((p) => ({ p, r: latency.get(p)! }))
console.log(`bench/commit-latency: one cross-shard transfer at a time (2 shard databases), ${ROUNDS} rounds x ${PER_ROUND} per policy\n`)
console.log('| policy | transfers | p50 | p99 |')
console.log('|---|---|---|---|')
for (const { p, r } of rows) console.log(`| ${p} | ${r.count} | ${formatMs(r.percentile(50))} | ${formatMs(r.percentile(99))} |`)
const [ordered, atomic] = rows.map(({ r }) => r)
console.log(
  `\natomic / ordered: p50 x${(atomic!.percentile(50) / ordered!.percentile(50)).toFixed(2)}, p99 x${(atomic!.percentile(99) / ordered!.percentile(99)).toFixed(2)}`,
)

async function transfer(policy: (typeof POLICIES)[number], measured: boolean): Promise<void> {
  const i = n++
  const from = low![i % low!.length]!
  const to = high![i % high!.length]!
  const t = { id: `lat-${i}`, from, to, amount: 1 }
  const started = performance.now()
  await bank.db.transaction((tx) => applyTransfer(tx, i % 2 === 0 ? t : { ...t, from: to, to: from }), { crossShard: policy, lock: { accounts: [from, to] } })
  if (measured) latency.get(policy)!.record(performance.now() - started)
}
