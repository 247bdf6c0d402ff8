/** A transaction as the deadlock detector sees it, without a database: for detector unit tests. */
import type { DetectorTransaction } from '../../src/deadlock/transaction-registry.js'

export function fakeTx(id: string, startedAt = 1_000, origin = { file: 'app.ts', line: 1, column: 1 }): DetectorTransaction & { doomed: Error | undefined } {
  const tx = {
    id,
    startedAt,
    origin,
    tables: new Set(['accounts']),
    doomed: undefined as Error | undefined,
    doom(err: Error) {
      tx.doomed ??= err
      return tx.doomed
    },
    facts: () => ({ transactionId: id, shards: ['-80', '80-'], tables: ['accounts'], origin: tx.origin }),
  }
  return tx
}
