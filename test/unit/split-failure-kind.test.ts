import { describe, expect, it } from 'vitest'
import { errorCodes, failureKind } from '../../src/policies/split/failure-kind.js'

const sqlError = (errno: number, code: string) =>
  Object.assign(new Error(`${code}: Duplicate entry 'secret-key' for key 'PRIMARY'`), { errno, code, sqlState: '23000' })

describe('split part failure kinds', () => {
  it('errors about the statements themselves fail the plan', () => {
    for (const [errno, code] of [
      [1062, 'ER_DUP_ENTRY'],
      [1452, 'ER_NO_REFERENCED_ROW_2'],
      [1048, 'ER_BAD_NULL_ERROR'],
      [1264, 'ER_WARN_DATA_OUT_OF_RANGE'],
      [1054, 'ER_BAD_FIELD_ERROR'],
      [4025, 'ER_CONSTRAINT_FAILED'],
      [1644, 'ER_SIGNAL_EXCEPTION'],
    ] as const) {
      expect(failureKind(sqlError(errno, code)), code).toBe('permanent')
    }
  })

  it('errors about the moment leave the plan pending', () => {
    for (const [errno, code] of [
      [1213, 'ER_LOCK_DEADLOCK'],
      [1205, 'ER_LOCK_WAIT_TIMEOUT'],
      [1927, 'ER_CONNECTION_KILLED'],
      [1053, 'ER_SERVER_SHUTDOWN'],
      [1290, 'ER_OPTION_PREVENTS_STATEMENT'],
      [2013, 'CR_SERVER_LOST'],
    ] as const) {
      expect(failureKind(sqlError(errno, code)), code).toBe('transient')
    }
    expect(failureKind(Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' }))).toBe('transient')
    expect(failureKind(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('transient')
    expect(failureKind(undefined)).toBe('transient')
  })

  it('describes an error for logs by its codes only, never its message', () => {
    expect(errorCodes(sqlError(1062, 'ER_DUP_ENTRY'))).toEqual({ code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' })
    expect(JSON.stringify(errorCodes(sqlError(1062, 'ER_DUP_ENTRY')))).not.toContain('secret-key')
  })
})
