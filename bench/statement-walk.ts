/**
 * bench/statement-walk: which of shardtx's source files one routed statement runs code in.
 * README.md's Architecture section quotes the result.
 *
 *   npx tsx bench/statement-walk.ts
 *
 * After a warm-up, V8's precise coverage (call counts) is reset, one
 * `tx('accounts').where({ id }).update(...)` runs in a warn transaction on one shard, and every
 * file with a function that ran is listed. The transaction's own begin and commit are outside the
 * measured window.
 */
import { Session } from 'node:inspector/promises'
import path from 'node:path'
import { createShardedDb } from '../src/index.js'
import { createTestShards } from '../test/support/shard-databases.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const shards = await createTestShards({ names: ['-80', '80-'] })
const db = createShardedDb({
  shards: shards.shards,
  tables: { accounts: { shardKey: 'id' } },
  split: { recoverOnStart: false },
})
try {
  for (const s of db.shardNames)
    await db.shard(s).schema.createTable('accounts', (t) => {
      t.bigInteger('id').primary()
      t.integer('balance')
    })
  await db.shard(db.shardOf('accounts', 1)).table('accounts').insert({ id: 1, balance: 0 })
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false })
  const shard = db.shardOf('accounts', 1)
  const walk = async (measure: boolean) =>
    db.transaction(async (tx) => {
      if (measure) await session.post('Profiler.takePreciseCoverage') // resets the counts: only the statement below is measured
      const builder = tx('accounts').where({ id: 1 }).update({ balance: 1 })
      await builder
      if (measure) return (await session.post('Profiler.takePreciseCoverage')).result
      return undefined
    })
  for (let i = 0; i < 20; i++) await walk(false)
  const coverage = (await walk(true))!
  const files = coverage
    .filter((script) => script.url.startsWith(`file://${ROOT}/src/`) && script.functions.some((f) => f.ranges.some((r) => r.count > 0)))
    .map((script) => path.relative(ROOT, new URL(script.url).pathname))
    .sort()
  console.log(`${files.length} shardtx files ran code for one routed update on shard ${shard}:\n  ${files.join('\n  ')}`)
  session.disconnect()
} finally {
  await db.destroy()
  await shards.drop()
}
