// The recorder without a database: whatever is published on the cross-shard channel, by any
// policy, becomes one line; recordings of one file are shared; release flushes and stops.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CHANNELS, type CrossShardTransactionEvent } from '../../src/shared/channels.js'
import { parseFootprintLine, type FootprintRecord } from '../../src/shared/footprint-record.js'
import { startFootprintRecording } from '../../src/logging/footprint-recorder.js'
import { silentLogger } from '../../src/shared/logger.js'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-recorder-'))
  file = path.join(dir, 'footprints.jsonl')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const records = (): FootprintRecord[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(parseFootprintLine)

function publish(overrides: Partial<CrossShardTransactionEvent> = {}): void {
  const event: CrossShardTransactionEvent = {
    event: 'shardtx.cross_shard_transaction',
    transactionId: 'tx-t-1',
    policy: 'warn',
    outcome: 'committed',
    shards: ['-80', '80-'],
    tables: ['accounts'],
    origin: 'src/app.ts:1:1',
    reason: 'https://tracker.example/1',
    durationMs: 1,
    suppressed: 0,
    ...overrides,
  }
  CHANNELS.crossShardTransaction.publish(event)
}

describe('startFootprintRecording', () => {
  it('records every event on the channel, whatever the policy, without key values', async () => {
    const recording = startFootprintRecording(file, silentLogger)
    publish({ transactionId: 'tx-t-1', policy: 'warn', keys: { '-80': ['1'], '80-': ['4'] } })
    publish({ transactionId: 'tx-t-2', policy: 'ordered', reason: undefined })
    publish({ transactionId: 'tx-t-3', policy: 'split', outcome: 'recovered' })
    await recording.release()
    const seen = records()
    expect(seen.map((r) => r.kind === 'transaction' && [r.transactionId, r.policy, r.outcome])).toEqual([
      ['tx-t-1', 'warn', 'committed'],
      ['tx-t-2', 'ordered', 'committed'],
      ['tx-t-3', 'split', 'recovered'],
    ])
    expect(seen[0]).toMatchObject({ pid: process.pid, origin: 'src/app.ts:1:1', shards: ['-80', '80-'], reason: 'https://tracker.example/1' })
    expect(readFileSync(file, 'utf8')).not.toContain('keys')
  })

  it('shares one writer per file: each transaction is written once, and recording stops with the last release', async () => {
    const a = startFootprintRecording(file, silentLogger)
    const b = startFootprintRecording(file, silentLogger)
    publish({ transactionId: 'tx-both' })
    await a.release()
    await a.release() // idempotent: must not release b's share
    publish({ transactionId: 'tx-b-only' })
    await b.release()
    publish({ transactionId: 'tx-after' })
    expect(CHANNELS.crossShardTransaction.hasSubscribers).toBe(false)
    expect(records().map((r) => r.kind === 'transaction' && r.transactionId)).toEqual(['tx-both', 'tx-b-only'])
  })

  it('never throws into the publisher; a message it cannot encode is counted as dropped', async () => {
    const recording = startFootprintRecording(file, silentLogger)
    expect(() => CHANNELS.crossShardTransaction.publish(null)).not.toThrow()
    expect(recording.droppedLines).toBe(1)
    await recording.release()
    expect(records()).toEqual([expect.objectContaining({ kind: 'dropped', count: 1 })])
  })

  it('throws the fs error at start when the file cannot be opened, and subscribes nothing', () => {
    expect(() => startFootprintRecording(path.join(dir, 'missing', 'f.jsonl'), silentLogger)).toThrow(/^Expected `footprint.file` to be a file .*: ENOENT/)
    expect(CHANNELS.crossShardTransaction.hasSubscribers).toBe(false)
  })
})
