import { createCipheriv } from 'node:crypto'
import { xxh64 } from '@node-rs/xxhash'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ShardKey } from '../../src/config/options.js'
import { createVindex } from '../../src/routing/vindex.js'

const MIN_INT64 = -(1n << 63n)
const MAX_UINT64 = (1n << 64n) - 1n

/** Reference: a fresh cipher per value, finished with final(), as the textbook use goes. */
function referenceDes(value: bigint): string {
  const block = Buffer.alloc(8)
  block.writeBigUInt64BE(BigInt.asUintN(64, value))
  const cipher = createCipheriv('des-ede3-ecb', Buffer.alloc(24), null)
  cipher.setAutoPadding(false)
  return Buffer.concat([cipher.update(block), cipher.final()]).toString('hex')
}

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError)
    return (err as Error).message
  }
  throw new Error('expected a TypeError, nothing was thrown')
}

describe('hash vindex', () => {
  const hash = createVindex('hash')
  const hex = (key: ShardKey) => hash.keyspaceId(key, 'accounts').toString('hex')

  it('reproduces the Vitess test vectors', () => {
    expect(hash.name).toBe('hash')
    expect([1, 2, 3, 4, 5, 6].map(hex)).toEqual([
      '166b40b44aba4bd6',
      '06e7ea22ce92708f',
      '4eb190c9a2fa169c',
      'd2fd8867d50d2dfe',
      '70bb023c810ca87a',
      'f098480ac4c4be71',
    ])
  })

  it('gives the same ids for number, bigint and decimal-string forms', () => {
    for (const n of [1, 2, 3, 4, 5, 6]) {
      expect(hex(BigInt(n))).toBe(hex(n))
      expect(hex(String(n))).toBe(hex(n))
    }
    expect(hex('007')).toBe(hex(7))
    expect(hex('-0')).toBe(hex(0))
    expect(hex(-0)).toBe(hex(0))
  })

  it('takes negative values as two complement: -1 and 2^64-1 share an id', () => {
    const id = hex(-1)
    expect(hex(-1n)).toBe(id)
    expect(hex('-1')).toBe(id)
    expect(hex(MAX_UINT64)).toBe(id)
    expect(hex(MAX_UINT64.toString())).toBe(id)
    expect(hex(MIN_INT64)).toBe(hex(1n << 63n))
    expect(hex(MIN_INT64.toString())).toBe(hex((1n << 63n).toString()))
    expect(hex(Number.MIN_SAFE_INTEGER)).toBe(hex(BigInt.asUintN(64, BigInt(Number.MIN_SAFE_INTEGER))))
    expect(id).toBe(referenceDes(MAX_UINT64))
  })

  it('reusing one cipher gives what a fresh cipher per value gives (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: MIN_INT64, max: MAX_UINT64 }), (n) => {
        expect(hex(n)).toBe(referenceDes(n))
        expect(hex(n.toString())).toBe(referenceDes(n))
      }),
      { numRuns: 500 },
    )
  })

  it('encodes every safe integer like its bigint, both signs (property)', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        const expected = referenceDes(BigInt(n))
        expect(hex(n)).toBe(expected)
        expect(hex(String(n))).toBe(expected)
      }),
      { numRuns: 500 },
    )
  })

  it('returns a new buffer each call', () => {
    const first = hash.keyspaceId(1, 'accounts')
    const second = hash.keyspaceId(2, 'accounts')
    expect(first.toString('hex')).toBe('166b40b44aba4bd6')
    expect(second.toString('hex')).toBe('06e7ea22ce92708f')
    expect(first.length).toBe(8)
  })

  it('accepts the ends of the 64-bit range', () => {
    for (const key of [MIN_INT64, MAX_UINT64, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, MIN_INT64.toString(), MAX_UINT64.toString()]) {
      expect(hash.keyspaceId(key, 'accounts')).toHaveLength(8)
    }
  })

  it.each<[string, unknown]>([
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['2^53 as a number', 2 ** 53],
    ['-2^53 as a number', -(2 ** 53)],
    ['a bigint above 2^64-1', MAX_UINT64 + 1n],
    ['a bigint below -2^63', MIN_INT64 - 1n],
    ['a decimal string above 2^64-1', (MAX_UINT64 + 1n).toString()],
    ['a decimal string below -2^63', (MIN_INT64 - 1n).toString()],
    ['letters', 'abc'],
    ['a decimal fraction string', '1.5'],
    ['an empty string', ''],
    ['a lone minus', '-'],
    ['a padded string', ' 1'],
    ['a plus sign', '+1'],
    ['an exponent', '1e3'],
    ['hex', '0x10'],
    ['null', null],
    ['undefined', undefined],
    ['an object', {}],
    ['a boolean', true],
  ])('refuses %s with a TypeError naming the table, the router and the type', (_what, key) => {
    const message = messageOf(() => hash.keyspaceId(key as ShardKey, 'accounts'))
    expect(message).toContain('shard key of table `accounts`')
    expect(message).toContain("for router 'hash'")
    expect(message).toContain('integer (safe-integer number, bigint, or decimal string)')
    expect(message).toMatch(/got (number|bigint|string|null|undefined|object|boolean)/)
  })

  it('says what went wrong for numbers and big values', () => {
    expect(messageOf(() => hash.keyspaceId(1.5, 'accounts'))).toMatch(/got number 1\.5$/)
    expect(messageOf(() => hash.keyspaceId(2 ** 53, 'accounts'))).toContain('pass a bigint or a decimal string')
    expect(messageOf(() => hash.keyspaceId(MAX_UINT64 + 1n, 'accounts'))).toContain('outside the 64-bit range')
  })

  it('does not copy a long string key into the message', () => {
    const key = 'cus_' + 'x'.repeat(96)
    const message = messageOf(() => hash.keyspaceId(key, 'accounts'))
    expect(message).not.toContain(key)
    expect(message).toContain('(100 characters)')
    const digits = '9'.repeat(80)
    expect(messageOf(() => hash.keyspaceId(digits, 'accounts'))).not.toContain(digits)
  })
})

describe('xxhash vindex', () => {
  const xx = createVindex('xxhash')
  const hex = (key: ShardKey) => xx.keyspaceId(key, 'users').toString('hex')

  it('reproduces the Vitess test vectors', () => {
    expect(xx.name).toBe('xxhash')
    expect(hex('test1')).toBe('d01ab7e4d6978f0b')
    expect(hex('test2')).toBe('87eb11714c0a0e89')
    expect(hex(1)).toBe('d46405367612b4b7')
  })

  it('hashes numbers and bigints as their decimal text', () => {
    expect(hex(1n)).toBe(hex(1))
    expect(hex('1')).toBe(hex(1))
    expect(hex(-42)).toBe(hex('-42'))
    expect(hex(1.5)).toBe(hex('1.5'))
    expect(hex(-0)).toBe(hex('0'))
    expect(hex(MAX_UINT64 + 5n)).toBe(hex((MAX_UINT64 + 5n).toString()))
    // Text, not numbers: as in Vitess, a zero-padded string is another key.
    expect(hex('007')).not.toBe(hex(7))
  })

  it('hashes strings as UTF-8 and writes the hash little-endian', () => {
    for (const text of ['é', '日本', '😀', 'a\u0000b']) {
      const expected = Buffer.alloc(8)
      expected.writeBigUInt64LE(xxh64(Buffer.from(text, 'utf8'), 0n))
      expect(hex(text)).toBe(expected.toString('hex'))
    }
  })

  it.each<[string, unknown]>([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['2^53 as a number', 2 ** 53],
    ['null', null],
    ['undefined', undefined],
    ['an object', { id: 1 }],
    ['a boolean', false],
  ])('refuses %s with a TypeError naming the table and the router', (_what, key) => {
    const message = messageOf(() => xx.keyspaceId(key as ShardKey, 'users'))
    expect(message).toContain('shard key of table `users`')
    expect(message).toContain("for router 'xxhash'")
    expect(message).toMatch(/got (number|null|undefined|object|boolean)/)
  })
})

describe('createVindex', () => {
  it('refuses unknown names, naming `router`', () => {
    const message = messageOf(() => createVindex('md5' as 'hash'))
    expect(message).toContain('`router`')
    expect(message).toContain("got string 'md5'")
  })

  it('returns independent instances', () => {
    const a = createVindex('hash')
    const b = createVindex('hash')
    expect(a).not.toBe(b)
    expect(a.keyspaceId(3, 't').equals(b.keyspaceId(3, 't'))).toBe(true)
  })
})
