import { readFileSync } from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '../..')

/**
 * The README's table of logger events (Observability): event -> the levels it is documented at.
 * Tests compare what shardtx logs against it, so the table says how things are.
 *
 * @example
 * ```ts
 * documentedLogLevels().get('shardtx.shard_up') // Set { 'info' }
 * ```
 */
export function documentedLogLevels(): Map<string, Set<string>> {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
  const levels = new Map<string, Set<string>>()
  for (const match of readme.matchAll(/^\s*\| `(shardtx\.[a-z_]+)` \| (error|warn|info|debug) \|/gm)) {
    const [, event, level] = match as unknown as [string, string, string]
    if (!levels.has(event)) levels.set(event, new Set())
    levels.get(event)!.add(level)
  }
  return levels
}
