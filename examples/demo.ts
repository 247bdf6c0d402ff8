/**
 * `npm run demo`: shardtx on the local MySQL/MariaDB, no configuration needed.
 *
 * Creates two shard databases (shardtx_demo_s0, shardtx_demo_s1) on the server named by
 * SHARDTX_DEMO_MYSQL_URL (default mysql://root@127.0.0.1:3306), then shows routing, a rejected
 * cross-shard transaction and the warning a `warn` transaction logs. Sections that later
 * features add live in examples/demo-*.ts and run after these.
 */
import { createShardedDb, CrossShardTransactionError, type ShardedDb } from '../src/index.js'
import { prepareDemoShards, type DemoShards } from './demo-support.js'

const heading = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`)

/** Prints structured events the way a log pipeline would receive them: one JSON line each. */
const jsonLineLogger = {
  error: (obj: object) => console.log(`  log(error) ${JSON.stringify(obj)}`),
  warn: (obj: object) => console.log(`  log(warn)  ${JSON.stringify(obj)}`),
  info: (obj: object) => console.log(`  log(info)  ${JSON.stringify(obj)}`),
  debug: () => {},
}

async function routing(db: ShardedDb, shards: DemoShards): Promise<void> {
  heading('1. Routing: each row goes to the shard of its key (Vitess hash vindex)')
  for (const id of [1, 2, 3, 4, 5, 6]) console.log(`  accounts id=${id} -> shard ${db.shardOf('accounts', id)}`)
  await db.transaction((tx) => tx('accounts').insert([1, 2, 3, 5].map((id) => ({ id, owner: `user${id}`, balance: 100 }))))
  await db.transaction((tx) => tx('accounts').insert([4, 6].map((id) => ({ id, owner: `user${id}`, balance: 100 }))))
  for (const name of db.shardNames) {
    const ids = (await shards.query(name, 'SELECT id FROM accounts ORDER BY id')).map((r) => r.id)
    console.log(`  database of shard ${name} now holds accounts [${ids.join(', ')}]`)
  }
  const both = await db.transaction((tx) => tx('accounts').whereIn('id', [1, 4]).select('id', 'balance'))
  console.log(`  a read of ids 1 and 4 ran on both shards and merged: ${JSON.stringify(both)}`)
}

async function rejected(db: ShardedDb, shards: DemoShards): Promise<void> {
  heading("2. 'reject' (the default): a transaction that would write to a second shard")
  try {
    await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 1 }).decrement('balance', 10) // shard -80
      // shardtx-allow-cross-shard: the demo shows what the reject policy does with this write
      await tx('accounts').where({ id: 4 }).increment('balance', 10) // shard 80-: refused, never sent
    })
  } catch (err) {
    if (!(err instanceof CrossShardTransactionError)) throw err
    console.log(`  ${err.name} [${err.code}]:\n  ${err.message.replace(/\. /g, '.\n  ')}`)
  }
  const [a] = await shards.query('-80', 'SELECT balance FROM accounts WHERE id = 1')
  const [b] = await shards.query('80-', 'SELECT balance FROM accounts WHERE id = 4')
  console.log(`  balances afterwards: id 1 = ${a.balance}, id 4 = ${b.balance} (nothing was committed anywhere)`)
}

async function warned(db: ShardedDb): Promise<void> {
  heading("3. 'warn': allowed with a reason, committed in canonical shard order, and logged")
  await db.transaction(
    async (tx) => {
      await tx('accounts').where({ id: 4 }).decrement('balance', 10)
      // shardtx-allow-cross-shard: the demo shows the warning a warn transaction logs
      await tx('accounts').where({ id: 1 }).increment('balance', 10)
    },
    { crossShard: 'warn', reason: 'https://tracker.example/DEMO-1' },
  )
  const rows = await db.transaction((tx) => tx('accounts').whereIn('id', [1, 4]).select('id', 'balance'))
  console.log(`  balances afterwards: ${JSON.stringify(rows)}`)
}

async function main(): Promise<void> {
  const shards = await prepareDemoShards()
  const db = createShardedDb({
    shards: shards.shards,
    tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' }, notifications: { shardKey: 'user_id' }, countries: { shard: '-80' } },
    logger: jsonLineLogger,
  })
  console.log(`shardtx demo on ${shards.serverLabel}: shards ${db.shardNames.join(', ')} in databases ${shards.databases.join(', ')}`)
  try {
    await routing(db, shards)
    await rejected(db, shards)
    await warned(db)
    for (const section of await loadLaterSections()) await section({ db, shards, heading })
    heading('Done')
    console.log('  The demo databases are left in place for inspection; the next run recreates them.')
  } finally {
    await db.destroy()
    await shards.close()
  }
}

/** Sections added by later features (ordered, split, deadlock detection), in file-name order. */
async function loadLaterSections(): Promise<((ctx: { db: ShardedDb; shards: DemoShards; heading: (t: string) => void }) => Promise<void>)[]> {
  const { readdir } = await import('node:fs/promises')
  const here = new URL('.', import.meta.url)
  const files = (await readdir(here)).filter((f) => /^demo-section-.*\.ts$/.test(f)).sort()
  return Promise.all(files.map(async (f) => (await import(new URL(f, here).href)).default))
}

main().catch((err) => {
  console.error(`\nThe demo failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
