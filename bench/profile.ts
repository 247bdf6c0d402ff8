/**
 * bench/profile: where the Node CPU of one side of bench/overhead goes, by owner and by function.
 *
 *   npm run build && npx tsx bench/profile.ts [--side shardtx|knex|raw] [--workload '5 statements']
 *     [--transactions 6000] [--clients 16] [--top 10] [--out profile.cpuprofile]
 *
 * Runs the workload's transactions (after a warm-up of the same size) under V8's sampling
 * profiler (node:inspector, the profiler `node --cpu-prof` uses) and prints self time grouped by
 * owner (shardtx's built package, knex, mysql2, other packages, node internals, garbage
 * collection) and the top shardtx-owned functions by self time. `--out` keeps the raw profile
 * for Chrome DevTools.
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { openOneShardSide } from './support/one-shard-sides.js'
import { startCpuProfile } from './support/cpu-profiler.js'
import { summarizeProfile } from './support/profile-summary.js'

const { values } = parseArgs({
  options: {
    side: { type: 'string', default: 'shardtx' },
    workload: { type: 'string', default: '5 statements' },
    transactions: { type: 'string', default: '6000' },
    clients: { type: 'string', default: '16' },
    top: { type: 'string', default: '10' },
    out: { type: 'string' },
  },
})
const TRANSACTIONS = Number(values.transactions)
const CLIENTS = Number(values.clients)

async function main() {
  const side = await openOneShardSide(values.side, values.workload, CLIENTS)
  const run = () => side.run(TRANSACTIONS)

  await run() // warm-up: pools filled, code optimised
  const stopProfile = await startCpuProfile()
  const cpuBefore = process.cpuUsage()
  await run()
  const cpu = process.cpuUsage(cpuBefore)
  const profile = await stopProfile()
  if (values.out !== undefined) writeFileSync(values.out, JSON.stringify(profile))

  const cpuPerTx = (cpu.user + cpu.system) / TRANSACTIONS
  console.log(
    `bench/profile: ${values.side}, ${values.workload}, ${TRANSACTIONS} transactions, ${CLIENTS} clients: Node CPU ${cpuPerTx.toFixed(0)} us per transaction`,
  )
  console.log(summarizeProfile(profile, { transactions: TRANSACTIONS, top: Number(values.top) }))

  await side.close()
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
