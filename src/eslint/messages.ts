/**
 * Message templates of `shardtx/no-cross-shard-write`. Every finding names the tables and key
 * expressions and ends with `{{fix}}`: the three ways out, naming the user's own transaction call.
 */
export const MESSAGES = {
  crossShard: 'Transaction writes to {{first}} and {{second}}, which may live on different shards. {{fix}}',
  sameTableKeys: 'Transaction writes to {{first}} and again to {{second}}: different keys of one sharded table may live on different shards. {{fix}}',
  pinnedAndSharded: "Transaction writes to {{first}} and {{second}}: lint cannot prove the sharded row lives on the pinned table's shard. {{fix}}",
  pinnedConflict: 'Transaction writes to {{first}} and {{second}}, which live on different shards. {{fix}}',
  loopWrite:
    'Write to {{write}} runs in a loop and its key changes on every pass, so this transaction may write to many shards. ' +
    'Run one transaction per key, or {{fixLower}}',
  keySet: 'Write to {{write}} touches every shard those keys live on. Write per key in separate transactions, or {{fixLower}}',
  unknownKey:
    'Cannot tell which shard the write to {{write}} goes to, so lint cannot prove it shares a shard with the ' +
    "transaction's other writes. Filter on the shard key (e.g. .where({ {{column}}: ... })), or {{fixLower}}",
  referenceWrite:
    'Write to {{write}} inside a transaction: its rows are copied on every shard, so shardtx refuses the write under any policy. ' +
    "Change it outside transactions, on every shard: for (const name of db.shardNames) await db.shard(name)('{{table}}')...",
  unknownTable:
    'Table {{table}} is not in the shardtx table configuration ({{known}}), so lint cannot check its writes, and shardtx refuses ' +
    "every statement on it at runtime (UnroutableQueryError). Add it to `tables` ({ shardKey: '<column>' }, { shard: '<shard name>' } or { reference: true }) " +
    'or fix the name. Reported once per file.',
  allowNeedsReason:
    '`// shardtx-allow-cross-shard` needs a reason, e.g. a ticket link: `// shardtx-allow-cross-shard: https://tracker.example/TICKET-123`. ' +
    'Without one it allows nothing.',
  suggestAtomic: "Pass { crossShard: 'atomic' } to {{tx}} (all or nothing across shards: two-phase commit, locks in a fixed order)",
  suggestOrdered: "Pass { crossShard: 'ordered' } to {{tx}} (commits shard by shard in a fixed order)",
  suggestSplit: "Pass { crossShard: 'split' } to {{tx}} (runs one local transaction per shard)",
} as const

/** All message ids of the rule. */
export type MessageId = keyof typeof MESSAGES

/**
 * Why a transaction's `reason` did not make the rule stay quiet, appended to its findings: the
 * rule honours `reason` only next to `crossShard: 'warn'` in the same options object literal.
 */
export const REASON_NOTES = {
  reasonWithoutWarn:
    " Its `reason` is not enough on its own: the rule accepts it only next to crossShard: 'warn' in the same options object " +
    "(under the default 'reject' policy the runtime refuses the transaction whatever the reason).",
  warnWithoutReason: " crossShard: 'warn' needs a non-empty `reason` (a ticket link) for the rule to accept it, as strict mode does at runtime.",
} as const

/**
 * The fix advice appended to every transaction finding, with an optional note from {@link REASON_NOTES}.
 *
 * @example
 * ```ts
 * fixAdvice('db.transaction')
 * // "Keep these writes on one shard key value, pass { crossShard: 'atomic' }, ..."
 * ```
 */
export function fixAdvice(tx: string, note = ''): { fix: string; fixLower: string } {
  const tail =
    `pass { crossShard: 'atomic' }, { crossShard: 'ordered' } or { crossShard: 'split' } to ${tx}, ` +
    "or allow it with { crossShard: 'warn', reason: '<ticket link>' } or `// shardtx-allow-cross-shard: <reason>`." +
    note
  return { fix: `Keep these writes on one shard key value, ${tail}`, fixLower: tail }
}
