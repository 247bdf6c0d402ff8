import type { TableConfig } from './options.js'

/**
 * The key space of every sharded table: the table its chain of `colocatedWith` ends at (Vitess:
 * tables of one keyspace that share a vindex). Two sharded tables with the same key space hold
 * the same key values on the same shard. Shared by the runtime (config/tables.ts) and the lint
 * rule (eslint/config-loader.ts), so both read one declaration the same way.
 *
 * @param problem Called with the table and what is wrong (an unknown, unsharded or circular
 *   `colocatedWith`); must throw, in the caller's error style.
 * @example
 * ```ts
 * resolveKeySpaces({ customers: { shardKey: 'id' }, orders: { shardKey: 'customer_id', colocatedWith: 'customers' } }, fail)
 * // Map { 'customers' => 'customers', 'orders' => 'customers' }
 * ```
 */
export function resolveKeySpaces(tables: Readonly<Record<string, TableConfig>>, problem: (table: string, message: string) => never): Map<string, string> {
  const spaces = new Map<string, string>()
  for (const name of Object.keys(tables)) {
    if (!('shardKey' in tables[name]!)) continue
    const chain: string[] = []
    let current = name
    for (;;) {
      const known = spaces.get(current)
      if (known !== undefined) {
        for (const t of chain) spaces.set(t, known)
        break
      }
      if (chain.includes(current))
        problem(name, `its colocatedWith chain loops (${[...chain, current].join(' -> ')}); one table of the chain must have no colocatedWith`)
      chain.push(current)
      const config = tables[current] as { colocatedWith?: unknown }
      const next = config.colocatedWith
      if (next === undefined) {
        for (const t of chain) spaces.set(t, current)
        break
      }
      if (typeof next !== 'string' || !Object.hasOwn(tables, next)) {
        problem(
          current,
          `colocatedWith must name another table of \`tables\`, got ${typeof next === 'string' ? `'${next}', which is not listed` : typeof next}`,
        )
      }
      if (!('shardKey' in tables[next]!)) {
        problem(
          current,
          `colocatedWith must name a sharded table (one with a shardKey), but '${next}' is ${'reference' in tables[next]! ? 'a reference table' : 'pinned to one shard'}`,
        )
      }
      current = next
    }
  }
  return spaces
}
