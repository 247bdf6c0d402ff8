// shardtx.configs.recommended on its own, as README.md and docs/lint.md show it: it must lint
// every JavaScript and TypeScript file type with the right parser. Before it carried `files` and
// a parser, ESLint skipped .ts files and a TypeScript project passed the lint silently.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ESLint } from 'eslint'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import plugin from '../../src/eslint/index.js'
import { EXPECTED_FINDINGS, LINT_FIXTURE_FILES, LINT_TABLES } from '../support/lint-fixture.js'

let project: string

beforeAll(() => {
  project = mkdtempSync(path.join(os.tmpdir(), 'stx-recommended-'))
  writeFileSync(path.join(project, 'shardtx.config.json'), JSON.stringify({ tables: LINT_TABLES }))
  mkdirSync(path.join(project, 'src'))
  for (const [name, source] of Object.entries(LINT_FIXTURE_FILES)) writeFileSync(path.join(project, 'src', name), source)
})

afterAll(() => rmSync(project, { recursive: true, force: true }))

describe('shardtx.configs.recommended', () => {
  it('lints every JS and TS file type with a parser that reads it, and reports the cross-shard writes', async () => {
    const eslint = new ESLint({ cwd: project, overrideConfigFile: true, overrideConfig: [plugin.configs.recommended] })
    const results = await eslint.lintFiles(['.'])
    const byFile = Object.fromEntries(
      results.map((r) => [path.basename(r.filePath), r.messages.map((m) => (m.fatal ? `parse error: ${m.message}` : m.ruleId))]),
    )
    const expected = Object.fromEntries(Object.keys(LINT_FIXTURE_FILES).map((name) => [name, Array(EXPECTED_FINDINGS).fill('shardtx/no-cross-shard-write')]))
    expect(byFile).toEqual(expected)
  })

  it('is one object however often it is read, so ESLint sees one `shardtx` plugin', () => {
    expect(plugin.configs.recommended).toBe(plugin.configs.recommended)
    expect(plugin.configs.recommended.plugins?.shardtx).toBe(plugin)
  })

  it('works next to an explicit `plugins: { shardtx }` entry for the same plugin', async () => {
    const eslint = new ESLint({
      cwd: project,
      overrideConfigFile: true,
      overrideConfig: [plugin.configs.recommended, { files: ['**/*.ts'], plugins: { shardtx: plugin }, rules: { 'shardtx/no-cross-shard-write': 'warn' } }],
    })
    const [result] = await eslint.lintFiles(['src/transfer.ts'])
    expect(result!.messages.map((m) => [m.ruleId, m.severity])).toEqual(Array(EXPECTED_FINDINGS).fill(['shardtx/no-cross-shard-write', 1]))
  })
})
