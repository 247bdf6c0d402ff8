import { describe, expect, it } from 'vitest'
import type { CrossShardTransactionEvent } from '../../src/shared/channels.js'
import {
  encodeFootprintLine,
  FootprintFormatError,
  MAX_LINE_BYTES,
  parseFootprintLine,
  transactionRecordOf,
  type FootprintTransactionRecord,
} from '../../src/shared/footprint-record.js'

const AT = new Date('2025-03-04T05:06:07.000Z')

function event(overrides: Partial<CrossShardTransactionEvent> = {}): CrossShardTransactionEvent {
  return {
    event: 'shardtx.cross_shard_transaction',
    transactionId: 'tx-abc-00000001',
    policy: 'warn',
    outcome: 'committed',
    shards: ['-80', '80-'],
    tables: ['accounts', 'ledger'],
    origin: 'src/bank.ts:31:12',
    reason: 'https://tracker.example/PAY-7',
    durationMs: 4.2,
    suppressed: 0,
    ...overrides,
  }
}

describe('footprint records', () => {
  it('copies only the whitelisted fields: never key values, log-limiter counters or fields a policy adds', () => {
    const withExtras = { ...event({ keys: { '-80': ['1'], '80-': ['4'] }, suppressed: 3 }), sql: 'UPDATE secret', password: 'pw' }
    const record = transactionRecordOf(withExtras, AT, 77)
    expect(record).toEqual({
      v: 1,
      kind: 'transaction',
      at: '2025-03-04T05:06:07.000Z',
      pid: 77,
      transactionId: 'tx-abc-00000001',
      origin: 'src/bank.ts:31:12',
      policy: 'warn',
      outcome: 'committed',
      shards: ['-80', '80-'],
      tables: ['accounts', 'ledger'],
      reason: 'https://tracker.example/PAY-7',
      durationMs: 4.2,
    })
    const line = encodeFootprintLine(record)
    expect(line).not.toMatch(/keys|secret|pw|suppressed/)
    expect(line.endsWith('}\n')).toBe(true)
    expect(line.indexOf('\n')).toBe(line.length - 1)
  })

  it('omits an absent reason, and tolerates a policy that publishes odd types', () => {
    const record = transactionRecordOf(event({ reason: undefined, shards: undefined as never, durationMs: Number.NaN }), AT, 1)
    expect(record).not.toHaveProperty('reason')
    expect(record).not.toHaveProperty('durationMs')
    expect(record.shards).toEqual([])
  })

  it('keeps every line within MAX_LINE_BYTES, marks cut records, and keeps the end of the origin', () => {
    const huge = transactionRecordOf(
      event({
        shards: Array.from({ length: 1000 }, (_, i) => `shard-${i}-${'x'.repeat(90)}`),
        tables: Array.from({ length: 1000 }, (_, i) => `table_${i}`),
        reason: '\u0001'.repeat(100_000), // escapes to six bytes a character
        origin: `${'deep/'.repeat(300)}bank.ts:31:12`,
      }),
      AT,
      1,
    )
    const line = encodeFootprintLine(huge)
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_LINE_BYTES)
    const parsed = parseFootprintLine(line.trimEnd()) as FootprintTransactionRecord
    expect(parsed.truncated).toBe(true)
    expect(parsed.origin.endsWith('bank.ts:31:12')).toBe(true)
    expect(parsed.shards[0]!.startsWith('shard-0-')).toBe(true)
    expect(parsed.transactionId).toBe('tx-abc-00000001')
  })

  it('leaves ordinary records untouched', () => {
    const record = transactionRecordOf(event(), AT, 1)
    expect(parseFootprintLine(encodeFootprintLine(record).trimEnd())).toEqual(record)
  })

  it.each([
    ['{"v":1', /not JSON/],
    ['[1,2]', /not a JSON object/],
    ['{"v":2,"kind":"transaction"}', /newer shardtx \(format v2.*upgrade shardtx/],
    ['{"hello":"world"}', /not a shardtx footprint record/],
    ['{"v":1,"kind":"transaction","pid":1}', /"at" must be a string, got nothing/],
    ['{"v":1,"kind":"nope","at":"x","pid":1}', /unknown "kind" "nope"/],
    ['{"v":1,"kind":"dropped","at":"x","pid":1,"count":"3"}', /"count" must be a number, got string/],
    [
      '{"v":1,"kind":"transaction","at":"x","pid":1,"transactionId":"t","origin":"o","policy":"p","outcome":"c","shards":["a",1],"tables":[]}',
      /"shards" must be an array of strings/,
    ],
  ])('refuses %s', (text, message) => {
    expect(() => parseFootprintLine(text)).toThrow(FootprintFormatError)
    expect(() => parseFootprintLine(text)).toThrow(message)
  })
})
