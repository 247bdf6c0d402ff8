import { BatchQueue } from './batch-queue.js'
import { errnoOf } from './failure-kind.js'
import type { IntentLog, NewPlanRow } from './intent-log.js'

/** Plans per INSERT. */
const MAX_PLANS_PER_INSERT = 64
/**
 * Plan text per INSERT, far below MariaDB's and MySQL's default `max_allowed_packet` (16 MiB and
 * more). A plan larger than this (up to `split.maxPlanBytes`) is stored alone, as before batching.
 */
const MAX_BYTES_PER_INSERT = 1024 * 1024

interface Waiting {
  row: NewPlanRow
  resolve(outcome: 'inserted' | 'duplicate'): void
  reject(err: unknown): void
}

/**
 * Stores accepted plans in the intent log with one INSERT for every plan that arrived while the
 * previous INSERT was in flight, instead of one autocommit per plan (group commit through
 * BatchQueue, as AppliedMarks does for the applied status). A lone plan is sent at once; under load each plan
 * waits at most for the INSERT ahead of it.
 *
 * Each caller gets its own plan's answer, exactly as if it had been inserted alone:
 * - the INSERT succeeded: every plan in it is stored (`inserted`);
 * - the server refused it (an error number, e.g. a duplicate idempotency key): no row of it was
 *   stored (one statement is atomic), so each plan is inserted again on its own and gets its
 *   own `inserted`, `duplicate` or error;
 * - no answer (connection lost, shard down, timeout): the rows are stored all or none, unknown
 *   which; each caller gets the error and looks its plan up by id (SplitCoordinator's `#store`).
 *
 * The queue holds one entry per transaction that is waiting for its plan to be stored, so it is
 * bounded by the callers themselves, not by a setting.
 */
export class PlanInserts {
  readonly #log: IntentLog
  readonly #queue: BatchQueue<Waiting>

  constructor(log: IntentLog) {
    this.#log = log
    this.#queue = new BatchQueue({ batchSize, write: (batch) => this.#write(batch) })
  }

  /** Stores `row` as pending; resolves once the row is durable. */
  insert(row: NewPlanRow): Promise<'inserted' | 'duplicate'> {
    return new Promise((resolve, reject) => this.#queue.push({ row, resolve, reject }))
  }

  async #write(batch: Waiting[]): Promise<void> {
    if (batch.length > 1) {
      try {
        await this.#log.insertMany(batch.map((w) => w.row))
        for (const w of batch) w.resolve('inserted')
        return
      } catch (err) {
        if (errnoOf(err) === undefined) {
          batch.forEach((w, i) => w.reject(i === 0 ? err : copyOf(err)))
          return
        }
        // Refused by the server: nothing stored. Each plan alone, below.
      }
    }
    await Promise.all(batch.map((w) => this.#log.insert(w.row).then(w.resolve, w.reject)))
  }
}

/** The next batch: at least one plan, then as many as fit both bounds. */
function batchSize(queue: readonly Waiting[]): number {
  let bytes = Buffer.byteLength(queue[0]!.row.serialized)
  let n = 1
  while (n < queue.length && n < MAX_PLANS_PER_INSERT) {
    bytes += Buffer.byteLength(queue[n]!.row.serialized)
    if (bytes > MAX_BYTES_PER_INSERT) break
    n++
  }
  return n
}

/**
 * The same error for another caller: each transaction gets an object of its own, so what one
 * caller adds to its error (a request id, say) does not show up in another's.
 */
function copyOf(err: unknown): unknown {
  if (!(err instanceof Error)) return err
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error
  for (const key of Reflect.ownKeys(err)) Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(err, key)!)
  return copy
}
