/**
 * Passwords given in shard URLs or connection objects never appear in what shardtx shows:
 * configuration TypeErrors (whatever else is wrong with the configuration), `util.inspect(db)`,
 * `String(db)` and `JSON.stringify(db)`. Property-based: passwords with URL-significant
 * characters (`@ : / % #`), unicode, and of any length from 6 characters up.
 */
import { inspect } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { redactUrl } from '../../src/config/connection.js'

/** Passwords long and odd enough that finding one in a message cannot be a coincidence. */
const password = fc
  .string({ unit: fc.constantFrom(...'abcXYZ019@:/%#?&=+ !~é€😀'.split(/(?:)/u)), minLength: 6, maxLength: 40 })
  .filter((p) => p.trim().length >= 6 && /[a-zA-Z0-9]{2}/.test(p))

/** Something else wrong with the configuration, so creation throws with the password in scope. */
const otherMistake = fc.constantFrom<[string, (o: Record<string, any>) => void]>(
  [
    'bad port in the URL',
    (o) => (o.shards['80-'] = typeof o.shards['80-'] === 'string' ? o.shards['80-'].replace(':3306', ':99999') : { ...o.shards['80-'], port: 99999 }),
  ],
  ['URL parameters', (o) => (o.shards['80-'] = typeof o.shards['80-'] === 'string' ? `${o.shards['80-']}?ssl=true` : { ...o.shards['80-'], ssl: true })],
  [
    'no database',
    (o) => (o.shards['80-'] = typeof o.shards['80-'] === 'string' ? o.shards['80-'].replace('/app_s0', '') : { ...o.shards['80-'], database: '' }),
  ],
  ['unknown option', (o) => (o.retry = { maxAtempts: 3 })],
  ['bad timeout', (o) => (o.connectTimeoutMs = -1)],
  ['unknown table shard', (o) => (o.tables = { t: { shard: 'nope' } })],
  ['gap in keyranges', (o) => (o.shards = { '-40': o.shards['-80'], '80-': o.shards['80-'] })],
  ['bad logger', (o) => (o.logger = { warn: 1 })],
)

function leaks(text: string, pw: string): boolean {
  return text.includes(pw) || text.includes(encodeURIComponent(pw))
}

describe('passwords never appear in configuration errors or in the db object', () => {
  it('TypeErrors for any other mistake do not echo a password, from a URL or an object', () => {
    fc.assert(
      fc.property(password, fc.nat(), otherMistake, (pw, seed, [mistake, apply]) => {
        const forms = [
          `mysql://app:${encodeURIComponent(pw)}@127.0.0.1:3306/app_s0`,
          `mysql://app:${pw}@127.0.0.1:3306/app_s0`,
          { host: '127.0.0.1', user: 'app', password: pw, database: 'app_s0' },
        ]
        const options: Record<string, any> = {
          shards: { '-80': forms[seed % 3], '80-': forms[(seed + 1) % 3] },
          tables: { t: { shardKey: 'id' } },
        }
        apply(options)
        let error: unknown
        try {
          createShardedDb(options as ShardedDbOptions)
        } catch (err) {
          error = err
        }
        // Either the mistake is reported, or the raw password itself made a URL unparseable.
        expect(error, mistake).toBeInstanceOf(TypeError)
        const text = `${(error as Error).message}\n${(error as Error).stack}\n${inspect(error, { depth: 5 })}`
        expect(leaks(text, pw), `${mistake}: ${(error as Error).message}`).toBe(false)
      }),
      { numRuns: 300 },
    )
  })

  it('util.inspect(db), String(db) and JSON.stringify(db) show shards and policy, never a password', async () => {
    await fc.assert(
      fc.asyncProperty(password, password, fc.nat(), async (pw1, pw2, form) => {
        const second = [`mysql://app:${encodeURIComponent(pw2)}@127.0.0.1:3306/app_s1`, { host: '127.0.0.1', user: 'app', password: pw2, database: 'app_s1' }][
          form % 2
        ]!
        const db = createShardedDb({ shards: { '-80': { database: 'a', password: pw1 }, '80-': second }, tables: { t: { shardKey: 'id' } } })
        try {
          for (const text of [inspect(db, { depth: 10, showHidden: true }), String(db), JSON.stringify(db), `${db}`]) {
            expect(text).toContain('-80')
            expect(leaks(text, pw1)).toBe(false)
            expect(leaks(text, pw2)).toBe(false)
          }
        } finally {
          await db.destroy()
        }
      }),
      { numRuns: 50 },
    )
  })

  it('redactUrl hides every character of the password, even one containing @', () => {
    fc.assert(
      fc.property(password, fc.constantFrom('h', '127.0.0.1:3306', 'db.example:99999', '[::1]:3306'), (pw, host) => {
        const redacted = redactUrl(`mysql://app:${pw}@${host}/db`)
        expect(redacted.startsWith('mysql://app:***@')).toBe(true)
        // No fragment of the password longer than what a host could contain by chance.
        for (const part of pw.split('@').filter((p) => p.length >= 3)) expect(redacted.replace(host, '')).not.toContain(part)
      }),
    )
  })

  it('a URL that does not parse is never quoted, whatever is wrong with it (no scheme, mysql//, whitespace, bad port)', () => {
    // The marker starts every password, so a message holding any piece of one that starts it is caught too.
    const marked = password.map((p) => `Pw9${p}`)
    const mangle = fc.constantFrom<[string, (url: string) => string]>(
      ['no scheme', (u) => u.replace(/^mysql:/, '')],
      ['mysql//', (u) => u.replace('mysql://', 'mysql//')],
      ['mysql:/', (u) => u.replace('mysql://', 'mysql:/')],
      ['leading space', (u) => ` ${u}`],
      ['leading tab', (u) => `\t${u}`],
      ['trailing newline', (u) => `${u}\n`],
      ['jdbc prefix', (u) => `jdbc:${u}`],
      ['unknown scheme', (u) => u.replace('mysql:', 'mysqlx:')],
      ['password as the scheme', (u) => u.replace(/^mysql:\/\/app:/, '')],
      ['port 99999', (u) => u.replace(':3306', ':99999')],
      ['port 0', (u) => u.replace(':3306', ':0')],
      ['port not a number', (u) => u.replace(':3306', ':33o6')],
      ['two @', (u) => u.replace('@', '@@')],
      ['nothing wrong', (u) => u],
    )
    fc.assert(
      fc.property(marked, fc.boolean(), fc.array(mangle, { minLength: 1, maxLength: 3 }), (pw, encode, mangles) => {
        let url = `mysql://app:${encode ? encodeURIComponent(pw) : pw}@db.example:3306/app_s0`
        for (const [, apply] of mangles) url = apply(url)
        let error: unknown
        try {
          createShardedDb({ shards: { '0': url }, tables: { t: { shardKey: 'id' } } })
        } catch (err) {
          error = err
        }
        if (error === undefined) return // a valid URL after all (the password held nothing URL-significant)
        const what = mangles.map(([name]) => name).join(' + ')
        expect(error, what).toBeInstanceOf(TypeError)
        const text = `${(error as Error).message}\n${(error as Error).stack}\n${inspect(error, { depth: 5 })}`
        expect(text, `${what}: ${(error as Error).message}`).not.toContain('Pw9')
        expect(text, what).toMatch(/`shards\.0`/)
      }),
      { numRuns: 500 },
    )
  })
})
