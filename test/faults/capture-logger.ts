import { inspect } from 'node:util'
import type { ShardtxLogger } from '../../src/index.js'

export interface CapturedLine {
  level: 'error' | 'warn' | 'info' | 'debug'
  obj: Record<string, unknown>
  msg: string | undefined
}

/**
 * A logger that keeps every call, for assertions on structured events and on what text reached
 * the logs (`text()` is everything, objects fully inspected, as a log pipeline would see it).
 *
 * @example
 * ```ts
 * const log = captureLogger()
 * const db = createShardedDb({ ...config, logger: log })
 * expect(log.events('shardtx.shard_down')).toHaveLength(1)
 * expect(log.text()).not.toContain('hunter2')
 * ```
 */
export function captureLogger(): ShardtxLogger & { lines: CapturedLine[]; events(name: string): CapturedLine[]; text(): string } {
  const lines: CapturedLine[] = []
  const at = (level: CapturedLine['level']) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg })
  }
  return {
    lines,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    // Every level, debug included (a logger without isLevelEnabled gets no debug events).
    isLevelEnabled: () => true,
    events: (name) => lines.filter((l) => l.obj.event === name),
    text: () => lines.map((l) => `${l.level} ${inspect(l.obj, { depth: 10 })} ${l.msg ?? ''}`).join('\n'),
  }
}
