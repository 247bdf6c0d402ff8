import fc from 'fast-check'
import mysql from 'mysql2'
import { describe, expect, it } from 'vitest'
import { decodeBindings, encodeBindings, mysqlDateText } from '../../src/policies/split/binding-codec.js'
import { SplitUnsupportedError } from '../../src/policies/split/errors.js'

/** What mysql2 puts in the SQL for a value, its default `timezone: 'local'` included. */
const sentByMysql2 = (values: unknown[]) => mysql.format(values.map(() => '?').join(', '), values as never)

describe('split binding codec', () => {
  it('round-trips every supported value through JSON so that mysql2 renders the same SQL', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.integer(),
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.boolean(),
            fc.constant(null),
            fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
            fc.uint8Array().map((a) => Buffer.from(a)),
            fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }),
            fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
          ),
        ),
        (values) => {
          const stored = JSON.parse(JSON.stringify(encodeBindings(values, 'a statement')))
          expect(sentByMysql2(decodeBindings(stored))).toBe(sentByMysql2(values))
        },
      ),
    )
  })

  it('renders Dates exactly as mysql2 does (local time, milliseconds), and an invalid Date as NULL', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        expect(`'${mysqlDateText(d)}'`).toBe(mysql.escape(d))
      }),
    )
    expect(mysqlDateText(new Date(Number.NaN))).toBeNull()
    expect(mysql.escape(new Date(Number.NaN))).toBe('NULL')
  })

  it('keeps bigints beyond 2^53 and Buffers byte for byte', () => {
    const [big, buf] = decodeBindings(JSON.parse(JSON.stringify(encodeBindings([18_446_744_073_709_551_615n, Buffer.from([0, 255, 10])], 's'))))
    expect(big).toBe(18_446_744_073_709_551_615n)
    expect(buf).toEqual(Buffer.from([0, 255, 10]))
  })

  it('refuses values it cannot store exactly, naming the binding and the statement', () => {
    for (const [value, what] of [
      [undefined, 'undefined'],
      [Number.NaN, 'the number NaN'],
      [Infinity, 'the number Infinity'],
      [{ a: 1 }, 'a value of type object'],
      [Symbol('s'), 'a value of type symbol'],
    ] as const) {
      expect(() => encodeBindings(['ok', value], 'an update on `accounts`')).toThrow(SplitUnsupportedError)
      expect(() => encodeBindings(['ok', value], 'an update on `accounts`')).toThrow(`binding 2 of an update on \`accounts\` is ${what}`)
    }
  })

  it('refuses an unknown tag read back from the log instead of guessing', () => {
    expect(() => decodeBindings([{ $float128: '1' } as never])).toThrow(/unknown binding tag/)
  })
})
