import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LatestSlot } from '../../src/health/latest-slot.js'
import { MAX_QUEUED_REPORTS, ReportQueue } from '../../src/health/report-queue.js'

const microtasks = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('LatestSlot: one value, latest wins, never blocks', () => {
  it('take() returns the last offer of any sequence, then nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { minLength: 1, maxLength: 200 }), (values) => {
        const slot = new LatestSlot<number>()
        for (const v of values) slot.offer(v)
        expect(slot.isFull).toBe(true)
        expect(slot.take()).toBe(values.at(-1))
        expect(slot.take()).toBeUndefined()
        expect(slot.isFull).toBe(false)
        expect(slot.replaced).toBe(values.length - 1)
      }),
    )
  })

  it('counts replacements instead of keeping them: a million offers hold one value', () => {
    const slot = new LatestSlot<{ n: number }>()
    for (let n = 0; n < 1_000_000; n++) slot.offer({ n })
    expect(slot.replaced).toBe(999_999)
    expect(slot.take()).toEqual({ n: 999_999 })
  })
})

describe('ReportQueue: bounded, keyed, one worker', () => {
  it('offer() returns before the handler runs (the reporter never waits for the worker)', async () => {
    const handled: string[] = []
    const queue = new ReportQueue<string>((key, report) => handled.push(`${key}:${report}`))
    queue.offer('-80', 'connection lost')
    expect(handled).toEqual([])
    expect(queue.size).toBe(1)
    await microtasks()
    expect(handled).toEqual(['-80:connection lost'])
    expect(queue.size).toBe(0)
  })

  it('keeps one report per key, merged latest-wins, in first-report order', async () => {
    const handled: [string, number][] = []
    const queue = new ReportQueue<number>((key, report) => handled.push([key, report]))
    for (let i = 0; i < 100_000; i++) queue.offer(`shard-${i % 3}`, i)
    expect(queue.size).toBe(3)
    await microtasks()
    expect(handled).toEqual([
      ['shard-0', 99_999],
      ['shard-1', 99_997],
      ['shard-2', 99_998],
    ])
  })

  it('uses the merge function, so a definite failure is not downgraded by a later suspicion', async () => {
    const handled: string[] = []
    const queue = new ReportQueue<string>((_key, report) => handled.push(report), {
      merge: (waiting, next) => (waiting === 'failed' ? waiting : next),
    })
    queue.offer('a', 'suspect')
    queue.offer('a', 'failed')
    queue.offer('a', 'suspect')
    await microtasks()
    expect(handled).toEqual(['failed'])
  })

  it(`never holds more than ${MAX_QUEUED_REPORTS} reports, whatever the number of keys; drops the oldest and counts`, async () => {
    let handled = 0
    const queue = new ReportQueue<number>(() => handled++)
    let largest = 0
    for (let i = 0; i < 100_000; i++) {
      queue.offer(`k${i}`, i)
      largest = Math.max(largest, queue.size)
    }
    expect(largest).toBe(MAX_QUEUED_REPORTS)
    expect(queue.dropped).toBe(100_000 - MAX_QUEUED_REPORTS)
    await microtasks()
    expect(handled).toBe(MAX_QUEUED_REPORTS)
  })

  it('refuses to be configured bigger than its constant capacity', () => {
    const queue = new ReportQueue<number>(() => undefined, { capacity: 9_999_999_999_999 })
    for (let i = 0; i < MAX_QUEUED_REPORTS * 2; i++) queue.offer(`k${i}`, i)
    expect(queue.size).toBe(MAX_QUEUED_REPORTS)
  })

  it('a handler that throws does not stop the worker', async () => {
    const handled: string[] = []
    const errors: unknown[] = []
    const queue = new ReportQueue<string>(
      (key) => {
        if (key === 'bad') throw new Error('boom')
        handled.push(key)
      },
      { onHandlerError: (err) => errors.push(err) },
    )
    queue.offer('bad', 'x')
    queue.offer('good', 'y')
    await microtasks()
    expect(handled).toEqual(['good'])
    expect(errors).toHaveLength(1)
  })

  it('reports offered by the handler itself are handled in the same drain, and close() stops everything', async () => {
    const handled: string[] = []
    const queue: ReportQueue<string> = new ReportQueue<string>((key) => {
      handled.push(key)
      if (key === 'first') queue.offer('second', 'from the handler')
    })
    queue.offer('first', 'x')
    await microtasks()
    expect(handled).toEqual(['first', 'second'])
    queue.close()
    queue.offer('third', 'x')
    await microtasks()
    expect(handled).toEqual(['first', 'second'])
    expect(queue.size).toBe(0)
  })
})
