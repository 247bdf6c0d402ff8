// The README's table of logger events lists every event shardtx logs (EVENT_NAMES, which
// test/unit/event-names.test.ts keeps equal to src/), each with its level, and nothing else.
import { describe, expect, it } from 'vitest'
import { EVENT_NAMES } from '../../src/index.js'
import { documentedLogLevels } from '../support/documented-log-levels.js'

describe("README's logger events", () => {
  it('document every event shardtx logs, and only those', () => {
    expect([...documentedLogLevels().keys()].sort()).toEqual([...EVENT_NAMES].sort())
  })
})
