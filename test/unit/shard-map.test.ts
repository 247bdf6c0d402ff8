import { createDecipheriv } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { RouterFunction, ShardKey } from '../../src/config/options.js'
import { keyRangeContains, parseKeyRange, tryParseKeyRange } from '../../src/routing/keyrange.js'
import { keyrangeNames } from '../../src/routing/keyrange-names.js'
import { createShardMap } from '../../src/routing/shard-map.js'
import { createVindex } from '../../src/routing/vindex.js'

const MIN_INT64 = -(1n << 63n)
const MAX_UINT64 = (1n << 64n) - 1n

function errorOf(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error, nothing was thrown')
}

function typeErrorMessage(fn: () => unknown): string {
  const err = errorOf(fn)
  expect(err).toBeInstanceOf(TypeError)
  return err.message
}

/** Cut points: unique non-zero byte strings without trailing zeros, sorted. */
const cutPoints = fc
  .uniqueArray(
    // Short cuts are the usual names; 8-byte ones make a bound equal to a whole keyspace id.
    fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 3 }), fc.uint8Array({ minLength: 8, maxLength: 8 })).map((bytes) => {
      let len = bytes.length
      while (len > 0 && bytes[len - 1] === 0) len--
      return Buffer.from(bytes.subarray(0, len)).toString('hex')
    }),
    { maxLength: 12 },
  )
  .map((cuts) => cuts.filter((c) => c !== '').sort((a, b) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'))))

/**
 * A valid split: keyrange names that tile the space, spelled with random trailing-zero padding
 * and case, and declared in random order.
 */
const validSplit = fc
  .record({
    cuts: cutPoints,
    pad: fc.array(fc.boolean(), { minLength: 13, maxLength: 13 }),
    upper: fc.boolean(),
    whole: fc.constantFrom('0', '-'),
    shuffle: fc.array(fc.double({ noNaN: true }), { minLength: 13, maxLength: 13 }),
  })
  .map(({ cuts, pad, upper, whole, shuffle }) => {
    if (cuts.length === 0) return { canonical: [whole], declared: [whole] }
    const spell = (hex: string, i: number) => {
      const padded = hex === '' ? '' : pad[i] ? `${hex}00` : hex
      return upper ? padded.toUpperCase() : padded
    }
    const bounds = ['', ...cuts, '']
    const canonical = cuts.concat('').map((_, i) => `${spell(bounds[i]!, i)}-${spell(bounds[i + 1]!, i + 1)}`)
    const declared = canonical
      .map((name, i) => ({ name, k: shuffle[i]! }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.name)
    return { canonical, declared }
  })

const anyInt64 = fc.bigInt({ min: MIN_INT64, max: MAX_UINT64 })

describe('createShardMap with hash', () => {
  it('routes the Vitess example: 1, 2, 3, 5 to -80 and 4, 6 to 80-', () => {
    const map = createShardMap(['80-', '-80'], 'hash')
    expect([1, 2, 3, 4, 5, 6].map((k) => map.shardForKey('accounts', k))).toEqual(['-80', '-80', '-80', '80-', '-80', '80-'])
    expect([1n, 4n].map((k) => map.shardForKey('accounts', k))).toEqual(['-80', '80-'])
    expect(['5', '6'].map((k) => map.shardForKey('accounts', k))).toEqual(['-80', '80-'])
  })

  it('orders shards by keyrange and ranks them in O(1) lookups', () => {
    const map = createShardMap(['c0-', '40-80', '-40', '80-c0'], 'hash')
    expect(map.order).toEqual(['-40', '40-80', '80-c0', 'c0-'])
    expect(map.order.map((s) => map.rank(s))).toEqual([0, 1, 2, 3])
    expect(map.rank('nope')).toBe(-1)
    expect(map.rank('40-8000')).toBe(-1) // same range, different name: names are what callers hold
    expect(map.has('80-c0')).toBe(true)
    expect(map.has('80-C0')).toBe(false)
    expect(Object.isFrozen(map.order)).toBe(true)
  })

  it('returns the names as configured, whatever their spelling', () => {
    const map = createShardMap(['8000-', '0000-8000'], 'hash')
    expect(map.order).toEqual(['0000-8000', '8000-'])
    expect([1, 4].map((k) => map.shardForKey('accounts', k))).toEqual(['0000-8000', '8000-'])
  })

  it("sends everything to a single '0' or '-' shard", () => {
    for (const name of ['0', '-']) {
      const map = createShardMap([name], 'hash')
      expect([1, 4, -1, MAX_UINT64].map((k) => map.shardForKey('t', k))).toEqual([name, name, name, name])
    }
  })

  it.each([1, 2, 4, 16, 256])('accepts keyrangeNames(%i) and places every key in its range', (n) => {
    const names = keyrangeNames(n)
    const map = createShardMap(names, 'hash')
    expect(map.order).toEqual(names)
    const hash = createVindex('hash')
    for (let key = -50; key < 200; key++) {
      const shard = map.shardForKey('t', key)
      expect(keyRangeContains(parseKeyRange(shard), hash.keyspaceId(key, 't'))).toBe(true)
    }
  })

  it('refuses bad keys with the table named', () => {
    const map = createShardMap(['-80', '80-'], 'hash')
    const message = typeErrorMessage(() => map.shardForKey('accounts', 1.5))
    expect(message).toContain('table `accounts`')
    expect(message).toContain("router 'hash'")
    expect(message).toContain('got number 1.5')
  })
})

describe('createShardMap with xxhash', () => {
  it('routes the Vitess vectors by keyrange', () => {
    const map = createShardMap(keyrangeNames(4), 'xxhash')
    // d01a..., 87eb..., d464...
    expect(map.shardForKey('users', 'test1')).toBe('c0-')
    expect(map.shardForKey('users', 'test2')).toBe('80-c0')
    expect(map.shardForKey('users', 1)).toBe('c0-')
    expect(map.shardForKey('users', 1n)).toBe('c0-')
  })

  it('refuses bad keys with the table named', () => {
    const map = createShardMap(['-80', '80-'], 'xxhash')
    const message = typeErrorMessage(() => map.shardForKey('users', Number.NaN))
    expect(message).toContain('table `users`')
    expect(message).toContain("router 'xxhash'")
  })
})

describe('routing properties', () => {
  it('maps every 64-bit key to exactly one shard, whose range holds its keyspace id (hash)', () => {
    const hash = createVindex('hash')
    fc.assert(
      fc.property(validSplit, fc.array(anyInt64, { minLength: 1, maxLength: 20 }), ({ canonical, declared }, keys) => {
        const map = createShardMap(declared, 'hash')
        expect(map.order).toEqual(canonical)
        const ranges = canonical.map(parseKeyRange)
        for (const key of keys) {
          const id = hash.keyspaceId(key, 't')
          const holders = ranges.filter((r) => keyRangeContains(r, id)).map((r) => r.name)
          expect(holders).toHaveLength(1)
          expect(map.shardForKey('t', key)).toBe(holders[0])
        }
      }),
      { numRuns: 300 },
    )
  })

  it('maps every key to exactly one shard, whose range holds its keyspace id (xxhash)', () => {
    const xx = createVindex('xxhash')
    const key = fc.oneof(fc.string(), anyInt64, fc.maxSafeInteger())
    fc.assert(
      fc.property(validSplit, fc.array(key, { minLength: 1, maxLength: 20 }), ({ canonical, declared }, keys) => {
        const map = createShardMap(declared, 'xxhash')
        const ranges = canonical.map(parseKeyRange)
        for (const k of keys) {
          const id = xx.keyspaceId(k, 't')
          const holders = ranges.filter((r) => keyRangeContains(r, id)).map((r) => r.name)
          expect(holders).toHaveLength(1)
          expect(map.shardForKey('t', k)).toBe(holders[0])
        }
      }),
      { numRuns: 300 },
    )
  })

  it('routes keyspace ids next to every bound correctly (ids chosen at the cut points)', () => {
    // Random keys almost never land next to a bound. The hash vindex is a bijection (DES), so we
    // pick the ids at, just below and just above each bound and decrypt them to their keys.
    fc.assert(
      fc.property(validSplit, ({ canonical, declared }) => {
        const map = createShardMap(declared, 'hash')
        const ranges = canonical.map(parseKeyRange)
        const hash = createVindex('hash')
        for (const range of ranges) {
          for (const id of boundaryIds(range.start)) {
            const key = keyForHashId(id)
            expect(hash.keyspaceId(key, 't').equals(id)).toBe(true)
            const holder = ranges.find((r) => keyRangeContains(r, id))!.name
            expect(map.shardForKey('t', key)).toBe(holder)
          }
        }
      }),
      { numRuns: 100 },
    )
  })

  it('routes number, bigint and decimal-string forms of the same integer identically', () => {
    fc.assert(
      fc.property(validSplit, fc.maxSafeInteger(), anyInt64, ({ declared }, n, big) => {
        const hash = createShardMap(declared, 'hash')
        expect(hash.shardForKey('t', BigInt(n))).toBe(hash.shardForKey('t', n))
        expect(hash.shardForKey('t', String(n))).toBe(hash.shardForKey('t', n))
        expect(hash.shardForKey('t', big.toString())).toBe(hash.shardForKey('t', big))
        expect(hash.shardForKey('t', BigInt.asUintN(64, big))).toBe(hash.shardForKey('t', BigInt.asIntN(64, big)))
        const xx = createShardMap(declared, 'xxhash')
        expect(xx.shardForKey('t', BigInt(n))).toBe(xx.shardForKey('t', n))
        expect(xx.shardForKey('t', String(n))).toBe(xx.shardForKey('t', n))
        expect(xx.shardForKey('t', big.toString())).toBe(xx.shardForKey('t', big))
      }),
      { numRuns: 300 },
    )
  })

  it('refuses every malformed shard-name set with a TypeError naming `shards`', () => {
    const garbage = fc.string({ maxLength: 8 }).filter((s) => s !== '' && tryParseKeyRange(s) === undefined)
    const multi = validSplit.filter(({ canonical }) => canonical.length >= 2)
    const malformed = fc.oneof(
      fc.constant([] as string[]),
      // drop one range: leaves a gap (or no start / no open end)
      fc.tuple(multi, fc.nat()).map(([{ declared }, i]) => declared.filter((_, j) => j !== i % declared.length)),
      // the same range twice, spelled differently
      fc.tuple(validSplit, fc.nat()).map(([{ canonical }, i]) => {
        const name = canonical[i % canonical.length]!
        const respelled = name === '0' || name === '-' ? (name === '0' ? '-' : '00-') : name.replace(/([0-9a-fA-F]+)/g, '$100')
        return [...canonical, respelled]
      }),
      // the same name twice
      fc.tuple(validSplit, fc.nat()).map(([{ declared }, i]) => [...declared, declared[i % declared.length]!]),
      // the whole range on top of a split: overlaps
      multi.map(({ declared }) => [...declared, '-']),
      // a range reversed: start >= end
      multi.map(({ canonical }) => {
        const [first, ...rest] = canonical
        const end = first!.slice(1)
        return [`${end}-${end}`, ...rest]
      }),
      // a name that is not a keyrange
      fc.tuple(validSplit, garbage).map(([{ declared }, bad]) => [...declared, bad]),
    )
    fc.assert(
      fc.property(malformed, fc.constantFrom('hash' as const, 'xxhash' as const), (names, router) => {
        const message = typeErrorMessage(() => createShardMap(names, router))
        expect(message).toContain('`shards`')
      }),
      { numRuns: 500 },
    )
  })
})

describe('createShardMap validation messages', () => {
  it('no shards', () => {
    expect(typeErrorMessage(() => createShardMap([], 'hash'))).toMatch(/^Expected `shards` to name at least one shard, got none/)
    expect(typeErrorMessage(() => createShardMap([], () => 'a'))).toContain('`shards`')
  })

  it('not an array', () => {
    expect(typeErrorMessage(() => createShardMap('-80' as unknown as string[], 'hash'))).toContain(
      "`shards` to be an object mapping shard names to connections, got string '-80'",
    )
  })

  it('a name that is not a keyrange', () => {
    expect(typeErrorMessage(() => createShardMap(['abc'], 'hash'))).toBe(
      "Expected `shards` keys to be Vitess keyranges such as '-80' and '80-' when `router` is 'hash', got 'abc'. " +
        "A keyrange is 'start-end' in even-length hex with either side empty for open, or '0' for a single shard. " +
        'Use a custom router function for other shard names.',
    )
    expect(typeErrorMessage(() => createShardMap(['-80', '8-'], 'xxhash'))).toContain("when `router` is 'xxhash', got '8-'")
  })

  it('duplicate ranges', () => {
    const message = typeErrorMessage(() => createShardMap(['-80', '00-80', '80-'], 'hash'))
    expect(message).toContain('`shards` to hold each keyrange once')
    expect(message).toContain("'-80' and '00-80'")
  })

  it('duplicate names', () => {
    expect(typeErrorMessage(() => createShardMap(['-80', '80-', '-80'], 'hash'))).toContain("`shards` to name each shard once, got '-80' twice")
    expect(typeErrorMessage(() => createShardMap(['a', 'a'], () => 'a'))).toContain("got 'a' twice")
  })

  it('overlaps', () => {
    const message = typeErrorMessage(() => createShardMap(['-80', '40-'], 'hash'))
    expect(message).toContain('`shards` keyranges not to overlap')
    expect(message).toContain("'-80' and '40-'")
    expect(message).toContain('from 40')
    expect(typeErrorMessage(() => createShardMap(['0', '80-'], 'hash'))).toContain('overlap')
  })

  it('gaps, at the start, in the middle, at the end', () => {
    const middle = typeErrorMessage(() => createShardMap(['-40', '80-'], 'hash'))
    expect(middle).toContain('`shards` keyranges to cover every keyspace id exactly once')
    expect(middle).toContain("from 40 to 80 (between '-40' and '80-')")
    expect(middle).toContain("Add a shard '40-80'")
    expect(typeErrorMessage(() => createShardMap(['40-'], 'hash'))).toContain("below 40 (no shard starts at the beginning). Add a shard '-40'")
    expect(typeErrorMessage(() => createShardMap(['-c0'], 'hash'))).toContain("from c0 to the end (no shard is open-ended). Add a shard 'c0-'")
  })

  it('start >= end', () => {
    const message = typeErrorMessage(() => createShardMap(['-40', '80-40', '40-'], 'hash'))
    expect(message).toContain("`shards` keyranges to have start < end when `router` is 'hash', got '80-40'")
    expect(message).toContain('start 80 is not below end 40')
    expect(typeErrorMessage(() => createShardMap(['-80', '80-8000', '80-'], 'hash'))).toContain("got '80-8000'")
  })

  it.each<[string, unknown]>([
    ['an unknown name', 'md5'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { hash: true }],
  ])('a router that is %s', (_what, router) => {
    const message = typeErrorMessage(() => createShardMap(['-80', '80-'], router as 'hash'))
    expect(message).toMatch(/^Expected `router` to be 'hash', 'xxhash', or a function \(table, key\) => shardName, got /)
  })
})

describe('createShardMap with a custom router', () => {
  const byRegion: RouterFunction = (_table, key) => (String(key).startsWith('eu') ? 'eu' : 'us')

  it('keeps declaration order and accepts any names', () => {
    const map = createShardMap(['us', 'eu', 'shard with spaces'], byRegion)
    expect(map.order).toEqual(['us', 'eu', 'shard with spaces'])
    expect(map.rank('eu')).toBe(1)
    expect(map.rank('-80')).toBe(-1)
    expect(map.has('shard with spaces')).toBe(true)
    expect(map.shardForKey('users', 'eu-1')).toBe('eu')
    expect(map.shardForKey('users', 7)).toBe('us')
  })

  it('passes the table and the key through unchanged', () => {
    const seen: Array<[string, ShardKey]> = []
    const map = createShardMap(['a'], (table, key) => {
      seen.push([table, key])
      return 'a'
    })
    map.shardForKey('orders', 12n)
    map.shardForKey('users', 'k')
    expect(seen).toEqual([
      ['orders', 12n],
      ['users', 'k'],
    ])
  })

  it('refuses empty or non-string names', () => {
    expect(typeErrorMessage(() => createShardMap(['a', ''], byRegion))).toContain("`shards` keys to be non-empty strings, got string ''")
    expect(typeErrorMessage(() => createShardMap(['a', 3 as unknown as string], byRegion))).toContain('got number 3')
  })

  it('refuses a returned shard that is not configured', () => {
    const map = createShardMap(['a', 'b'], () => 'zzz')
    expect(typeErrorMessage(() => map.shardForKey('x', 1))).toBe("Expected `router` to return one of the configured shards ['a','b'] for table `x`, got 'zzz'")
    const undef = createShardMap(['a', 'b'], (() => undefined) as unknown as RouterFunction)
    expect(typeErrorMessage(() => undef.shardForKey('x', 1))).toContain('got undefined')
  })

  it('lists at most 16 shards in that message', () => {
    const names = Array.from({ length: 40 }, (_, i) => `s${i}`)
    const message = typeErrorMessage(() => createShardMap(names, () => 'nope').shardForKey('x', 1))
    expect(message).toContain("'s15',… (40 in all)")
    expect(message).not.toContain("'s16'")
  })

  it('wraps an error thrown by the router with the table name and keeps the cause', () => {
    const original = new RangeError('no region for this customer')
    const map = createShardMap(['a'], () => {
      throw original
    })
    const err = errorOf(() => map.shardForKey('orders', 'cus_secret_123'))
    expect(err.message).toContain('`router` function threw for table `orders`')
    expect(err.message).toContain('no region for this customer')
    expect(err.message).not.toContain('cus_secret_123')
    expect(err.cause).toBe(original)
  })
})

// --- helpers for the boundary property -------------------------------------------------------

/** Ids exactly at an 8-byte-padded bound and one below / above it (where they exist). */
function boundaryIds(start: Buffer): Buffer[] {
  const at = Buffer.concat([start, Buffer.alloc(8)]).subarray(0, 8)
  const n = at.readBigUInt64BE()
  const ids = [n, n - 1n, n + 1n].filter((v) => v >= 0n && v <= MAX_UINT64)
  return ids.map((v) => {
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(v)
    return b
  })
}

/** The integer key whose hash keyspace id is `id`: DES decryption with the same all-zero key. */
function keyForHashId(id: Buffer): bigint {
  const decipher = createDecipheriv('des-ede3-ecb', Buffer.alloc(24), null)
  decipher.setAutoPadding(false)
  return Buffer.concat([decipher.update(id), decipher.final()]).readBigUInt64BE()
}
