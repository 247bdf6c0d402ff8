/**
 * The shard map: which shard holds a key, and the canonical order of shards (the order in which
 * shardtx commits and locks, so that two transactions never wait on each other in opposite
 * orders).
 *
 * @module
 */
import type { RouterFunction, ShardKey } from '../config/options.js'
import { describeValue, quoteName } from '../shared/describe-value.js'
import { findCoverProblem, tryParseKeyRange, type CoverProblem, type KeyRange } from './keyrange.js'
import { createVindex } from './vindex.js'

/** Routes keys to shards and knows the canonical shard order. */
export interface ShardMap {
  /** Shard names in canonical order: keyrange order (by start) for hash/xxhash; declaration order for a custom router. */
  readonly order: readonly string[]
  /** Position of a shard in canonical order; -1 if unknown. O(1). */
  rank(shard: string): number
  has(shard: string): boolean
  /** `shards` without duplicates, sorted into canonical order: the one sort every caller uses. */
  canonicalOrder(shards: Iterable<string>): string[]
  /** The shard holding `key` of `table`. */
  shardForKey(table: string, key: ShardKey): string
}

/**
 * Builds the shard map for the configured shard names and router, validating both.
 *
 * With `'hash'` or `'xxhash'`, shard names must be Vitess keyranges that tile the keyspace
 * exactly (no gap, no overlap, no duplicate), because a key whose keyspace id falls in a gap
 * would have nowhere to go and one in an overlap would be written to two places over time.
 * With a function, names are free-form and the function's answer is checked on every call.
 *
 * @throws TypeError naming `shards` or `router`, the offending value, and what was expected.
 * @example
 * ```ts
 * const map = createShardMap(['80-', '-80'], 'hash')
 * map.order                          // ['-80', '80-']
 * map.shardForKey('accounts', 4)     // '80-'
 *
 * const byRegion = createShardMap(['eu', 'us'], (_table, key) => (String(key).startsWith('eu') ? 'eu' : 'us'))
 * byRegion.shardForKey('users', 'eu-42') // 'eu'
 * ```
 */
export function createShardMap(shardNames: readonly string[], router: 'hash' | 'xxhash' | RouterFunction): ShardMap {
  if (router !== 'hash' && router !== 'xxhash' && typeof router !== 'function') {
    throw new TypeError(`Expected \`router\` to be 'hash', 'xxhash', or a function (table, key) => shardName, got ${describeValue(router)}`)
  }
  if (!Array.isArray(shardNames)) {
    throw new TypeError(`Expected \`shards\` to be an object mapping shard names to connections, got ${describeValue(shardNames)}`)
  }
  if (shardNames.length === 0) {
    throw new TypeError(
      `Expected \`shards\` to name at least one shard, got none. ` +
        (typeof router === 'function' ? `Add the shards your \`router\` returns.` : `For a single shard use { '0': <connection> }.`),
    )
  }
  const seen = new Set<string>()
  for (const name of shardNames as readonly unknown[]) {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`Expected \`shards\` keys to be non-empty strings, got ${describeValue(name)}`)
    }
    if (seen.has(name)) throw new TypeError(`Expected \`shards\` to name each shard once, got ${quoteName(name)} twice`)
    seen.add(name)
  }
  return typeof router === 'function' ? customShardMap(shardNames, router) : keyrangeShardMap(shardNames, router)
}

function rankIndex(order: readonly string[]): Map<string, number> {
  return new Map(order.map((name, i) => [name, i]))
}

/** The members every shard map shares: rank, membership and the one canonical sort. */
function orderMembers(order: readonly string[]): Pick<ShardMap, 'order' | 'rank' | 'has' | 'canonicalOrder'> {
  const ranks = rankIndex(order)
  const rank = (shard: string) => ranks.get(shard) ?? -1
  return {
    order,
    rank,
    has: (shard) => ranks.has(shard),
    canonicalOrder: (shards) => [...new Set(shards)].sort((a, b) => rank(a) - rank(b)),
  }
}

function keyrangeShardMap(shardNames: readonly string[], router: 'hash' | 'xxhash'): ShardMap {
  const ranges: KeyRange[] = []
  for (const name of shardNames) {
    const range = tryParseKeyRange(name)
    if (range === undefined) {
      throw new TypeError(
        `Expected \`shards\` keys to be Vitess keyranges such as '-80' and '80-' when \`router\` is '${router}', got ${quoteName(name)}. ` +
          `A keyrange is 'start-end' in even-length hex with either side empty for open, or '0' for a single shard. ` +
          `Use a custom router function for other shard names.`,
      )
    }
    ranges.push(range)
  }
  const cover = findCoverProblem(ranges)
  if (cover.problem) throw coverError(cover.problem, router)
  const sorted = cover.sorted

  const order: readonly string[] = Object.freeze(sorted.map((r) => r.name))
  const starts = sorted.map((r) => r.start)
  const firstByte = firstByteTable(sorted)
  const vindex = createVindex(router)

  /** Index of the last range whose start <= id. The ranges tile the space, so that range holds id. */
  function search(id: Buffer): number {
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (Buffer.compare(starts[mid]!, id) <= 0) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  return {
    ...orderMembers(order),
    shardForKey(table, key) {
      const id = vindex.keyspaceId(key, table)
      const direct = firstByte[id[0]!]!
      return order[direct >= 0 ? direct : search(id)]!
    },
  }
}

/**
 * For each value of a keyspace id's first byte, the index of the one range that holds every id
 * starting with it, or -1 when a bound inside that byte splits it (names with more than two hex
 * digits). Evenly split maps (at most 256 shards, two hex digits) never need the binary search.
 */
function firstByteTable(sorted: readonly KeyRange[]): Int16Array {
  const table = new Int16Array(256).fill(-1)
  let i = 0
  for (let b = 0; b < 256; b++) {
    const lowest = Buffer.from([b])
    while (i + 1 < sorted.length && Buffer.compare(sorted[i + 1]!.start, lowest) <= 0) i++
    const end = sorted[i]!.end
    if (end === null || (b < 255 && Buffer.compare(end, Buffer.from([b + 1])) >= 0)) table[b] = i
  }
  return table
}

function coverError(problem: CoverProblem, router: 'hash' | 'xxhash'): TypeError {
  const when = `when \`router\` is '${router}'`
  switch (problem.kind) {
    case 'empty-set':
      return new TypeError(`Expected \`shards\` to name at least one shard, got none.`)
    case 'empty-range': {
      const { range } = problem
      return new TypeError(
        `Expected \`shards\` keyranges to have start < end ${when}, got ${quoteName(range.name)}, which holds no keyspace id ` +
          `(start ${hexOrZero(range.start)} is not below end ${hexOrZero(range.end!)}).`,
      )
    }
    case 'duplicate':
      return new TypeError(
        `Expected \`shards\` to hold each keyrange once ${when}, got ${quoteName(problem.a.name)} and ${quoteName(problem.b.name)}, ` +
          `which are the same range (trailing zero bytes do not count in keyranges).`,
      )
    case 'overlap':
      return new TypeError(
        `Expected \`shards\` keyranges not to overlap ${when}, got ${quoteName(problem.a.name)} and ${quoteName(problem.b.name)}, ` +
          `which both hold keyspace ids from ${hexOrZero(problem.b.start)}.`,
      )
    case 'gap': {
      const where =
        problem.after === undefined
          ? `below ${problem.to} (no shard starts at the beginning)`
          : problem.before === undefined
            ? `from ${problem.from} to the end (no shard is open-ended)`
            : `from ${problem.from} to ${problem.to} (between ${quoteName(problem.after.name)} and ${quoteName(problem.before.name)})`
      return new TypeError(
        `Expected \`shards\` keyranges to cover every keyspace id exactly once ${when}, but no shard holds ids ${where}. ` +
          `Add a shard '${problem.from}-${problem.to}' or widen a neighbour.`,
      )
    }
  }
}

function hexOrZero(bytes: Buffer): string {
  return bytes.length === 0 ? '00' : bytes.toString('hex')
}

function customShardMap(shardNames: readonly string[], router: RouterFunction): ShardMap {
  // Declaration order is the only order a custom router gives us; it is stable across processes
  // as long as the configuration is, which is what a lock order needs.
  const order: readonly string[] = Object.freeze([...shardNames])
  const ranks = rankIndex(order)
  return {
    ...orderMembers(order),
    shardForKey(table, key) {
      let shard: unknown
      try {
        shard = router(table, key)
      } catch (cause) {
        // The key is not in the message: it may be a customer identifier. It stays reachable
        // through `cause` if the router put it there.
        const reason = cause instanceof Error ? cause.message : String(cause)
        throw new Error(`The \`router\` function threw for table \`${table}\` (key type ${typeof key}): ${reason}`, { cause })
      }
      if (typeof shard !== 'string' || !ranks.has(shard)) {
        throw new TypeError(
          `Expected \`router\` to return one of the configured shards ${listShards(order)} for table \`${table}\`, ` +
            `got ${typeof shard === 'string' ? quoteName(shard) : describeValue(shard)}`,
        )
      }
      return shard
    },
  }
}

function listShards(order: readonly string[]): string {
  const shown = order.slice(0, 16).map(quoteName).join(',')
  return order.length > 16 ? `[${shown},… (${order.length} in all)]` : `[${shown}]`
}
