// The configuration sources of the lint: inline tables, JSON and JS modules, the default file in
// the cwd, and the errors a bad configuration gives (naming the file and what is wrong).
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tsParser from '@typescript-eslint/parser'
import { Linter } from 'eslint'
import { afterEach, describe, expect, it } from 'vitest'
import plugin from '../../src/eslint/index.js'
import { findDefaultConfig, loadTablesFromFile, resolveRuleTables, ShardtxLintConfigError, validateTables } from '../../src/eslint/config-loader.js'

const cwd = process.cwd()
const fixture = (name: string): string => `test/eslint/fixtures/${name}`

describe('loadTablesFromFile', () => {
  it('reads the top-level tables of a JSON file', () => {
    expect(loadTablesFromFile(fixture('shardtx.config.json'), cwd)).toEqual({
      accounts: { shardKey: 'id' },
      ledger: { shardKey: 'account_id' },
      countries: { shard: '-80' },
    })
  })

  it.each([
    ['tables.mjs', 'an ES module default export'],
    ['tables.cjs', 'module.exports = { tables }'],
  ])('reads %s (%s)', (file) => {
    expect(loadTablesFromFile(fixture(file), cwd)).toEqual({ accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } })
  })

  it('reads a named tables export', () => {
    expect(loadTablesFromFile(fixture('named-tables.mjs'), cwd)).toEqual({ accounts: { shardKey: 'id' } })
  })

  it.each([
    ['missing.json', /config file not found: test\/eslint\/fixtures\/missing\.json .*Check the path/],
    ['no-tables.json', /no-tables\.json has no top-level "tables" object/],
    ['bad-entry.json', /bad-entry\.json: table "ledger" has neither "shardKey" nor "shard"/],
    ['both-fields.json', /both-fields\.json: table "accounts" has both "shardKey" and "shard"/],
    ['broken.json', /broken\.json is not valid JSON/],
    ['no-tables.mjs', /no-tables\.mjs exports no tables/],
  ])('rejects %s with a message naming the file and the problem', (file, message) => {
    expect(() => loadTablesFromFile(fixture(file), cwd)).toThrow(ShardtxLintConfigError)
    expect(() => loadTablesFromFile(fixture(file), cwd)).toThrow(message)
  })

  it('rejects an unsupported extension', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-lint-'))
    try {
      writeFileSync(path.join(dir, 'shardtx.config.yaml'), 'tables: {}')
      expect(() => loadTablesFromFile('shardtx.config.yaml', dir)).toThrow(/unsupported config file type "\.yaml"/)
    } finally {
      rmSync(dir, { recursive: true })
    }
  })
})

describe('validateTables', () => {
  it('accepts sharded and pinned tables and freezes the result', () => {
    const tables = validateTables({ a: { shardKey: 'id' }, b: { shard: '-80' } }, 'inline')
    expect(Object.isFrozen(tables)).toBe(true)
  })

  it.each([
    [[], /"tables" must be an object .*got an array/],
    [null, /"tables" must be an object/],
    [{ a: 'id' }, /table "a" has neither "shardKey" nor "shard"/],
    [{ a: { shardKey: '' } }, /table "a" has an empty or non-string/],
    [{ a: { shard: 80 } }, /table "a" has an empty or non-string/],
  ])('rejects %j', (raw, message) => {
    expect(() => validateTables(raw, 'inline')).toThrow(message)
  })
})

describe('resolveRuleTables and the default config file', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true })
    dir = undefined
  })

  it('prefers shardtx.config.json, then .js, .mjs, .cjs', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-lint-'))
    writeFileSync(path.join(dir, 'shardtx.config.cjs'), 'module.exports = { tables: { c: { shardKey: "id" } } }')
    expect(findDefaultConfig(dir)).toBe(path.join(dir, 'shardtx.config.cjs'))
    writeFileSync(path.join(dir, 'shardtx.config.json'), '{ "tables": { "j": { "shard": "-80" } } }')
    expect(findDefaultConfig(dir)).toBe(path.join(dir, 'shardtx.config.json'))
    expect(resolveRuleTables(undefined, dir)).toEqual({ j: { shard: '-80' } })
  })

  it('picks up edits to a config file (cache keyed by mtime)', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-lint-'))
    const file = path.join(dir, 'shardtx.config.json')
    writeFileSync(file, '{ "tables": { "a": { "shardKey": "id" } } }')
    expect(resolveRuleTables({ config: file }, dir)).toEqual({ a: { shardKey: 'id' } })
    writeFileSync(file, '{ "tables": { "b": { "shardKey": "id" } } }')
    const later = new Date(Date.now() + 5_000)
    // Some filesystems keep mtime at second resolution; move it forward explicitly.
    utimesSync(file, later, later)
    expect(resolveRuleTables({ config: file }, dir)).toEqual({ b: { shardKey: 'id' } })
  })

  it('says how to configure the rule when nothing is found', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-lint-'))
    expect(() => resolveRuleTables({}, dir!)).toThrow(/has no table configuration: pass \{ tables \} or \{ config: .* or create shardtx\.config\.json/)
  })

  it('inline tables win over config', () => {
    expect(resolveRuleTables({ tables: { x: { shardKey: 'id' } }, config: 'nope.json' }, cwd)).toEqual({ x: { shardKey: 'id' } })
  })
})

describe('the rule with a bad configuration', () => {
  it('fails with the config error, not with a silent pass', () => {
    const linter = new Linter()
    const config: Linter.Config[] = [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tsParser },
        plugins: { shardtx: plugin },
        rules: { 'shardtx/no-cross-shard-write': ['error', { config: fixture('bad-entry.json') }] },
      },
    ]
    expect(() => linter.verify('db.transaction(async (tx) => {})', config, 'a.ts')).toThrow(/bad-entry\.json: table "ledger"/)
  })

  it('recommended config reads shardtx.config.json from the cwd', () => {
    const linter = new Linter({ cwd: path.resolve('examples') })
    const code = `await db.transaction(async (tx) => {
  await tx('accounts').where({ id: a }).update({ x: 1 })
  await tx('orders').where({ customer_id: b }).update({ x: 1 })
})`
    const messages = linter.verify(code, [plugin.configs.recommended], 'a.ts')
    expect(messages.map((m) => [m.ruleId, m.line])).toEqual([['shardtx/no-cross-shard-write', 3]])
  })
})
