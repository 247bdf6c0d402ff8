/**
 * `npm run demo`: shardtx on the local MySQL/MariaDB, no configuration needed. Creates two shard
 * databases (shardtx_demo_s0, shardtx_demo_s1) on the server named by SHARDTX_DEMO_MYSQL_URL
 * (default mysql://root@127.0.0.1:3306), creates the tables with db.migrate.latest(), then runs
 * the numbered sections in examples/demo-section-*.ts and sums them up.
 *
 *   npm run demo               human-readable lines
 *   npm run demo -- --json     log events as JSON lines, as a log pipeline receives them
 *   npm run demo -- --clean    drop the demo's databases and exit
 */
import { readdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { createShardedDb } from '../src/index.js'
import { DEMO_MIGRATIONS, demoOutput, dropDemoDatabases, prepareDemoShards, type DemoSection } from './demo-support.js'

const USAGE = 'usage: npm run demo [-- --json | --clean]'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { json: { type: 'boolean', default: false }, clean: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  if (values.clean) {
    const dropped = await dropDemoDatabases()
    console.log(dropped.length > 0 ? `Dropped ${dropped.join(', ')}.` : 'No demo databases to drop.')
    return
  }
  const out = demoOutput({ json: values.json })
  const shards = await prepareDemoShards()
  const db = createShardedDb({
    shards: shards.shards,
    tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' }, notifications: { shardKey: 'user_id' }, countries: { shard: '-80' } },
    logger: out.logger,
  })
  console.log(`shardtx demo on ${shards.serverLabel}: shards ${db.shardNames.join(', ')} in databases ${shards.databases.join(', ')}`)
  const summary: string[] = []
  try {
    const migrated = await db.migrate.latest({ directory: DEMO_MIGRATIONS })
    out.line(
      `db.migrate.latest() created the tables on every shard: ${migrated.shards.map((s) => `${s.shard} ran ${s.migrations!.length} migration`).join(', ')}`,
    )
    for (const section of await loadSections()) summary.push(await section({ db, shards, out }))
  } finally {
    await db.destroy()
    await shards.close()
  }
  console.log('\nWhat you saw:')
  summary.forEach((line, i) => console.log(`  ${i + 1}. ${line}`))
  console.log(`\nThe databases ${shards.databases.join(', ')} are left for inspection; drop them with: npm run demo -- --clean`)
}

/** The numbered sections, in file-name order. */
async function loadSections(): Promise<DemoSection[]> {
  const here = new URL('.', import.meta.url)
  const files = (await readdir(here)).filter((f) => /^demo-section-\d+-[\w-]+\.ts$/.test(f)).sort()
  return Promise.all(files.map(async (f) => (await import(new URL(f, here).href)).default as DemoSection))
}

main().catch((err) => {
  console.error(`\nThe demo failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
