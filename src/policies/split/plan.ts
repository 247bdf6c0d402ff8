/**
 * A split plan: what one `crossShard: 'split'` transaction will do, as one part per shard, each
 * part a list of statements (SQL + bindings) that run as one transaction on that shard. This is
 * the unit the intent log stores and recovery replays.
 */
import crypto from 'node:crypto'
import { decodeBindings, type EncodedBinding } from './binding-codec.js'
import type { SplitPartDescription } from './errors.js'

export interface PlannedStatement {
  sql: string
  bindings: EncodedBinding[]
}

export interface PlanPart {
  shard: string
  statements: PlannedStatement[]
}

export interface SplitPlan {
  planId: string
  /** Parts in canonical shard order; `parts[i]` is part number i. */
  parts: PlanPart[]
  /** Run parts concurrently instead of one after another. */
  parallel: boolean
  /** SHA-256 (hex) of the caller's idempotency key; the key itself is never stored. */
  idempotencyKeyHash: string | undefined
  transactionId: string | undefined
  /** `file:line:column` of the `db.transaction()` call, for operators reading the table. */
  origin: string | undefined
}

/** Version of the stored JSON; recovery refuses versions it does not know instead of guessing. */
const FORMAT_VERSION = 1

/**
 * Time-ordered plan ids (12 hex digits of milliseconds, 20 random): InnoDB appends new plans at
 * the end of the primary key instead of splitting pages at random, and recovery pages through
 * pending plans by id in roughly creation order.
 */
export function newPlanId(now = Date.now()): string {
  return now.toString(16).padStart(12, '0') + crypto.randomBytes(10).toString('hex')
}

export function hashIdempotencyKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex')
}

/** The stored form of a plan's parts; also what its digest is computed over. */
export function serializeParts(parts: readonly PlanPart[]): string {
  return JSON.stringify({ v: FORMAT_VERSION, parts })
}

export function parseParts(text: string): PlanPart[] {
  const parsed = JSON.parse(text) as { v?: unknown; parts?: unknown }
  if (parsed.v !== FORMAT_VERSION || !Array.isArray(parsed.parts)) {
    throw new Error(`shardtx: intent log plan format ${JSON.stringify(parsed.v)} is not supported by this version (expected ${FORMAT_VERSION})`)
  }
  return parsed.parts as PlanPart[]
}

export function digestOf(serialized: string): string {
  return crypto.createHash('sha256').update(serialized, 'utf8').digest('hex')
}

/** Parts as hooks and errors show them, with decoded bindings. */
export function describeParts(parts: readonly PlanPart[]): SplitPartDescription[] {
  return parts.map((part, partNo) => ({
    partNo,
    shard: part.shard,
    statements: part.statements.map((s) => ({ sql: s.sql, bindings: decodeBindings(s.bindings) })),
  }))
}
