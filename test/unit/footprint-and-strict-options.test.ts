// How `strict` and `footprint` are decided from options and environment, and their validation.
// No database: createShardedDb opens connections lazily, but it does open the footprint file.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { resolveFootprint, resolveStrict } from '../../src/config/strict-mode.js'
import { createShardedDb, type ShardedDbOptions } from '../../src/index.js'

const base: ShardedDbOptions = {
  shards: { '-80': 'mysql://u@127.0.0.1:1/a', '80-': 'mysql://u@127.0.0.1:1/b' },
  tables: { accounts: { shardKey: 'id' } },
}

describe('resolveStrict: option, then SHARDTX_STRICT, then NODE_ENV', () => {
  it.each([
    ['NODE_ENV=test turns it on', undefined, { NODE_ENV: 'test' }, true],
    ['production is off', undefined, { NODE_ENV: 'production' }, false],
    ['no environment is off', undefined, {}, false],
    ['SHARDTX_STRICT=1 turns it on outside tests', undefined, { NODE_ENV: 'production', SHARDTX_STRICT: '1' }, true],
    ['SHARDTX_STRICT=true also', undefined, { SHARDTX_STRICT: 'true' }, true],
    ['SHARDTX_STRICT=0 turns it off under NODE_ENV=test', undefined, { NODE_ENV: 'test', SHARDTX_STRICT: '0' }, false],
    ['an empty SHARDTX_STRICT has no opinion', undefined, { NODE_ENV: 'test', SHARDTX_STRICT: '' }, true],
    ['strict: false wins over SHARDTX_STRICT=1', false, { SHARDTX_STRICT: '1', NODE_ENV: 'test' }, false],
    ['strict: true wins over SHARDTX_STRICT=0', true, { SHARDTX_STRICT: '0' }, true],
  ])('%s', (_name, option, env, expected) => {
    expect(resolveStrict(option, env)).toBe(expected)
  })

  it('refuses a SHARDTX_STRICT it does not understand instead of treating it as off', () => {
    expect(() => resolveStrict(undefined, { SHARDTX_STRICT: 'yes' })).toThrow(TypeError)
    expect(() => resolveStrict(undefined, { SHARDTX_STRICT: 'yes' })).toThrow(
      /^Expected the environment variable `SHARDTX_STRICT` to be '1' \(on\) or '0' \(off\), got string .yes.$/,
    )
  })
})

describe('resolveFootprint: option, then SHARDTX_FOOTPRINT_FILE', () => {
  it('resolves paths against the current directory, the option winning', () => {
    expect(resolveFootprint(undefined, {})).toBeUndefined()
    expect(resolveFootprint(undefined, { SHARDTX_FOOTPRINT_FILE: '' })).toBeUndefined()
    expect(resolveFootprint(undefined, { SHARDTX_FOOTPRINT_FILE: 'out/f.jsonl' })).toEqual({
      file: path.resolve('out/f.jsonl'),
      option: 'the environment variable `SHARDTX_FOOTPRINT_FILE`',
    })
    expect(resolveFootprint({ file: '/tmp/a.jsonl' }, { SHARDTX_FOOTPRINT_FILE: '/tmp/b.jsonl' })).toEqual({ file: '/tmp/a.jsonl', option: '`footprint.file`' })
  })
})

describe('createShardedDb validates strict and footprint', () => {
  afterEach(() => vi.unstubAllEnvs())

  it.each([
    ['strict not boolean', { strict: 'yes' }, /^Expected `strict` to be a boolean, got string .yes.$/],
    ['footprint not an object', { footprint: 'f.jsonl' }, /^Expected `footprint` to be an object, got string .f\.jsonl.$/],
    [
      'footprint.file empty',
      { footprint: { file: ' ' } },
      /^Expected `footprint.file` to be a non-empty file path \(JSON lines are appended to it\), got string . .$/,
    ],
    ['footprint typo', { footprint: { path: 'f.jsonl' } }, /^Unknown option `footprint.path`. Known options of `footprint`: file$/],
  ])('%s', (_name, extra, message) => {
    const create = () => createShardedDb({ ...base, ...(extra as object) })
    expect(create).toThrow(TypeError)
    expect(create).toThrow(message)
  })

  it('names the bad environment variable when SHARDTX_STRICT is unreadable', () => {
    vi.stubEnv('SHARDTX_STRICT', 'on')
    expect(() => createShardedDb(base)).toThrow(/`SHARDTX_STRICT`/)
  })

  it('opens the footprint file at creation, so an unwritable path fails before any transaction with a TypeError naming the option', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-opts-'))
    try {
      const missing = path.join(dir, 'missing', 'f.jsonl')
      const create = (extra: object) => () => createShardedDb({ ...base, ...extra })
      expect(create({ footprint: { file: missing } })).toThrow(TypeError)
      expect(create({ footprint: { file: missing } })).toThrow(
        `Expected \`footprint.file\` to be a file shardtx can create or append to, got '${missing}': ENOENT (its directory does not exist)`,
      )
      expect(create({ footprint: { file: dir } })).toThrow(
        `Expected \`footprint.file\` to be a file shardtx can create or append to, got '${dir}': EISDIR (it is a directory)`,
      )
      vi.stubEnv('SHARDTX_FOOTPRINT_FILE', missing)
      expect(create({})).toThrow(/^Expected the environment variable `SHARDTX_FOOTPRINT_FILE` to be a file shardtx can create or append to, got '.*': ENOENT/)
      const file = path.join(dir, 'f.jsonl')
      vi.stubEnv('SHARDTX_FOOTPRINT_FILE', file)
      const db = createShardedDb(base)
      expect(existsSync(file)).toBe(true)
      await db.destroy()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
