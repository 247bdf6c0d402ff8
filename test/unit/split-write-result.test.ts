import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { splitWriteResult } from '../../src/policies/split/write-result.js'
import { SplitWriteResultError } from '../../src/policies/split/errors.js'

const make = () => {
  let uses = 0
  const value: any = splitWriteResult('an update on `accounts`', () => {
    uses++
    return new SplitWriteResultError('an update on `accounts`', { file: 'app.ts', line: 3, column: 9 }, true)
  })
  return { value, uses: () => uses }
}

describe('the placeholder a split write resolves to', () => {
  const USES: [string, (n: any) => unknown][] = [
    ['n + 1', (n) => n + 1],
    ['n * 2', (n) => n * 2],
    ['n > 0', (n) => n > 0],
    ['n == 1 (loose equality coerces)', (n) => n == 1], // eslint-disable-line eqeqeq
    ['String(n)', (n) => String(n)],
    ['template literal', (n) => `${n}`],
    ['Number(n)', (n) => Number(n)],
    [
      'destructuring an insert id',
      (n) => {
        const [id] = n
        return id
      },
    ],
    [
      'for..of',
      (n) => {
        for (const x of n) return x
        return undefined
      },
    ],
    ['spread', (n) => [...n]],
    ['n.length', (n) => n.length],
    ['n[0]', (n) => n[0]],
    ['n.affectedRows', (n) => n.affectedRows],
    ['JSON.stringify', (n) => JSON.stringify(n)],
    ['in', (n) => 'affectedRows' in n],
    ['Object.keys', (n) => Object.keys(n)],
    ['assignment', (n) => (n.x = 1)],
    ['delete', (n) => delete n.x],
    ['instanceof', (n) => n instanceof Array],
    ['Object.getPrototypeOf', (n) => Object.getPrototypeOf(n)],
  ]
  for (const [label, use] of USES) {
    it(`throws SplitWriteResultError on ${label}`, () => {
      const { value, uses } = make()
      expect(() => use(value)).toThrow(SplitWriteResultError)
      expect(uses()).toBeGreaterThan(0)
    })
  }

  it('names the write, its line, and the way out', () => {
    const { value } = make()
    expect(() => value + 1).toThrow(/an update on `accounts` \(at app\.ts:3:9\).*crossShard: 'ordered'/)
  })

  it('stays an ordinary value for promises (no `then`) and for inspection', async () => {
    const { value, uses } = make()
    expect(await Promise.resolve(value)).toBe(value)
    expect(inspect(value)).toBe("[SplitWriteResult of an update on `accounts`: not available under crossShard 'split'; see docs/split.md]")
    expect(uses()).toBe(0)
  })

  it('cannot intercept strict equality, truthiness or typeof (documented in docs/split.md)', () => {
    const { value, uses } = make()
    expect(value === 1).toBe(false)
    expect(!value).toBe(false)
    expect(typeof value).toBe('object')
    expect(uses()).toBe(0)
  })
})
