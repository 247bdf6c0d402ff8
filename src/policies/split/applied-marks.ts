import { BatchQueue } from './batch-queue.js'
import type { IntentLog } from './intent-log.js'

/** Plan ids waiting to be marked applied; beyond this the oldest are dropped (recovery marks them). */
export const MAX_QUEUED_MARKS = 10_000
/** Ids per UPDATE. */
const BATCH = 500

/**
 * Marks finished plans `applied` in batches: one UPDATE for every plan that finished while the
 * previous UPDATE was in flight, instead of one autocommit per plan. The mark is bookkeeping, not
 * part of the guarantee (every part is already committed with its applied marker), so it can
 * lag: a plan whose mark is lost to a crash, a coordinator outage or the queue bound is found
 * pending by recovery, which sees every part's marker and marks it. Under load this saves one
 * of the three or four commits a two-shard split transaction costs.
 *
 * Memory is bounded by MAX_QUEUED_MARKS whatever the coordinator does.
 */
export class AppliedMarks {
  readonly #queue: BatchQueue<string>

  constructor(log: IntentLog) {
    this.#queue = new BatchQueue({
      maxQueued: MAX_QUEUED_MARKS,
      batchSize: (queue) => Math.min(queue.length, BATCH),
      write: async (batch) => {
        try {
          await log.markAppliedMany(batch)
        } catch {
          // Coordinator unreachable: these plans stay pending; recovery finds their markers and marks them.
        }
      },
    })
  }

  /** Queues `planId`; never throws, never waits. */
  mark(planId: string): void {
    this.#queue.push(planId)
  }

  /** Resolves when every mark queued so far has been written (or failed and been left to recovery). */
  drain(): Promise<void> {
    return this.#queue.drain()
  }
}
