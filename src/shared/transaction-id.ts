import { randomBytes } from 'node:crypto'

/**
 * Identifies this process among all processes using the same shards. Transaction ids embed it so
 * ids from two processes never collide, which the cross-process deadlock detector relies on.
 */
export const PROCESS_TAG = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`

let counter = 0

/**
 * `tx-<process tag>-<sequence>`: unique across processes, cheap (no randomness per call), and
 * totally ordered by string comparison, which the deadlock victim rule uses to break ties.
 */
export function nextTransactionId(): string {
  counter = counter >= Number.MAX_SAFE_INTEGER ? 1 : counter + 1
  return `tx-${PROCESS_TAG}-${counter.toString(36).padStart(8, '0')}`
}
