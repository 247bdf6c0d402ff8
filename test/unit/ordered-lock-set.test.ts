import { describe, expect, it } from 'vitest'
import { LockSet, compareKeys } from '../../src/transaction/lock-order/lock-set.js'
import { catchUp, catchUpForAccess, decideStatement, joinOutOfOrder, topShard, type LockPosition } from '../../src/transaction/lock-order/lock-set-order.js'

const ORDER = ['-40', '40-80', '80-c0', 'c0-']
const rank = (shard: string) => ORDER.indexOf(shard)

/**
 * A transaction that participates in `participants` and holds `held` exclusively. `server` says
 * what the shards allow: by default neither a session without waiting nor the no-wait form (MySQL
 * with a full pool), the cautious case.
 */
function position(participants: string[], held = new LockSet(), server: { freeConnection?: boolean; noWait?: boolean } = {}): LockPosition {
  return {
    participants,
    held,
    isJoined: (s) => participants.includes(s),
    rank,
    canJoinWithoutWaiting: () => server.freeConnection === true,
    canRefuseToWait: () => server.noWait === true,
  }
}
const MARIADB = { freeConnection: true, noWait: true }

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

  it('restarts a statement on rows of a lower shard that are not held, where they cannot be tried without waiting', () => {
    // No session on -40 and no free connection: the session is the first thing that would wait.
    expect(decideStatement(position(['80-c0']), accounts({ '-40': [1] }))).toEqual({ action: 'restart', shard: '-40', above: '80-c0', cause: 'session' })
    // A session, but no no-wait form (MySQL): the rows would be waited for out of order.
    expect(decideStatement(position(['-40', '80-c0']), accounts({ '-40': [1] }))).toEqual({ action: 'restart', shard: '-40', above: '80-c0', cause: 'rows' })
    expect(decideStatement(position(['80-c0'], new LockSet(), { freeConnection: true }), accounts({ '-40': [1] }))).toMatchObject({ cause: 'rows' })
  })

  it('tries unheld rows below the top without waiting where the server allows it (MariaDB), opening a session only on a free connection', () => {
    expect(decideStatement(position(['80-c0'], new LockSet(), MARIADB), accounts({ '-40': [1] }))).toEqual({ action: 'send', modes: ['try'] })
    expect(decideStatement(position(['-40', '80-c0'], new LockSet(), { noWait: true }), accounts({ '-40': [1] }))).toEqual({ action: 'send', modes: ['try'] })
    expect(decideStatement(position(['80-c0'], new LockSet(), { noWait: true }), accounts({ '-40': [1] }))).toEqual({
      action: 'restart',
      shard: '-40',
      above: '80-c0',
      cause: 'session',
    })
    // Held rows stay `no-wait` (a refusal there is a surprise, retried), new rows are `try` (a refusal restarts).
    const held = new LockSet().addKeys('-40', 'accounts', [1])
    expect(decideStatement(position(['-40', '80-c0'], held, MARIADB), accounts({ '-40': [1], '80-c0': [9] }))).toEqual({
      action: 'send',
      modes: ['no-wait', 'wait'],
    })
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

  it('sends inserts below the top in the no-wait form when the shard has a session or a free connection, and restarts otherwise', () => {
    const insert = (shard: string) => ({ table: 'ledger', shards: [shard], keysByShard: undefined })
    expect(decideStatement(position(['-40', '80-c0']), insert('-40'))).toEqual({ action: 'send', modes: ['no-wait'] })
    expect(decideStatement(position(['80-c0'], new LockSet(), { freeConnection: true }), insert('40-80'))).toEqual({ action: 'send', modes: ['no-wait'] })
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

describe('catchUp: declared rows taken lazily, in canonical order', () => {
  const declared = () => new LockSet().addKeys('-40', 'accounts', [1]).addKeys('80-c0', 'accounts', [5]).addKeys('c0-', 'accounts', [7, 8])
  const write = (byShard: Record<string, number[]>, exclusive = true) => ({ ...accounts(byShard), exclusive })

  it('takes everything pending below the statement first, and folds the row the statement itself locks', () => {
    const pending = declared()
    const take = catchUp(pending, write({ '80-c0': [5] }), rank)
    expect(take.hasShard('80-c0')).toBe(false) // folded: the statement takes its own row
    expect(take.shardsInOrder(rank)).toEqual(['-40'])
    expect(take.keysInOrder('-40', 'accounts')).toEqual([1])
    expect(pending.shardsInOrder(rank)).toEqual(['c0-']) // only above the new top
  })

  it('takes the statement shard too when the statement does not lock exactly its one pending row', () => {
    expect(catchUp(declared(), write({ '80-c0': [6] }), rank).shardsInOrder(rank)).toEqual(['-40', '80-c0'])
    expect(catchUp(declared(), write({ '80-c0': [5] }, false), rank).hasShard('80-c0')).toBe(true) // an insert or shared lock does not take the row
    expect(catchUp(declared(), write({ 'c0-': [7, 8] }), rank).hasShard('c0-')).toBe(true) // two rows: the SELECT keeps them sorted
    expect(catchUp(declared(), { ...write({ '80-c0': [5] }), table: 'ledger' }, rank).hasShard('80-c0')).toBe(true)
  })

  it('takes nothing for a statement at the bottom with no pending row of its own, and nothing once the set is empty', () => {
    const pending = new LockSet().addKeys('c0-', 'accounts', [7])
    expect(catchUp(pending, write({ '-40': [1] }), rank).isEmpty).toBe(true)
    expect(pending.hasShard('c0-')).toBe(true)
    expect(catchUp(new LockSet(), write({ 'c0-': [7] }), rank).isEmpty).toBe(true)
  })

  it('a read takes pending rows up to the highest shard it reads that has some; raw SQL that may write steps up to its shard', () => {
    const read = catchUpForAccess(declared(), ['80-c0'], rank, false)
    expect(read.shardsInOrder(rank)).toEqual(['-40', '80-c0'])
    expect(catchUpForAccess(declared(), ['40-80'], rank, false).isEmpty).toBe(true) // nothing pending there
    expect(catchUpForAccess(declared(), ['40-80'], rank, true).shardsInOrder(rank)).toEqual(['-40'])
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
