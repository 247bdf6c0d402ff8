import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compareKeyRanges,
  findCoverProblem,
  formatKeyRange,
  keyRangeContains,
  keyRangeEquals,
  keyRangeIsEmpty,
  parseKeyRange,
  tryParseKeyRange,
  type KeyRange,
} from '../../src/routing/keyrange.js'
import { describeValue, quoteName } from '../../src/shared/describe-value.js'
import { keyrangeNames } from '../../src/routing/keyrange-names.js'

const id = (hex: string): Buffer => Buffer.from(hex, 'hex')
const names = (ranges: readonly KeyRange[]): string[] => ranges.map((r) => r.name)

describe('parseKeyRange', () => {
  it('parses open and closed sides', () => {
    const low = parseKeyRange('-80')
    expect(low.start.length).toBe(0)
    expect(low.end?.toString('hex')).toBe('80')
    const high = parseKeyRange('80-')
    expect(high.start.toString('hex')).toBe('80')
    expect(high.end).toBeNull()
    const mid = parseKeyRange('40-80')
    expect([mid.start.toString('hex'), mid.end?.toString('hex')]).toEqual(['40', '80'])
    expect(mid.name).toBe('40-80')
  })

  it("reads '0' and '-' as the whole range", () => {
    for (const name of ['0', '-']) {
      const r = parseKeyRange(name)
      expect(r.start.length).toBe(0)
      expect(r.end).toBeNull()
      expect(r.name).toBe(name)
    }
  })

  it('ignores trailing zero bytes and hex case', () => {
    expect(keyRangeEquals(parseKeyRange('-80'), parseKeyRange('00-80'))).toBe(true)
    expect(keyRangeEquals(parseKeyRange('-80'), parseKeyRange('0000-8000'))).toBe(true)
    expect(keyRangeEquals(parseKeyRange('80-'), parseKeyRange('8000-'))).toBe(true)
    expect(keyRangeEquals(parseKeyRange('c0-'), parseKeyRange('C0-'))).toBe(true)
    expect(keyRangeEquals(parseKeyRange('Ab-cD'), parseKeyRange('ab00-cd'))).toBe(true)
    expect(keyRangeEquals(parseKeyRange('00-'), parseKeyRange('0'))).toBe(true)
    // A non-zero trailing byte is significant.
    expect(keyRangeEquals(parseKeyRange('-80'), parseKeyRange('-8001'))).toBe(false)
    expect(keyRangeEquals(parseKeyRange('-80'), parseKeyRange('-0080'))).toBe(false)
  })

  it('keeps the written name but formats the shortest lower-case one', () => {
    const r = parseKeyRange('00-C000')
    expect(r.name).toBe('00-C000')
    expect(formatKeyRange(r)).toBe('-c0')
    expect(formatKeyRange(parseKeyRange('0'))).toBe('-')
    expect(formatKeyRange(parseKeyRange('4000-8001'))).toBe('40-8001')
  })

  it.each(['abc', '', '80', '8-', '-8', '080-', '1-2-3', '--', 'zz-', '-gg', ' -80', '-80 ', '0x80-', '00', '+80-', '-８０'])('refuses %j', (name) => {
    expect(tryParseKeyRange(name)).toBeUndefined()
    expect(() => parseKeyRange(name)).toThrow(TypeError)
    expect(() => parseKeyRange(name)).toThrow(/Vitess keyrange name such as '-80'/)
  })

  it('refuses non-strings without crashing', () => {
    expect(tryParseKeyRange(80 as unknown as string)).toBeUndefined()
    expect(() => parseKeyRange(null as unknown as string)).toThrow(/got null/)
  })

  it('truncates an absurdly long name in the error', () => {
    const name = 'z'.repeat(500)
    const message = (() => {
      try {
        parseKeyRange(name)
      } catch (err) {
        return (err as Error).message
      }
      return ''
    })()
    expect(message).toContain('(500 characters)')
    expect(message).not.toContain(name)
  })
})

describe('keyRangeContains', () => {
  it('is half-open: start inside, end outside', () => {
    const low = parseKeyRange('-80')
    const high = parseKeyRange('80-')
    expect(keyRangeContains(low, id('0000000000000000'))).toBe(true)
    expect(keyRangeContains(low, id('7fffffffffffffff'))).toBe(true)
    expect(keyRangeContains(low, id('8000000000000000'))).toBe(false)
    expect(keyRangeContains(high, id('8000000000000000'))).toBe(true)
    expect(keyRangeContains(high, id('ffffffffffffffff'))).toBe(true)
    expect(keyRangeContains(high, id('7fffffffffffffff'))).toBe(false)
    const mid = parseKeyRange('40-80')
    expect(keyRangeContains(mid, id('4000000000000000'))).toBe(true)
    expect(keyRangeContains(mid, id('3fffffffffffffff'))).toBe(false)
    expect(keyRangeContains(mid, id('8000000000000000'))).toBe(false)
  })

  it('compares multi-byte bounds byte by byte', () => {
    const r = parseKeyRange('-8001')
    expect(keyRangeContains(r, id('8000ffffffffffff'))).toBe(true)
    expect(keyRangeContains(r, id('8001000000000000'))).toBe(false)
    const s = parseKeyRange('8001-')
    expect(keyRangeContains(s, id('8000ffffffffffff'))).toBe(false)
    expect(keyRangeContains(s, id('8001000000000000'))).toBe(true)
  })

  it('puts the Vitess hash ids of 1..6 where Vitess does', () => {
    // keyspace ids of 1..6 under the hash vindex (published vectors)
    const ids = ['166b40b44aba4bd6', '06e7ea22ce92708f', '4eb190c9a2fa169c', 'd2fd8867d50d2dfe', '70bb023c810ca87a', 'f098480ac4c4be71']
    const low = parseKeyRange('-80')
    expect(ids.map((hex) => keyRangeContains(low, id(hex)))).toEqual([true, true, true, false, true, false])
  })

  it('the whole range contains everything; an empty range nothing', () => {
    for (const hex of ['0000000000000000', '8000000000000000', 'ffffffffffffffff']) {
      expect(keyRangeContains(parseKeyRange('0'), id(hex))).toBe(true)
      expect(keyRangeContains(parseKeyRange('80-40'), id(hex))).toBe(false)
    }
  })

  it('agrees with integer comparison for random bounds and ids (property)', () => {
    const bound = fc.uint8Array({ minLength: 0, maxLength: 8 })
    // An end written as '' is the open end, so a present end has at least one byte.
    const closedEnd = fc.uint8Array({ minLength: 1, maxLength: 8 })
    const toInt = (bytes: Uint8Array): bigint => Buffer.concat([Buffer.from(bytes), Buffer.alloc(8 - bytes.length)]).readBigUInt64BE()
    fc.assert(
      fc.property(bound, fc.option(closedEnd, { nil: null }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (start, end, n) => {
        const name = `${Buffer.from(start).toString('hex')}-${end === null ? '' : Buffer.from(end).toString('hex')}`
        const range = parseKeyRange(name)
        const key = Buffer.alloc(8)
        key.writeBigUInt64BE(n)
        const expected = n >= toInt(start) && (end === null || n < toInt(end))
        expect(keyRangeContains(range, key)).toBe(expected)
        expect(keyRangeIsEmpty(range)).toBe(end !== null && toInt(start) >= toInt(end))
      }),
    )
  })
})

describe('keyRangeIsEmpty / compareKeyRanges', () => {
  it('finds ranges with start >= end', () => {
    expect(keyRangeIsEmpty(parseKeyRange('80-40'))).toBe(true)
    expect(keyRangeIsEmpty(parseKeyRange('80-80'))).toBe(true)
    expect(keyRangeIsEmpty(parseKeyRange('80-8000'))).toBe(true)
    expect(keyRangeIsEmpty(parseKeyRange('-00'))).toBe(true)
    expect(keyRangeIsEmpty(parseKeyRange('80-8001'))).toBe(false)
    expect(keyRangeIsEmpty(parseKeyRange('-'))).toBe(false)
  })

  it('sorts by start, then end with the open end last', () => {
    const sorted = ['c0-', '80-c0', '-40', '40-80', '-', '-80'].map(parseKeyRange).sort(compareKeyRanges)
    expect(names(sorted)).toEqual(['-40', '-80', '-', '40-80', '80-c0', 'c0-'])
  })
})

describe('findCoverProblem', () => {
  const check = (list: string[]) => findCoverProblem(list.map(parseKeyRange))

  it('accepts exact tilings and sorts them', () => {
    expect(names(check(['c0-', '-40', '80-c0', '40-80']).sorted!)).toEqual(['-40', '40-80', '80-c0', 'c0-'])
    expect(names(check(['0']).sorted!)).toEqual(['0'])
    expect(names(check(['8000-', '00-80']).sorted!)).toEqual(['00-80', '8000-'])
    expect(check(['-8001', '8001-']).problem).toBeUndefined()
  })

  it('reports each kind of problem', () => {
    expect(check([]).problem).toEqual({ kind: 'empty-set' })
    expect(check(['-80', '80-40', '40-']).problem).toMatchObject({ kind: 'empty-range', range: { name: '80-40' } })
    expect(check(['-80', '00-80', '80-']).problem).toMatchObject({ kind: 'duplicate' })
    expect(check(['-80', '40-']).problem).toMatchObject({ kind: 'overlap', a: { name: '-80' }, b: { name: '40-' } })
    expect(check(['0', '80-']).problem).toMatchObject({ kind: 'overlap' })
    expect(check(['-40', '80-']).problem).toMatchObject({ kind: 'gap', from: '40', to: '80' })
    expect(check(['40-']).problem).toMatchObject({ kind: 'gap', after: undefined, from: '', to: '40' })
    expect(check(['-c0']).problem).toMatchObject({ kind: 'gap', before: undefined, from: 'c0', to: '' })
    // 80 and 8000 are the same bound, but 8001 is not.
    expect(check(['-80', '8001-']).problem).toMatchObject({ kind: 'gap', from: '80', to: '8001' })
  })
})

describe('keyrangeNames', () => {
  it('names evenly split keyspaces', () => {
    expect(keyrangeNames(1)).toEqual(['0'])
    expect(keyrangeNames(2)).toEqual(['-80', '80-'])
    expect(keyrangeNames(4)).toEqual(['-40', '40-80', '80-c0', 'c0-'])
    expect(keyrangeNames(16)).toHaveLength(16)
    expect(keyrangeNames(16)[1]).toBe('10-20')
    const all = keyrangeNames(256)
    expect(all[0]).toBe('-01')
    expect(all[1]).toBe('01-02')
    expect(all[255]).toBe('ff-')
  })

  it.each([1, 2, 4, 8, 16, 32, 64, 128, 256])('covers the space exactly with %i shards, already in canonical order', (n) => {
    const result = findCoverProblem(keyrangeNames(n).map(parseKeyRange))
    expect(result.problem).toBeUndefined()
    expect(names(result.sorted!)).toEqual(keyrangeNames(n))
  })

  it.each([0, 3, 6, 512, -2, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2' as unknown as number])('refuses %j', (n) => {
    expect(() => keyrangeNames(n)).toThrow(TypeError)
    expect(() => keyrangeNames(n)).toThrow(/shard count to be a power of two from 1 to 256, got /)
  })
})

describe('describeValue', () => {
  it('names the type and cuts long values', () => {
    expect(describeValue(1.5)).toBe('number 1.5')
    expect(describeValue('abc')).toBe("string 'abc'")
    expect(describeValue(10n)).toBe('bigint 10')
    expect(describeValue(null)).toBe('null')
    expect(describeValue(undefined)).toBe('undefined')
    expect(describeValue(new Date(0))).toBe('object (Date)')
    expect(describeValue({ a: 1 })).toBe('object')
    expect(describeValue([1, 2])).toBe('array (length 2)')
    expect(describeValue(() => 1)).toBe('function')
    const secret = 'customer-' + '9'.repeat(60)
    expect(describeValue(secret)).not.toContain(secret)
    expect(describeValue(secret)).toContain('(69 characters)')
    expect(describeValue(10n ** 60n)).toContain('(61 digits)')
    expect(quoteName('-80')).toBe("'-80'")
  })
})
