import { describe, expect, it } from 'vitest'
import { AppliedMarks, MAX_QUEUED_MARKS } from '../../src/policies/split/applied-marks.js'
import type { IntentLog } from '../../src/policies/split/intent-log.js'
import { heldCalls, tick } from '../support/held-calls.js'

/** A fake intent log whose UPDATEs complete when the test says so. */
function fakeLog(fail = false) {
  const batches: string[][] = []
  const calls = heldCalls()
  const log = {
    markAppliedMany: (ids: readonly string[]) => {
      batches.push([...ids])
      return calls.hold(() => {
        if (fail) throw new Error('coordinator down')
        return ids.length
      })
    },
  }
  return { log: log as unknown as IntentLog, batches, releaseAll: calls.releaseAll }
}

describe('AppliedMarks', () => {
  it('writes the marks queued while an UPDATE is in flight as one batch', async () => {
    const f = fakeLog()
    const marks = new AppliedMarks(f.log)
    marks.mark('a')
    await tick()
    marks.mark('b')
    marks.mark('c')
    expect(f.batches).toEqual([['a']])
    f.releaseAll()
    await tick()
    expect(f.batches).toEqual([['a'], ['b', 'c']])
    f.releaseAll()
    await marks.drain()
  })

  it('stays bounded when the coordinator does not answer, dropping the oldest (recovery marks those)', async () => {
    const f = fakeLog()
    const marks = new AppliedMarks(f.log)
    marks.mark('first')
    await tick() // 'first' is in flight and never answered for now
    for (let i = 0; i < MAX_QUEUED_MARKS + 50; i++) marks.mark(`p${i}`)
    const drained = marks.drain()
    let done = false
    void drained.then(() => (done = true))
    while (!done) {
      f.releaseAll()
      await tick()
    }
    const queued = f.batches.slice(1).flat()
    expect(queued).toHaveLength(MAX_QUEUED_MARKS) // the 50 oldest were dropped
    expect(queued[0]).toBe('p50')
    expect(f.batches.slice(1).every((b) => b.length <= 500)).toBe(true)
  })

  it('a failed UPDATE is left to recovery: no throw, the queue goes on, drain resolves', async () => {
    const f = fakeLog(true)
    const marks = new AppliedMarks(f.log)
    marks.mark('x')
    await tick()
    marks.mark('y')
    const drained = marks.drain()
    f.releaseAll()
    await tick()
    f.releaseAll()
    await drained
    expect(f.batches).toEqual([['x'], ['y']])
  })
})
