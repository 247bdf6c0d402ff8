import { describe, expect, it } from 'vitest'
import { LockSet, compareKeys } from '../../src/transaction/lock-set.js'
import { decideStatement, joinOutOfOrder, topShard, type LockPosition } from '../../src/transaction/lock-set-order.js'

const ORDER = ['-40', '40-80', '80-c0', 'c0-']
const rank = (shard: string) => ORDER.indexOf(shard)

/** A transaction that participates in `participants` and holds `held` exclusively. */
function position(participants: string[], held = new LockSet()): LockPosition {
  return { participants, held, isJoined: (s) => participants.includes(s), rank }
}

const accounts = (byShard: Record<string, number[]>) => ({
  table: 'accounts',
  shards: Object.keys(byShard).sort((a, b) => rank(a) - rank(b)),
  keysByShard: new Map(Object.entries(byShard)),
})

describe('LockSet', () => {
  it('deduplicates keys across spellings and keeps shards, tables and keys in a stable order', () => {
    const set = new LockSet()
    set.addKeys('80-c0', 'accounts', [9, 3n, '3']).addKeys('-40', 'ledger', [2]).addKeys('-40', 'accounts', ['b', 10, 'a', 2n]).addShard('c0-')
    expect(set.shardsInOrder(rank)).toEqual(['-40', '80-c0', 'c0-'])
    expect(set.tablesOn('-40')).toEqual(['accounts', 'ledger'])
    expect(set.tablesOn('c0-')).toEqual([]) // session only
    expect(set.keysInOrder('-40', 'accounts')).toEqual([2n, 10, 'a', 'b'])
    expect(set.keysInOrder('80-c0', 'accounts')).toHaveLength(2)
    expect(set.keyCount).toBe(7)
  })

  it('covers keys it holds, whatever their spelling, and nothing else', () => {
    const set = new LockSet().addKeys('-40', 'accounts', [1, 2])
    expect(set.covers('-40', 'accounts', [2n, '1'])).toBe(true)
    expect(set.covers('-40', 'accounts', [1, 3])).toBe(false)
    expect(set.covers('-40', 'ledger', [1])).toBe(false)
    expect(set.covers('40-80', 'accounts', [1])).toBe(false)
  })

  it('merges and clones without sharing state', () => {
    const a = new LockSet().addKeys('-40', 'accounts', [1])
    const b = a.clone().addKeys('40-80', 'accounts', [5])
    expect(a.hasShard('40-80')).toBe(false)
    expect(new LockSet().addAll(a).addAll(b).keyCount).toBe(2)
  })

  it('orders numbers and bigints numerically, before strings', () => {
    expect([10, '9', 2n, 'a', -1].sort(compareKeys)).toEqual([-1, 2n, 10, '9', 'a'])
  })
})

describe('decideStatement: the canonical-order rule', () => {
  it('sends statements at or above the top shard with waiting allowed', () => {
    expect(decideStatement(position([]), accounts({ '80-c0': [1] }))).toEqual({ action: 'send', modes: ['wait'] })
    expect(decideStatement(position(['-40', '40-80']), accounts({ '40-80': [7] }))).toEqual({ action: 'send', modes: ['wait'] })
    expect(decideStatement(position(['-40']), accounts({ 'c0-': [7] }))).toEqual({ action: 'send', modes: ['wait'] })
  })

  it('restarts a statement on rows of a lower shard that are not held', () => {
    expect(decideStatement(position(['80-c0']), accounts({ '-40': [1] }))).toEqual({ action: 'restart', shard: '-40', above: '80-c0', cause: 'rows' })
  })

  it('restarts for a new key on a lower shard even when that shard is already locked up front', () => {
    const held = new LockSet().addKeys('-40', 'accounts', [1]).addKeys('80-c0', 'accounts', [5])
    const decision = decideStatement(position(['-40', '80-c0'], held), accounts({ '-40': [2] }))
    expect(decision).toEqual({ action: 'restart', shard: '-40', above: '80-c0', cause: 'rows' })
  })

  it('sends a statement on held rows of a lower shard, in the no-wait form', () => {
    const held = new LockSet().addKeys('-40', 'accounts', [1, 2]).addKeys('80-c0', 'accounts', [5])
    expect(decideStatement(position(['-40', '80-c0'], held), accounts({ '-40': [2, 1] }))).toEqual({ action: 'send', modes: ['no-wait'] })
  })

  it('treats rows of another table on the same shard as not held', () => {
    const held = new LockSet().addKeys('-40', 'accounts', [1]).addKeys('80-c0', 'accounts', [5])
    const statement = { table: 'ledger', shards: ['-40'], keysByShard: new Map([['-40', [1]]]) }
    expect(decideStatement(position(['-40', '80-c0'], held), statement)).toMatchObject({ action: 'restart', cause: 'rows' })
  })

  it('sends inserts below the top in the no-wait form when the shard already has a session, and restarts for one otherwise', () => {
    const insert = (shard: string) => ({ table: 'ledger', shards: [shard], keysByShard: undefined })
    expect(decideStatement(position(['-40', '80-c0']), insert('-40'))).toEqual({ action: 'send', modes: ['no-wait'] })
    expect(decideStatement(position(['80-c0']), insert('40-80'))).toEqual({ action: 'restart', shard: '40-80', above: '80-c0', cause: 'session' })
    expect(decideStatement(position(['-40']), insert('c0-'))).toEqual({ action: 'send', modes: ['wait'] })
  })

  it('walks a multi-shard statement in canonical order: in order from the top, out of order below it', () => {
    expect(decideStatement(position(['40-80']), accounts({ '40-80': [1], '80-c0': [2], 'c0-': [3] }))).toEqual({
      action: 'send',
      modes: ['wait', 'wait', 'wait'],
    })
    const held = new LockSet().addKeys('-40', 'accounts', [1])
    expect(decideStatement(position(['-40', '40-80'], held), accounts({ '-40': [1], '80-c0': [2] }))).toEqual({ action: 'send', modes: ['no-wait', 'wait'] })
    expect(decideStatement(position(['-40', '40-80'], held), accounts({ '-40': [9], '80-c0': [2] }))).toMatchObject({ action: 'restart', shard: '-40' })
  })
})

describe('joinOutOfOrder and topShard', () => {
  it('refuses a new session below the top shard only', () => {
    expect(joinOutOfOrder(position(['80-c0', '-40']), '40-80')).toBe('80-c0')
    expect(joinOutOfOrder(position(['40-80']), 'c0-')).toBeUndefined()
    expect(joinOutOfOrder(position([]), '-40')).toBeUndefined()
  })

  it('finds the highest-ranked participant whatever the join order', () => {
    expect(topShard(position(['80-c0', 'c0-', '-40']))).toBe('c0-')
    expect(topShard(position([]))).toBeUndefined()
  })
})
