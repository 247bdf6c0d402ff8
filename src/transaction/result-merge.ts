/**
 * Combines per-shard results of one statement into the value knex would have returned.
 * Only shapes that concatenate correctly reach here: the router refuses cross-shard reads with
 * ORDER BY, LIMIT, aggregates and the like.
 */
export function mergeResults(method: string, results: unknown[]): unknown {
  switch (method) {
    case 'first':
      return results.find((r) => r !== undefined)
    case 'update':
    case 'del':
      return results.reduce<number>((sum, r) => sum + (typeof r === 'number' ? r : 0), 0)
    default:
      // select and pluck return arrays; a multi-shard insert returns each shard's insert ids in canonical order
      return results.flatMap((r) => (Array.isArray(r) ? r : [r]))
  }
}

/** What knex returns for a statement that provably matches no row (`whereIn(key, [])`). */
export function emptyResult(method: string): unknown {
  if (method === 'first') return undefined
  if (method === 'update' || method === 'del') return 0
  return []
}
