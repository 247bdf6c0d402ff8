import type * as ESTree from 'estree'
import { sameKey } from './key-expression.js'
import type { Placement } from './write-detector.js'

/** One shard-placement fact about one write of a transaction. */
export interface Participation {
  table: string
  placement: Placement
  /** Where a finding is reported: the write, or the helper call that leads to it. */
  node: ESTree.Node
  /** The key changes from one pass of an enclosing loop to the next. */
  loopVariant: boolean
  /** Name of the same-file helper the write happens in, if any. */
  via?: string | undefined
}

/** The rule's message ids for transaction findings (allow-comment findings are separate). */
export type ConflictMessageId =
  'crossShard' | 'sameTableKeys' | 'pinnedAndSharded' | 'pinnedConflict' | 'loopWrite' | 'keySet' | 'unknownKey' | 'referenceWrite'

/** What to report, before the rule adds the fix advice and suggestions. */
export interface Conflict {
  node: ESTree.Node
  messageId: ConflictMessageId
  data: Record<string, string>
}

/**
 * Describes a participation for a message: "`accounts` (key `from.id`)",
 * "`countries` (pinned to shard `-80`)", "`ledger` (key `e.account_id`, via `addEntry()`)".
 */
export function describe(p: Participation): string {
  const pl = p.placement
  const what =
    pl.kind === 'reference'
      ? 'a reference table'
      : pl.kind === 'pinned'
        ? `pinned to shard \`${pl.shard}\``
        : pl.kind === 'key'
          ? `key \`${pl.key.display}\``
          : pl.kind === 'set'
            ? `keys in \`${pl.key.display}\``
            : `no \`${pl.column}\` in where()/insert()`
  return `\`${p.table}\` (${what}${p.via ? `, via \`${p.via}()\`` : ''})`
}

/**
 * Decides which writes of one transaction can't be proved to share a shard. At most one finding
 * per node, at the later write of a conflicting pair. In priority order: a loop whose key
 * varies, a `whereIn` over a collection, a key the code doesn't show (only when the transaction
 * has another write to compare with), then pairwise comparison with every earlier write.
 *
 * @param parts Participations in source order, allowed ones already removed.
 * @example
 * ```ts
 * findConflicts([accountsFrom, ledgerEntry]) // [{ messageId: 'crossShard', node: ledgerEntry.node, ... }]
 * ```
 */
export function findConflicts(parts: readonly Participation[]): Conflict[] {
  const conflicts: Conflict[] = []
  const reported = new Set<ESTree.Node>()
  const add = (c: Conflict): void => {
    if (reported.has(c.node)) return
    reported.add(c.node)
    conflicts.push(c)
  }
  for (const p of parts) {
    if (p.placement.kind === 'reference') add(referenceWrite(p))
    else if (p.loopVariant) add({ node: p.node, messageId: 'loopWrite', data: { write: describe(p) } })
    else if (p.placement.kind === 'set') add({ node: p.node, messageId: 'keySet', data: { write: describe(p) } })
    else if (p.placement.kind === 'unknown' && parts.length > 1) {
      add({ node: p.node, messageId: 'unknownKey', data: { write: describe(p), column: p.placement.column, table: p.table } })
    }
  }
  const comparable = parts.filter((p) => p.placement.kind === 'pinned' || p.placement.kind === 'key')
  comparable.forEach((later, i) => {
    for (const earlier of comparable.slice(0, i)) {
      const messageId = conflictBetween(earlier, later)
      if (messageId) {
        add({ node: later.node, messageId, data: { first: describe(earlier), second: describe(later) } })
        return
      }
    }
  })
  return conflicts.sort((a, b) => (a.node.range?.[0] ?? 0) - (b.node.range?.[0] ?? 0))
}

function conflictBetween(a: Participation, b: Participation): ConflictMessageId | undefined {
  const pa = a.placement
  const pb = b.placement
  if (pa.kind === 'pinned' && pb.kind === 'pinned') return pa.shard === pb.shard ? undefined : 'pinnedConflict'
  if (pa.kind === 'pinned' || pb.kind === 'pinned') return 'pinnedAndSharded'
  if (pa.kind !== 'key' || pb.kind !== 'key' || sameKey(pa.key, pb.key)) return undefined
  return a.table === b.table ? 'sameTableKeys' : 'crossShard'
}

/**
 * A write to a reference table: shardtx refuses it inside any transaction (whatever the policy),
 * because its rows are copied on every shard.
 */
export function referenceWrite(p: Participation): Conflict {
  return { node: p.node, messageId: 'referenceWrite', data: { write: describe(p), table: p.table } }
}
