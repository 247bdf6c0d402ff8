// `npm run demo` end to end on the test server, as a newcomer runs it with its output going to a
// file: numbered sections, short lines without ANSI codes, a closing summary, JSON log lines with
// --json, and --clean dropping its databases. Databases of its own, so a developer's demo is left alone.
import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { adminConnection, testServerUrl } from '../support/test-server.js'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')
const suffix = crypto.randomBytes(4).toString('hex')
const databases = [`stx_demo_${suffix}_s0`, `stx_demo_${suffix}_s1`]
const env = { ...process.env, SHARDTX_DEMO_MYSQL_URL: testServerUrl(), SHARDTX_DEMO_DATABASES: databases.join(',') }

const demo = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'examples/demo.ts', ...args], { cwd: root, env, encoding: 'utf8' })

async function existing(): Promise<string[]> {
  const admin = await adminConnection()
  try {
    const [rows] = await admin.query('SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name IN (?, ?) ORDER BY 1', databases)
    return (rows as { name: string }[]).map((r) => r.name)
  } finally {
    await admin.end()
  }
}

afterAll(async () => {
  const admin = await adminConnection()
  for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``)
  await admin.end()
})

describe('npm run demo', () => {
  it('shows seven numbered sections in short lines without ANSI codes, then a summary of them', async () => {
    const { stdout, stderr } = await demo()
    expect(stderr).toBe('')
    expect(stdout).not.toContain('\x1b')
    const headings = stdout.split('\n').filter((l) => /^\d+\. /.test(l))
    expect(headings.map((l) => l.split('.')[0])).toEqual(['1', '2', '3', '4', '5', '6', '7'])
    expect(headings.map((l) => l.slice(3, 12))).toEqual(['Routing: ', "'reject' ", "'warn': a", "'ordered'", "'split': ", 'Distribut', "'atomic':"])
    // Human lines: no log line carries a JSON object, and none is a wall of text.
    expect(stdout.split('\n').filter((l) => l.length > 220)).toEqual([])
    expect(stdout).not.toMatch(/log \w+ +\{/)
    expect(stdout).toMatch(/log warn distributed deadlock among 2 transactions/)
    expect(stdout).toMatch(/was retried and committed after 2 attempts of 3/)
    const summary = stdout.slice(stdout.indexOf('\nWhat you saw:\n'))
    expect(summary.split('\n').filter((l) => /^ {2}\d\. /.test(l))).toHaveLength(7)
    // The atomic section: a process killed after the decision is committed on both shards by recovery, one killed before it on neither.
    expect(stdout).toMatch(/SIGKILLed after the decision: 1 branch prepared in XA RECOVER/)
    expect(stdout).toMatch(/db\.recover\(\): 1 branch committed, 0 rolled back -> committed on both shards; ledger rows 1 on -80, 1 on 80-, XA RECOVER now 0/)
    expect(stdout).toMatch(/db\.recover\(\): 0 branch committed, 1 rolled back -> rolled back on both shards; ledger rows 0 on -80, 0 on 80-, XA RECOVER now 0/)
    expect(summary).toContain(`The databases ${databases.join(', ')} are left for inspection; drop them with: npm run demo -- --clean`)
    expect(await existing()).toEqual(databases)
  })

  it('prints log events as JSON lines with --json, and --clean drops its databases', async () => {
    const { stdout } = await demo('--json')
    const events = stdout
      .split('\n')
      .filter((l) => l.startsWith('  log '))
      .map((l) => JSON.parse(l.replace(/^ {2}log \w+ /, '')) as { event: string })
    expect(events.map((e) => e.event)).toContain('shardtx.deadlock_victim_outcome')
    expect((await demo('--clean')).stdout).toBe(`Dropped ${databases.join(', ')}.\n`)
    expect(await existing()).toEqual([])
    expect((await demo('--clean')).stdout).toBe('No demo databases to drop.\n')
  })
})
