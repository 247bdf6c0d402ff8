/**
 * Vitess keyranges: the names of shards in a hash- or xxhash-sharded keyspace.
 *
 * A keyrange is written `hex(start)-hex(end)` (`-80`, `80-`, `40-80`) and stands for the
 * half-open interval [start, end) of keyspace ids, compared byte by byte like strings. An empty
 * side is open. We follow Vitess's `go/vt/key` package so that a shard map moves to or from
 * Vitess unchanged, including its quirks:
 * - `0` (the conventional name of an unsharded keyspace's only shard) and `-` both mean the
 *   whole range;
 * - trailing zero bytes are insignificant (`-80` = `00-80` = `0000-8000`), because Vitess
 *   compares keyranges as if both sides were padded with zeros to the same length.
 *
 * @module
 */
import { describeValue, quoteName } from '../shared/describe-value.js'

/** A parsed keyrange. Bounds are normalized: trailing zero bytes removed. */
export interface KeyRange {
  /** The name as written in the configuration (not normalized). */
  readonly name: string
  /** Inclusive lower bound. Empty = the start of the space. */
  readonly start: Buffer
  /**
   * Exclusive upper bound, or `null` when the range is open to the end of the space. An empty
   * Buffer is a real bound (zero) and makes the range empty; it is not the same as `null`.
   */
  readonly end: Buffer | null
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/

/**
 * Strips trailing zero bytes. Once stripped, plain lexicographic comparison (`Buffer.compare`)
 * agrees with Vitess's "pad both sides with zeros" comparison: a prefix sorts first exactly when
 * the longer value has a non-zero byte after it.
 */
function normalize(bytes: Buffer): Buffer {
  let len = bytes.length
  while (len > 0 && bytes[len - 1] === 0) len--
  return len === bytes.length ? bytes : bytes.subarray(0, len)
}

/**
 * Parses a keyrange name, or returns `undefined` when it is not one. Does not check that
 * start < end (see {@link keyRangeIsEmpty}); callers that validate configuration report that
 * separately, with a better message than "not a keyrange".
 *
 * @example
 * ```ts
 * tryParseKeyRange('40-80') // { name: '40-80', start: <40>, end: <80> }
 * tryParseKeyRange('abc')   // undefined
 * ```
 */
export function tryParseKeyRange(name: string): KeyRange | undefined {
  if (typeof name !== 'string') return undefined
  // Vitess names an unsharded keyspace's single shard `0`; it covers everything.
  if (name === '0' || name === '-') return { name, start: Buffer.alloc(0), end: null }
  const dash = name.indexOf('-')
  if (dash === -1 || name.indexOf('-', dash + 1) !== -1) return undefined
  const startHex = name.slice(0, dash)
  const endHex = name.slice(dash + 1)
  if (!HEX.test(startHex) || !HEX.test(endHex)) return undefined
  return {
    name,
    start: normalize(Buffer.from(startHex, 'hex')),
    end: endHex === '' ? null : normalize(Buffer.from(endHex, 'hex')),
  }
}

/**
 * Parses a keyrange name such as `-80`, `80-`, `40-80`, `0` or `-`.
 *
 * @throws TypeError when `name` is not a keyrange (odd-length or non-hex sides, no dash, several dashes).
 * @example
 * ```ts
 * const r = parseKeyRange('-80')
 * keyRangeContains(r, Buffer.from('166b40b44aba4bd6', 'hex')) // true
 * ```
 */
export function parseKeyRange(name: string): KeyRange {
  const range = tryParseKeyRange(name)
  if (range === undefined) {
    throw new TypeError(
      `Expected a Vitess keyrange name such as '-80', '80-', '40-80' or '0' (even-length hex on each side of one dash), got ${describeName(name)}`,
    )
  }
  return range
}

/**
 * True when `id` lies in [start, end). `id` need not be normalized: a trailing-zero-padded id
 * equal to a bound sorts after it lexicographically, which is exactly "equal to start is inside,
 * equal to end is outside".
 *
 * @example
 * ```ts
 * keyRangeContains(parseKeyRange('80-'), Buffer.from('8000000000000000', 'hex')) // true
 * keyRangeContains(parseKeyRange('-80'), Buffer.from('8000000000000000', 'hex')) // false
 * ```
 */
export function keyRangeContains(range: KeyRange, id: Uint8Array): boolean {
  return Buffer.compare(id, range.start) >= 0 && (range.end === null || Buffer.compare(id, range.end) < 0)
}

/**
 * True when the range contains nothing (start >= end). Vitess refuses such shard names
 * ("out of order" keyranges).
 *
 * @example
 * ```ts
 * keyRangeIsEmpty(parseKeyRange('80-40')) // true
 * keyRangeIsEmpty(parseKeyRange('40-80')) // false
 * ```
 */
export function keyRangeIsEmpty(range: KeyRange): boolean {
  return range.end !== null && Buffer.compare(range.start, range.end) >= 0
}

/**
 * Orders keyranges by start, then by end (open end last): the canonical shard order Vitess uses
 * and the order in which shardtx commits and locks.
 *
 * @example
 * ```ts
 * ['80-', '-80'].map(parseKeyRange).sort(compareKeyRanges).map((r) => r.name) // ['-80', '80-']
 * ```
 */
export function compareKeyRanges(a: KeyRange, b: KeyRange): number {
  const byStart = Buffer.compare(a.start, b.start)
  if (byStart !== 0) return byStart
  if (a.end === null) return b.end === null ? 0 : 1
  if (b.end === null) return -1
  return Buffer.compare(a.end, b.end)
}

/**
 * True when both names denote the same interval, ignoring trailing zero bytes and hex case.
 *
 * @example
 * ```ts
 * keyRangeEquals(parseKeyRange('-80'), parseKeyRange('0000-8000')) // true
 * ```
 */
export function keyRangeEquals(a: KeyRange, b: KeyRange): boolean {
  return compareKeyRanges(a, b) === 0
}

/**
 * The shortest lower-case name of a range (`0000-8000` -> `-80`; the whole range -> `-`).
 *
 * @example
 * ```ts
 * formatKeyRange(parseKeyRange('00-C000')) // '-c0'
 * ```
 */
export function formatKeyRange(range: KeyRange): string {
  return `${range.start.toString('hex')}-${range.end === null ? '' : range.end.toString('hex')}`
}

/** Why a set of keyranges does not tile the keyspace, for {@link findCoverProblem}. */
export type CoverProblem =
  | { kind: 'empty-set' }
  | { kind: 'empty-range'; range: KeyRange }
  | { kind: 'duplicate'; a: KeyRange; b: KeyRange }
  | { kind: 'overlap'; a: KeyRange; b: KeyRange }
  | { kind: 'gap'; after: KeyRange | undefined; before: KeyRange | undefined; from: string; to: string }

/**
 * Checks that `ranges` cover the whole keyspace exactly once: no empty range, no duplicate, no
 * overlap, no gap. Returns the ranges sorted canonically, or the first problem found. Vitess
 * itself tolerates gaps while resharding; a routing table that must place every key cannot.
 *
 * @example
 * ```ts
 * findCoverProblem(['-80', '80-'].map(parseKeyRange))   // { sorted: [...] }
 * findCoverProblem(['-40', '80-'].map(parseKeyRange))   // { problem: { kind: 'gap', from: '40', to: '80', ... } }
 * ```
 */
export function findCoverProblem(ranges: readonly KeyRange[]): { sorted: KeyRange[]; problem?: undefined } | { problem: CoverProblem; sorted?: undefined } {
  if (ranges.length === 0) return { problem: { kind: 'empty-set' } }
  for (const range of ranges) {
    if (keyRangeIsEmpty(range)) return { problem: { kind: 'empty-range', range } }
  }
  const sorted = [...ranges].sort(compareKeyRanges)
  const first = sorted[0]!
  if (first.start.length !== 0) {
    return { problem: { kind: 'gap', after: undefined, before: first, from: '', to: first.start.toString('hex') } }
  }
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!
    const cur = sorted[i]!
    if (keyRangeEquals(prev, cur)) return { problem: { kind: 'duplicate', a: prev, b: cur } }
    // prev.end === null means prev runs to the end of the space, so anything after it overlaps.
    const cmp = prev.end === null ? 1 : Buffer.compare(prev.end, cur.start)
    if (cmp > 0) return { problem: { kind: 'overlap', a: prev, b: cur } }
    if (cmp < 0) {
      return { problem: { kind: 'gap', after: prev, before: cur, from: prev.end!.toString('hex'), to: cur.start.toString('hex') } }
    }
  }
  const last = sorted[sorted.length - 1]!
  if (last.end !== null) {
    return { problem: { kind: 'gap', after: last, before: undefined, from: last.end.toString('hex'), to: '' } }
  }
  return { sorted }
}

function describeName(name: unknown): string {
  return typeof name === 'string' ? quoteName(name) : describeValue(name)
}
