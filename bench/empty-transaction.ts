/**
 * bench/empty-transaction: the fixed Node CPU of one `db.transaction()` with nothing in it (no
 * statement, so no session and no network): the transaction object, attempt control, options
 * and policy bookkeeping alone.
 *
 *   npm run build && npx tsx bench/empty-transaction.ts [--rounds 5] [--transactions 100000]
 *
 * Each round prints CPU and wall time per transaction; compare code versions by running it in
 * each, alternately, on the same machine.
 */
import { parseArgs } from 'node:util'
import { createShardedDb, keyrangeNames } from './support/built-package.js'
import { createTestShards } from '../test/support/shard-databases.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, transactions: { type: 'string', default: '100000' } } })
const ROUNDS = Number(values.rounds)
const N = Number(values.transactions)

async function main(): Promise<void> {
  const shards = await createTestShards({ names: keyrangeNames(2) })
  const db = createShardedDb({ shards: shards.shards, tables: { accounts: { shardKey: 'id' } } })
  for (let r = 0; r < ROUNDS; r++) {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < N; i++) await db.transaction(async () => 1)
    const cpu = process.cpuUsage(cpu0)
    console.log(`empty transaction: ${((cpu.user + cpu.system) / N).toFixed(2)} us CPU, ${(((performance.now() - t0) * 1000) / N).toFixed(2)} us wall`)
  }
  await db.destroy()
  await shards.drop()
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
