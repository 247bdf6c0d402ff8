// `shardtx lint` end to end (no database): runs the real bin through tsx on examples/lint and
// checks that exactly the cross-shard examples are flagged, on the lines their `// expect-lint`
// markers sit on, plus the exit codes 0/1/2 and both output formats.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { runLint } from '../../src/cli/lint-runner.js'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')
const tsx = path.join(root, 'node_modules/.bin/tsx')
const main = path.join(root, 'src/cli/main.ts')
const CONFIG = 'examples/shardtx.config.json'
// Generous: each test spawns tsx + ESLint + the TypeScript parser, and the test machines are shared.
const TIMEOUT = 180_000

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the bin; `useNpx` goes through `npx tsx` exactly as a user would, otherwise tsx directly (faster). */
async function cli(args: string[], cwd = root, useNpx = false): Promise<CliResult> {
  const [cmd, argv] = useNpx ? ['npx', ['tsx', main, ...args]] : [tsx, [main, ...args]]
  try {
    const { stdout, stderr } = await run(cmd as string, argv as string[], { cwd, encoding: 'utf8' })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    if (typeof e.code !== 'number') throw err
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** `file:line` of every `// expect-lint` marker under examples/lint, sorted. */
function expectedFindings(): string[] {
  const dir = path.join(root, 'examples/lint')
  const expected: string[] = []
  for (const name of readdirSync(dir).sort()) {
    readFileSync(path.join(dir, name), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.includes('// expect-lint')) expected.push(`examples/lint/${name}:${i + 1}`)
      })
  }
  return expected.sort()
}

/** `file:line` of every finding line in text output (columns checked separately). */
function reported(stdout: string, prefix = 'examples/lint/'): string[] {
  return stdout
    .split('\n')
    .map((l) => /^(\S+):(\d+):(\d+) /.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[1]!.startsWith(prefix))
    .map((m) => `${m[1]}:${m[2]}`)
    .sort()
}

describe.concurrent('shardtx lint', () => {
  it('flags exactly the cross-shard examples, on the marked lines, and exits 1', { timeout: TIMEOUT }, async () => {
    const expected = expectedFindings()
    // At least three cross-shard files, and clean files that must stay clean.
    expect(new Set(expected.map((e) => e.split(':')[0])).size).toBeGreaterThanOrEqual(3)
    const result = await cli(['lint', 'examples/lint', '--config', CONFIG], root, true)
    expect(result.code).toBe(1)
    expect(reported(result.stdout)).toEqual(expected)
    expect(result.stdout).not.toMatch(/clean-/)
    expect(result.stdout).toMatch(new RegExp(`shardtx lint: ${expected.length} problems in ${expected.length} files \\(\\d+ files checked`))
    expect(result.stdout).toContain(
      'examples/lint/cross-transfer.ts:7:11 Transaction writes to `accounts` (key `from.id`) and again to `accounts` (key `to.id`)',
    )
  })

  it('gives the same examples/lint findings when run on the whole examples directory', { timeout: TIMEOUT }, async () => {
    const result = await cli(['lint', 'examples', '--config', CONFIG], root, true)
    expect(result.code).toBe(1)
    expect(reported(result.stdout)).toEqual(expectedFindings())
  })

  it('exits 0 on clean files', { timeout: TIMEOUT }, async () => {
    const clean = readdirSync(path.join(root, 'examples/lint'))
      .filter((f) => f.startsWith('clean-'))
      .map((f) => `examples/lint/${f}`)
    expect(clean.length).toBeGreaterThanOrEqual(3)
    const result = await cli(['lint', ...clean, '--config', CONFIG])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^shardtx lint: no cross-shard writes found \(\d+ files checked, config examples\/shardtx\.config\.json\)\n$/)
  })

  it('prints JSON with --format json', { timeout: TIMEOUT }, async () => {
    const result = await cli(['lint', 'examples/lint/cross-loop.ts', '--config', CONFIG, '--format', 'json'])
    expect(result.code).toBe(1)
    const parsed = JSON.parse(result.stdout) as { problemCount: number; problems: Array<Record<string, unknown>> }
    expect(parsed.problemCount).toBe(1)
    expect(parsed.problems[0]).toMatchObject({ file: 'examples/lint/cross-loop.ts', line: 7, column: 13, messageId: 'loopWrite' })
  })

  it.each([
    [['lint', 'examples/lint', '--config', 'examples/missing.json'], /config file not found: examples\/missing\.json/],
    [['lint', 'examples/lint', '--config', 'test/eslint/fixtures/bad-entry.json'], /table "ledger" has neither "shardKey" nor "shard"/],
    [['lint', 'no-such-dir', '--config', CONFIG], /No files matching 'no-such-dir'/],
    [['lint', '--format', 'xml', '--config', CONFIG], /Allowed choices are text, json/],
  ])('exits 2 on bad configuration or usage: %j', { timeout: TIMEOUT }, async (args, message) => {
    const result = await cli(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stdout).toBe('')
  })

  it('finds shardtx.config.json in the current directory, and exits 2 with advice when there is none', { timeout: TIMEOUT }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-cli-'))
    try {
      writeFileSync(path.join(dir, 'app.ts'), readFileSync(path.join(root, 'examples/lint/cross-transfer.ts')))
      const none = await cli(['lint'], dir)
      expect(none.code).toBe(2)
      expect(none.stderr).toMatch(/no shardtx config found in .* pass --config <path>/)

      writeFileSync(path.join(dir, 'shardtx.config.json'), readFileSync(path.join(root, CONFIG)))
      const found = await cli(['lint'], dir)
      expect(found.code).toBe(1)
      expect(found.stdout).toMatch(/^app\.ts:7:11 /)
      expect(found.stdout).toContain('config shardtx.config.json')
    } finally {
      rmSync(dir, { recursive: true })
    }
  })
})

describe('runLint in-process (the path bench/lint.ts uses)', () => {
  it('parses only files that can hold a finding: transactions or allow comments', { timeout: TIMEOUT }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-cli-'))
    try {
      writeFileSync(path.join(dir, 'shardtx.config.json'), readFileSync(path.join(root, CONFIG)))
      writeFileSync(path.join(dir, 'transfer.ts'), readFileSync(path.join(root, 'examples/lint/cross-transfer.ts')))
      writeFileSync(path.join(dir, 'allow.js'), 'const a = 1 // shardtx-allow-cross-shard\n')
      // Not parsed, so its syntax error isn't reported: the lint only answers the cross-shard question.
      writeFileSync(path.join(dir, 'unrelated.ts'), 'export const x = {{{ not code\n')
      writeFileSync(path.join(dir, 'broken-tx.ts'), 'db.transaction(async (tx) => {\n')
      const result = await runLint({ cwd: dir })
      expect(result.filesChecked).toBe(4)
      expect(result.findings.map((f) => [f.file, f.line, f.messageId ?? (f.fatal ? 'parse error' : '?')])).toEqual([
        ['allow.js', 1, 'allowNeedsReason'],
        ['broken-tx.ts', 2, 'parse error'],
        ['transfer.ts', 7, 'sameTableKeys'],
      ])
    } finally {
      rmSync(dir, { recursive: true })
    }
  })
})
