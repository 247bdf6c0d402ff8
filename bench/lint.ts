// Benchmark of `shardtx lint`: 1,000 generated files (~50 lines each, a mix of clean and
// cross-shard transactions) linted in-process through runLint, the CLI's own code path, against
// a baseline of ESLint parsing the same files with the same parser and no rules.
//
//   npx tsx bench/lint.ts [--files 1000] [--rounds 3] [--keep]   (--keep leaves the files for inspection)
//
// Rounds alternate baseline and lint so that machine noise (other processes, CPU frequency)
// lands on both; the median of each is reported. CPU seconds (user + system of this process) are
// printed next to wall seconds: on a shared machine they show how much of the wall time was
// waiting for a core.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { createEslint, runLint } from '../src/cli/lint-runner.js'
import { nodeCpuMsSince } from './support/cpu.js'
import { median } from './support/stats.js'

const { values } = parseArgs({
  options: { files: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } },
})
const FILES = Number(values.files)
const ROUNDS = Number(values.rounds)

const CONFIG = {
  tables: {
    accounts: { shardKey: 'id' },
    ledger: { shardKey: 'account_id' },
    orders: { shardKey: 'customer_id' },
    notifications: { shardKey: 'user_id' },
    countries: { shard: '-80' },
  },
}

/** A transaction body per kind; cross-shard kinds produce exactly one finding each. */
const BODIES: Record<string, { crossShard: boolean; body: (i: number) => string[] }> = {
  colocated: {
    crossShard: false,
    body: () => [
      `    await tx('accounts').where({ id: from.id }).decrement('balance', amount)`,
      `    await tx('ledger').insert({ account_id: from.id, amount: -amount })`,
    ],
  },
  transfer: {
    crossShard: true,
    body: () => [
      `    await tx('accounts').where({ id: from.id }).decrement('balance', amount)`,
      `    await tx('accounts').where({ id: to.id }).increment('balance', amount)`,
    ],
  },
  loop: {
    crossShard: true,
    body: () => [`    for (const userId of userIds) {`, `      await tx('notifications').insert({ user_id: userId, body: 'hello' })`, `    }`],
  },
  helper: {
    crossShard: true,
    body: (i) => [`    await record${i}(tx, from.id, -amount)`, `    await record${i}(tx, to.id, amount)`],
  },
  ordered: {
    crossShard: false,
    body: () => [
      `    await tx('orders').where({ customer_id: from.id }).update({ status: 'paid' })`,
      `    await tx('notifications').insert({ user_id: to.id, body: 'paid' })`,
    ],
  },
}
const KINDS = Object.keys(BODIES)

function generate(i: number): { text: string; findings: number } {
  const kind = KINDS[i % KINDS.length]!
  const spec = BODIES[kind]!
  const opts = kind === 'ordered' ? `, { crossShard: 'ordered' }` : ''
  const lines = [
    `// Generated file ${i} (${kind}) for bench/lint.ts.`,
    `import type { Knex } from 'knex'`,
    ``,
    `interface Account { id: number; balance: number; email: string }`,
    `interface Db { transaction<T>(fn: (tx: Knex.Transaction) => Promise<T>, o?: object): Promise<T> }`,
    ``,
    `async function record${i}(trx: Knex.Transaction, accountId: number, amount: number): Promise<void> {`,
    `  await trx('ledger').insert({ account_id: accountId, amount, at: new Date() })`,
    `}`,
    ``,
    `export function describe${i}(account: Account): string {`,
    `  const masked = account.email.replace(/(.).*@/, '$1***@')`,
    `  return \`account \${account.id} (\${masked}) has \${account.balance}\``,
    `}`,
    ``,
    `export async function lookup${i}(db: Knex, id: number): Promise<Account | undefined> {`,
    `  const row = await db('accounts').where({ id }).first()`,
    `  if (!row) return undefined`,
    `  return { id: row.id, balance: Number(row.balance), email: String(row.email) }`,
    `}`,
    ``,
    `export async function run${i}(db: Db, from: Account, to: Account, amount: number, userIds: number[]): Promise<void> {`,
    `  if (amount <= 0) throw new RangeError(\`amount must be positive, got \${amount}\`)`,
    `  await db.transaction(async (tx) => {`,
    `    const current = await tx('accounts').where({ id: from.id }).forUpdate().first()`,
    `    if (!current || current.balance < amount) throw new Error('insufficient funds')`,
    ...spec.body(i),
    `  }${opts})`,
    `}`,
    ``,
    `export async function audit${i}(db: Db, account: Account): Promise<number> {`,
    `  return db.transaction(async (tx) => {`,
    `    const rows = await tx('ledger').where({ account_id: account.id }).select('amount')`,
    `    let total = 0`,
    `    for (const r of rows) total += Number(r.amount)`,
    `    await tx('accounts').where({ id: account.id }).update({ audited_total: total })`,
    `    return total`,
    `  })`,
    `}`,
    ``,
    `export const summary${i} = {`,
    `  kind: '${kind}',`,
    `  index: ${i},`,
    `  tags: ['bench', 'lint', 'generated'],`,
    `  weights: [1, 2, 3, 5, 8, 13],`,
    `}`,
    ``,
    `export function score${i}(values: number[]): number {`,
    `  return values.reduce((sum, v, k) => sum + v * (k + 1), 0) / Math.max(values.length, 1)`,
    `}`,
  ]
  return { text: `${lines.join('\n')}\n`, findings: spec.crossShard ? 1 : 0 }
}

const cpuSeconds = (since: NodeJS.CpuUsage) => nodeCpuMsSince(since) / 1000

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-lint-bench-'))
  try {
    writeFileSync(path.join(dir, 'shardtx.config.json'), JSON.stringify(CONFIG, null, 2))
    let expected = 0
    let lineCount = 0
    for (let i = 0; i < FILES; i++) {
      const { text, findings } = generate(i)
      expected += findings
      lineCount += text.split('\n').length - 1
      writeFileSync(path.join(dir, `file${String(i).padStart(4, '0')}.ts`), text)
    }
    console.log(
      `load average before: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} on ${os.cpus().length} CPUs`,
    )
    console.log(`generated ${FILES} files, ${lineCount} lines (${(lineCount / FILES).toFixed(0)} per file), ${expected} expected findings, in ${dir}`)

    // Warm-up: module loading and JIT, so round 1 isn't charged for them.
    await runLint({ cwd: dir, paths: ['file000*.ts'] })

    const lintTimes: number[] = []
    const baseTimes: number[] = []
    const lintCpu: number[] = []
    const baseCpu: number[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      let t0 = performance.now()
      let c0 = process.cpuUsage()
      const baseline = await createEslint(dir, undefined)
      const baseResults = await baseline.lintFiles(['.'])
      baseTimes.push((performance.now() - t0) / 1000)
      baseCpu.push(cpuSeconds(c0))

      t0 = performance.now()
      c0 = process.cpuUsage()
      const result = await runLint({ cwd: dir, paths: ['.'] })
      lintTimes.push((performance.now() - t0) / 1000)
      lintCpu.push(cpuSeconds(c0))

      if (result.filesChecked !== FILES || baseResults.length !== FILES) {
        throw new Error(`expected ${FILES} files, lint checked ${result.filesChecked}, baseline ${baseResults.length}`)
      }
      if (result.findings.length !== expected) {
        throw new Error(`expected ${expected} findings, got ${result.findings.length}: the bench would not measure the real analysis`)
      }
      console.log(
        `round ${round}: baseline ${baseTimes.at(-1)!.toFixed(2)} s (cpu ${baseCpu.at(-1)!.toFixed(2)} s), ` +
          `shardtx lint ${lintTimes.at(-1)!.toFixed(2)} s (cpu ${lintCpu.at(-1)!.toFixed(2)} s), ${result.findings.length} findings`,
      )
    }

    const lint = median(lintTimes)
    const base = median(baseTimes)
    console.log('')
    console.log(
      `load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} on ${os.cpus().length} CPUs`,
    )
    console.log(`| run (median of ${ROUNDS}) | wall s | files/s | cpu s |`)
    console.log('|---|---|---|---|')
    console.log(`| ESLint, TS parser, no rules (baseline) | ${base.toFixed(2)} | ${(FILES / base).toFixed(0)} | ${median(baseCpu).toFixed(2)} |`)
    console.log(`| shardtx lint (runLint, CLI code path) | ${lint.toFixed(2)} | ${(FILES / lint).toFixed(0)} | ${median(lintCpu).toFixed(2)} |`)
    console.log(
      `ratio lint/baseline: ${(lint / base).toFixed(2)}x wall, ${(median(lintCpu) / median(baseCpu)).toFixed(2)}x cpu; target < 10 s for ${FILES} files: ${lint < 10 ? 'met' : 'NOT met'}`,
    )
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
