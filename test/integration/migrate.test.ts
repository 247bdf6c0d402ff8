// db.migrate and `shardtx migrate`: knex's migrator on every shard of real databases, in
// canonical order, stopping at the first failure with a per-shard report.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createShardedDb, ShardMigrationError, type ShardedDb } from '../../src/index.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')
const main = path.join(root, 'src/cli/main.ts')
// The CLI runs in a scratch directory (its default config is looked up there), so tsx is given by path.
const tsx = import.meta.resolve('tsx')
// Declared out of canonical order on purpose: keyrange order is -40, 40-80, 80-.
const NAMES = ['80-', '-40', '40-80']
const CANONICAL = ['-40', '40-80', '80-']
const TABLES = { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } }

let t: TestShards
let dir: string
let migrations: string
let db: ShardedDb

const MIGRATIONS: Record<string, string> = {
  '20260101000000_accounts.cjs': `exports.up = (knex) => knex.schema.createTable('accounts', (t) => { t.bigInteger('id').primary(); t.bigInteger('balance').notNullable() })
exports.down = (knex) => knex.schema.dropTable('accounts')
`,
  '20260102000000_ledger.cjs': `exports.up = (knex) => knex.schema.createTable('ledger', (t) => { t.bigInteger('account_id').notNullable(); t.bigInteger('amount').notNullable() })
exports.down = (knex) => knex.schema.dropTable('ledger')
`,
}

async function tablesOf(shard: string): Promise<string[]> {
  const rows = await t.query<{ name: string }>(
    shard,
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name',
  )
  return rows.map((r) => r.name)
}

beforeAll(async () => {
  t = await createTestShards({ names: NAMES })
  dir = mkdtempSync(path.join(os.tmpdir(), 'stx-migrate-'))
  migrations = path.join(dir, 'migrations')
  mkdirSync(migrations)
  for (const [name, source] of Object.entries(MIGRATIONS)) writeFileSync(path.join(migrations, name), source)
})
afterAll(async () => {
  await t?.drop()
  rmSync(dir, { recursive: true, force: true })
})
beforeEach(async () => {
  await t.execAll('DROP TABLE IF EXISTS accounts, ledger, knex_migrations, knex_migrations_lock')
  db = createShardedDb({ shards: t.shards, tables: TABLES, split: { recoverOnStart: false } })
})
afterEach(() => db.destroy())

describe('db.migrate', () => {
  it('latest runs every migration on every shard, in canonical order, and reports each shard', async () => {
    const report = await db.migrate.latest({ directory: migrations })
    expect(report).toEqual({
      command: 'latest',
      shards: CANONICAL.map((shard) => ({ shard, status: 'done', batch: 1, migrations: Object.keys(MIGRATIONS) })),
    })
    for (const shard of CANONICAL) expect(await tablesOf(shard)).toEqual(['accounts', 'knex_migrations', 'knex_migrations_lock', 'ledger'])
    // The tables are usable through routing at once.
    await db.transaction((tx) => tx('accounts').insert([{ id: 1, balance: 5 }]))
    const again = await db.migrate.latest({ directory: migrations })
    expect(again.shards.map((s) => [s.shard, s.batch, s.migrations])).toEqual(CANONICAL.map((s) => [s, 1, []]))
  })

  it('status lists completed and pending migrations per shard', async () => {
    const before = await db.migrate.status({ directory: migrations })
    expect(before.shards).toEqual(CANONICAL.map((shard) => ({ shard, status: 'done', completed: [], pending: Object.keys(MIGRATIONS) })))
    await db.migrate.latest({ directory: migrations })
    const after = await db.migrate.status({ directory: migrations })
    expect(after.shards).toEqual(CANONICAL.map((shard) => ({ shard, status: 'done', completed: Object.keys(MIGRATIONS), pending: [] })))
  })

  it('rollback undoes the last batch on every shard', async () => {
    await db.migrate.latest({ directory: migrations })
    const report = await db.migrate.rollback({ directory: migrations })
    expect(report.shards.map((s) => [s.shard, s.status, s.migrations])).toEqual(CANONICAL.map((s) => [s, 'done', [...Object.keys(MIGRATIONS)].reverse()]))
    for (const shard of CANONICAL) expect(await tablesOf(shard)).toEqual(['knex_migrations', 'knex_migrations_lock'])
  })

  it('stops at the first shard that fails, reports done / failed / not attempted, and catches up on the next run', async () => {
    // The second shard in canonical order already has a table the migration creates.
    await t.query('40-80', 'CREATE TABLE ledger (x INT)')
    const failure = await db.migrate.latest({ directory: migrations }).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(ShardMigrationError)
    const err = failure as ShardMigrationError
    expect(err.code).toBe('SHARDTX_MIGRATION_FAILED')
    expect(err.failedShard).toBe('40-80')
    expect(err.shards.map((s) => [s.shard, s.status])).toEqual([
      ['-40', 'done'],
      ['40-80', 'failed'],
      ['80-', 'skipped'],
    ])
    expect(err.message).toMatch(/db\.migrate\.latest\(\) failed on shard 40-80: .*ledger.*already exists.*Done: \[-40\]; not attempted: \[80-\]/)
    expect(await tablesOf('80-')).toEqual([]) // never touched

    await t.query('40-80', 'DROP TABLE ledger')
    const retried = await db.migrate.latest({ directory: migrations })
    // MariaDB commits DDL implicitly, so the failed shard kept its first migration; knex skips it.
    const [accounts, ledger] = Object.keys(MIGRATIONS)
    expect(retried.shards.map((s) => [s.shard, s.migrations])).toEqual([
      ['-40', []],
      ['40-80', [ledger]],
      ['80-', [accounts, ledger]],
    ])
  })

  it('rejects a config that is not an object, and `all` that is not a boolean, naming them', async () => {
    await expect(db.migrate.latest('./migrations' as never)).rejects.toThrow(
      new TypeError("Expected `db.migrate.latest() config` to be an object, got string './migrations'"),
    )
    await expect(db.migrate.rollback({ directory: migrations }, 'yes' as never)).rejects.toThrow(
      new TypeError('Expected `all` of db.migrate.rollback(config, all) to be a boolean, got string'),
    )
  })
})

describe('shardtx migrate', () => {
  let configFile: string
  beforeAll(() => {
    configFile = path.join(dir, 'shardtx.config.mjs')
    writeFileSync(configFile, `export default ${JSON.stringify({ shards: t.shards, tables: TABLES, migrations: { directory: migrations } })}\n`)
  })

  const cli = (args: string[]) =>
    run(process.execPath, ['--import', tsx, main, 'migrate', ...args], { cwd: dir, encoding: 'utf8' }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    )

  it('latest, status and rollback with the default config file of the current directory', async () => {
    const latest = await cli(['latest'])
    expect(latest).toMatchObject({ code: 0, stderr: '' })
    expect(latest.stdout).toBe(
      `shardtx migrate latest (shardtx.config.mjs, 3 shards)\n` +
        CANONICAL.map((s) => `  ${s.padEnd(5)}  ran batch 1: ${Object.keys(MIGRATIONS).join(', ')}`).join('\n') +
        '\n',
    )
    const status = await cli(['status', '--format', 'json'])
    expect(JSON.parse(status.stdout)).toEqual({
      command: 'status',
      configFile: 'shardtx.config.mjs',
      shards: CANONICAL.map((shard) => ({ shard, status: 'done', completed: Object.keys(MIGRATIONS), pending: [] })),
    })
    const rollback = await cli(['rollback', '--all'])
    expect(rollback.code).toBe(0)
    for (const shard of CANONICAL) expect(await tablesOf(shard)).toEqual(['knex_migrations', 'knex_migrations_lock'])
  })

  it('exits 1 with the per-shard report when a shard fails, and never prints a password', async () => {
    await t.query('-40', 'CREATE TABLE accounts (x INT)')
    const failed = await cli(['latest'])
    expect(failed.code).toBe(1)
    expect(failed.stdout).toMatch(
      / {2}-40 {4}FAILED: .*accounts.*already exists\n {2}40-80 {2}not attempted \(an earlier shard failed\)\n {2}80- {4}not attempted/,
    )
    expect(failed.stderr).toMatch(/^shardtx migrate: db\.migrate\.latest\(\) failed on shard -40/)

    const secretFile = path.join(dir, 'unreachable.mjs')
    writeFileSync(
      secretFile,
      `export default { shards: { '0': 'mysql://app:Hunter2-pw@127.0.0.1:1/app' }, tables: {}, migrations: { directory: ${JSON.stringify(migrations)} } }\n`,
    )
    const unreachable = await cli(['status', '--config', secretFile])
    expect(unreachable.code).toBe(1)
    expect(unreachable.stdout + unreachable.stderr).toMatch(/ECONNREFUSED/)
    expect(unreachable.stdout + unreachable.stderr).not.toContain('Hunter2')
  })

  it('exits 2 on a missing or malformed config, saying what is expected', async () => {
    const missing = await cli(['latest', '--config', 'nope.mjs'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^shardtx migrate: cannot load nope\.mjs: /)
    const noShards = path.join(dir, 'no-shards.mjs')
    writeFileSync(noShards, 'export default { tables: {} }\n')
    expect(await cli(['latest', '--config', noShards])).toMatchObject({ code: 2, stderr: expect.stringMatching(/has no `shards`/) })
    const badOption = path.join(dir, 'bad-option.mjs')
    writeFileSync(badOption, `export default { shards: ${JSON.stringify(t.shards)}, tables: {}, retry: { maxAtempts: 2 } }\n`)
    expect(await cli(['latest', '--config', badOption])).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option `retry\.maxAtempts`/) })
    expect(await cli(['sideways'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/value 'sideways' is invalid for argument 'command'. Allowed choices are latest, rollback, status/),
    })
  })
})
