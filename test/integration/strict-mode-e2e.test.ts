// Acceptance for strict mode (issue 6): the sample app's own test suite, run in a child process in
// strict mode with a footprint file, produces a footprint whose `shardtx report` lists exactly its
// one cross-shard path, `transfer`, at the right file:line, and none of its single-shard operations.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FootprintSummary } from '../../src/cli/report-summary.js'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')
const SAMPLE = 'examples/sample-app'
const APP = `${SAMPLE}/bank.ts`
const TIMEOUT = 180_000

/**
 * This process's environment minus vitest's own variables (a nested vitest must not think it is a
 * worker of this run), plus strict mode and the footprint file.
 */
function childEnv(footprint: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!/^(VITEST|TINYPOOL)/.test(key) && key !== 'NODE_ENV') env[key] = value
  return { ...env, SHARDTX_STRICT: '1', SHARDTX_FOOTPRINT_FILE: footprint, NO_COLOR: '1', FORCE_COLOR: '0' }
}

/** `file:line:column` of the `db.transaction(` call inside `transfer` in the sample app, read from its source. */
function transferOrigin(): string {
  const lines = readFileSync(path.join(root, APP), 'utf8').split('\n')
  const start = lines.findIndex((l) => l.includes('async transfer('))
  const offset = lines.slice(start).findIndex((l) => l.includes('db.transaction('))
  const line = lines[start + offset]!
  return `${APP}:${start + offset + 1}:${line.indexOf('transaction(') + 1}`
}

/** 1-based lines of the sample app that start any `db.transaction(` call. */
function allTransactionLines(): number[] {
  return readFileSync(path.join(root, APP), 'utf8')
    .split('\n')
    .flatMap((l, i) => (l.includes('db.transaction(') ? [i + 1] : []))
}

let dir: string
let footprint: string
let suite: { stdout: string; stderr: string }

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-e2e-'))
  footprint = path.join(dir, 'footprints.jsonl')
  suite = await run('npx', ['vitest', 'run', '--root', SAMPLE], { cwd: root, env: childEnv(footprint), encoding: 'utf8' })
}, TIMEOUT)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function report(format: 'text' | 'json'): Promise<string> {
  const { stdout } = await run('npx', ['tsx', 'src/cli/main.ts', 'report', footprint, '--format', format], { cwd: root, encoding: 'utf8' })
  return stdout
}

describe('strict mode end to end: sample app suite -> footprint file -> shardtx report', () => {
  it('runs the sample suite green in strict mode', () => {
    expect(suite.stdout).toMatch(/Tests\s+4 passed \(4\)/)
  })

  it('reports exactly one cross-shard path: transfer, at its db.transaction line', { timeout: TIMEOUT }, async () => {
    const summary = JSON.parse(await report('json')) as FootprintSummary
    expect(summary.origins).toHaveLength(1)
    // Two cross-shard transfers ran: one committed, one overdraft rolled back on both shards.
    expect(summary.origins[0]).toEqual({
      origin: transferOrigin(),
      count: 2,
      shards: ['-80', '80-'],
      tables: ['accounts', 'ledger'],
      policies: { warn: 2 },
      outcomes: { committed: 1, 'rolled back': 1 },
      reasons: ['https://tracker.example/BANK-12'],
      withoutReason: 0,
      via: [], // no --helper given
    })
    expect(summary.total).toBe(2)
    expect(summary.dropped).toBe(0)
  })

  it('lists none of the single-shard operations (openAccount, deposit, balance, a same-shard transfer)', { timeout: TIMEOUT }, async () => {
    const text = await report('text')
    const transferLine = Number(transferOrigin().split(':')[1])
    const others = allTransactionLines().filter((l) => l !== transferLine)
    expect(others.length).toBeGreaterThanOrEqual(3)
    for (const line of others) expect(text).not.toContain(`${APP}:${line}:`)
    const rows = text.split('\n').filter((l) => l.startsWith(SAMPLE))
    expect(rows).toHaveLength(1)
    expect(rows[0]!.startsWith(`${transferOrigin()}  `)).toBe(true)
    expect(text).toContain('\n2 cross-shard transactions from 1 origin (1 file)\n')
  })
})
