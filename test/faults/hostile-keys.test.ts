/**
 * Hostile shard keys (quotes, SQL fragments, placeholders, NUL and control characters, 4-byte
 * characters, lone surrogates, megabyte strings) are data, never SQL. With `xxhash` and a custom
 * router they route, insert and read back exactly on the real server, and every statement knex
 * compiled carries them as `?` bindings; with `hash` (integers only) they are refused before
 * anything is sent.
 */
import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShardedDb, type RouterFunction, type ShardedDb } from '../../src/index.js'
import { createTestShards, type TestShards } from '../support/shard-databases.js'

const NAMES = ['-80', '80-']

/** Hand-picked: each has broken some SQL-splicing code somewhere. */
const NASTY = [
  "'",
  "''",
  "' OR '1'='1",
  "'; DROP TABLE items; --",
  '"; DROP TABLE items; --',
  '`items`',
  '\\',
  "\\'",
  '?',
  '??',
  ':name',
  '$1',
  '%s%n',
  '/* comment */',
  '-- ',
  '\0',
  'a\0b',
  '\n\r\t\b\x1a',
  '\x00\x7f\x80\xff',
  'é€😀𝄞',
  '\u2028\u2029',
  ' leading and trailing ',
  'x'.repeat(1 << 20),
  "'".repeat(10_000),
]

/** Strings JavaScript allows but UTF-8 cannot carry (lone surrogates). */
const ILL_FORMED = ['\uD800', 'a\uDFFFb', '\uDBFF\uDBFF', `${'\uD83D'}x`]

const hostileString = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: fc.constantFrom("'", '"', '`', '\\', '?', ';', '-', '#', '/', '*', '\0', '%', '_', 'a', '1', ' ', 'é', '😀'), maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
)

let shards: TestShards
const customRouter: RouterFunction = (_table, key) => NAMES[String(key).length % 2]!
const queries: { shard: string; sql: string; bindings: unknown[] }[] = []
let xx: ShardedDb
let custom: ShardedDb
let hash: ShardedDb

beforeAll(async () => {
  shards = await createTestShards({ names: NAMES })
  // utf8mb4_bin: exact comparison; tag: the row of one property run, whatever PAD SPACE equates.
  await shards.execAll(
    'CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, k LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, tag CHAR(36) NOT NULL, KEY (tag))',
  )
  const options = { shards: shards.shards, tables: { items: { shardKey: 'k' } } }
  xx = createShardedDb({ ...options, router: 'xxhash' })
  custom = createShardedDb({ ...options, router: customRouter })
  hash = createShardedDb({ ...options, router: 'hash' })
  for (const db of [xx, custom, hash]) {
    for (const shard of NAMES)
      db.shard(shard).client.on('query', (q: { sql: string; bindings?: unknown[] }) => queries.push({ shard, sql: q.sql, bindings: q.bindings ?? [] }))
  }
})

afterAll(async () => {
  await Promise.all([xx, custom, hash].map((db) => db?.destroy()))
  await shards?.drop()
})

/** Inserts `key` through shardtx, reads it back by key through shardtx, and checks where it landed. */
async function roundTrip(db: ShardedDb, key: string): Promise<void> {
  const tag = randomUUID()
  queries.length = 0
  const shard = db.shardOf('items', key)
  await db.transaction((tx) => tx('items').insert({ k: key, tag }))
  const rows = await db.transaction((tx) => tx('items').where({ k: key }).andWhere({ tag }).select('k', 'tag'))
  // What the server stores for a string is its UTF-8 encoding; lone surrogates become U+FFFD.
  expect(rows).toEqual([{ k: key.toWellFormed(), tag }])
  // On the shard the router chose, and only there.
  const placed = await Promise.all(NAMES.map((s) => shards.query(s, 'SELECT COUNT(*) AS n FROM items WHERE tag = ?', [tag])))
  expect(placed.map((r) => Number(r[0].n))).toEqual(NAMES.map((s) => (s === shard ? 1 : 0)))
  // The statement text is the same whatever the key (placeholders only); the key travels as a binding.
  expect(queries.map((q) => q.sql)).toEqual(SQL_SHAPES)
  for (const q of queries) {
    expect(q.shard).toBe(shard)
    expect(q.bindings).toContain(key)
  }
}

/** What knex compiles for roundTrip's two statements, for any key. */
const SQL_SHAPES = ['insert into `items` (`k`, `tag`) values (?, ?)', 'select `k`, `tag` from `items` where `k` = ? and `tag` = ?']

describe.each([
  ['xxhash', () => xx],
  ['a custom router', () => custom],
])('hostile keys with %s are bound, never spliced', (_name, db) => {
  it('hand-picked nasty keys round-trip exactly', async () => {
    for (const key of NASTY) await roundTrip(db(), key)
  })

  it('generated keys round-trip exactly (property)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileString, (key) => roundTrip(db(), key)),
      { numRuns: 60 },
    )
  })

  it('strings with lone surrogates (not encodable as UTF-8) route consistently with what the server stores', async () => {
    for (const key of ILL_FORMED) {
      await roundTrip(db(), key)
      // The server stores U+FFFD for each lone surrogate; the well-formed form finds the same row on the same shard.
      expect(db().shardOf('items', key.toWellFormed())).toBe(db().shardOf('items', key))
    }
  })
})

describe('hash refuses non-integer keys before sending anything', () => {
  it('any hostile string: TypeError at shardOf and in a transaction, nothing sent, message bounded', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileString.filter((s) => !/^\s*-?\d+\s*$/.test(s)),
        async (key) => {
          expect(() => hash.shardOf('items', key)).toThrow(TypeError)
          queries.length = 0
          const err = await hash
            .transaction((tx) => tx('items').insert({ k: key, tag: 'x' }))
            .then(
              () => undefined,
              (e: unknown) => e,
            )
          expect(err).toBeInstanceOf(TypeError)
          expect((err as Error).message).toMatch(/shard key/)
          expect((err as Error).message.length).toBeLessThan(1_000)
          expect(queries).toEqual([])
        },
      ),
      { numRuns: 100 },
    )
  })
})
