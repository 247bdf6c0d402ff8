import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { resolveAtomicOptions } from '../../src/config/atomic-options.js'
import { GTRID_PREFIX, XID_FORMAT_ID, gtridOf, parseRecoveredXid, serverOf, shardIdentity, xidSql } from '../../src/policies/atomic/xid.js'
import { RecoveryScheduler } from '../../src/transaction/recovery-scheduler.js'
import { nextTransactionId } from '../../src/shared/transaction-id.js'

/** A row as `XA RECOVER` returns it through mysql2. */
function recovered(gtrid: string, bqual: string, formatID = XID_FORMAT_ID) {
  return { formatID, gtrid_length: gtrid.length, bqual_length: bqual.length, data: Buffer.from(gtrid + bqual, 'latin1') }
}

describe('atomic xids', () => {
  const identity = shardIdentity('-80', { host: '127.0.0.1', port: 3306, database: 'app_s0' })

  it('round-trip through XA RECOVER: transaction id, coordinator, start time, branch', () => {
    const txId = nextTransactionId()
    const gtrid = gtridOf(txId, identity, 1_764_921_600_123)
    expect(gtrid.startsWith(GTRID_PREFIX)).toBe(true)
    expect(gtrid.length).toBeLessThanOrEqual(64) // XA's limit for gtrid
    const branch = shardIdentity('80-', { host: '127.0.0.1', port: 3306, database: 'app_s1' })
    expect(parseRecoveredXid(recovered(gtrid, branch))).toEqual({
      gtrid,
      bqual: branch,
      transactionId: txId,
      coordinator: identity,
      startedAtMs: 1_764_921_600_123,
    })
    expect(xidSql(gtrid, branch)).toBe(`'${gtrid}','${branch}',${XID_FORMAT_ID}`)
  })

  it("ignores every xid that is not shardtx's: other format ids, other prefixes, malformed gtrids", () => {
    const gtrid = gtridOf('tx-abc-00000001', identity, 1)
    expect(parseRecoveredXid(recovered(gtrid, 'b', 1))).toBeUndefined()
    expect(parseRecoveredXid(recovered('app:tx-1:x:1', 'b'))).toBeUndefined()
    expect(parseRecoveredXid(recovered('shardtx:only-two:fields', 'b'))).toBeUndefined()
    expect(parseRecoveredXid(recovered("shardtx:tx-1:x:1'; DROP", 'b'))).toBeUndefined()
  })

  it('identities differ by shard name, server and database, and never contain credentials', () => {
    const base = { host: '127.0.0.1', port: 3306, database: 'app_s0' }
    const ids = new Set([
      shardIdentity('-80', base),
      shardIdentity('80-', base),
      shardIdentity('-80', { ...base, port: 3307 }),
      shardIdentity('-80', { ...base, database: 'app_s1' }),
      shardIdentity('-80', { ...base, socketPath: '/run/mysqld.sock' }),
    ])
    expect(ids.size).toBe(5)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{10}$/)
    expect(serverOf({ host: 'db1', port: 3306 })).toBe('db1:3306')
    expect(serverOf({ host: 'db1', port: 3306, socketPath: '/s' })).toBe('/s')
  })

  it('refuses to build an xid that could not be spliced into an XA statement safely', () => {
    expect(() => xidSql("shardtx:x'", 'b')).toThrow(/unusable XA xid/)
    expect(() => gtridOf('tx-'.padEnd(80, 'a'), identity, 1)).toThrow(/unusable XA gtrid/)
  })
})

describe('atomic options', () => {
  it('fills in defaults and validates each key, naming the option', () => {
    expect(resolveAtomicOptions(undefined)).toEqual({ recoverOnStart: true, recoveryIntervalMs: 60_000, retainDecisionsMs: 3_600_000 })
    expect(resolveAtomicOptions({ recoveryIntervalMs: 0, recoverOnStart: false })).toMatchObject({ recoveryIntervalMs: 0, recoverOnStart: false })
    expect(() => resolveAtomicOptions({ recoveryIntervalMs: -1 })).toThrow(/atomic\.recoveryIntervalMs/)
    expect(() => resolveAtomicOptions({ retainDecisionMs: 1 })).toThrow(/atomic\.retainDecisionMs/)
    expect(() => resolveAtomicOptions({ recoverOnStart: 'yes' })).toThrow(/atomic\.recoverOnStart/)
  })
})

describe("RecoveryScheduler, atomic's", () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('logs a failed background pass as shardtx.atomic_recovery_error and tries again next interval', async () => {
    const log = { error: vi.fn(), warn: vi.fn(), info: vi.fn(), debug: vi.fn() }
    const calls: { olderThanMs: number; trigger: string }[] = []
    const recoverer = {
      recover: vi.fn(async (o: { olderThanMs: number; trigger: string }) => {
        calls.push(o)
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
      }),
      drain: vi.fn(async () => undefined),
    }
    const s = new RecoveryScheduler(() => recoverer, resolveAtomicOptions({ recoveryIntervalMs: 100 }), log, 'atomic')
    s.start()
    await vi.advanceTimersByTimeAsync(250)
    expect(calls).toEqual([
      { olderThanMs: 0, trigger: 'start' },
      { olderThanMs: 100, trigger: 'interval' },
      { olderThanMs: 100, trigger: 'interval' },
    ])
    expect(log.warn).toHaveBeenCalledWith(
      { event: 'shardtx.atomic_recovery_error', trigger: 'start', errorCode: 'ECONNREFUSED', errno: undefined },
      expect.stringContaining('atomic recovery (start) could not finish'),
    )
    await s.stop()
    expect(recoverer.drain).toHaveBeenCalled()
  })
})
