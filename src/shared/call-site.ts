import path from 'node:path'
import type { CodeLocation } from './errors.js'

/**
 * Where application code called into shardtx, captured cheaply and resolved only when needed.
 *
 * `Error.captureStackTrace` records frames without formatting them; V8 formats `.stack` lazily on
 * first access. So capturing on every `db.transaction()` and `tx(table)` costs about a microsecond,
 * and the string work happens only when an error or a warning actually needs the location.
 * Capturing at `tx(table)` matters: by the time knex calls `then`, the user's frame is gone
 * (thenables are resolved from a microtask).
 */

export class CallSite {
  readonly #holder: { stack?: string }
  #resolved: CodeLocation | undefined | null = null

  /**
   * @param frames how many frames above `boundary` to keep: 1 for `tx(table)` (always called by
   *   application code), a few for `db.transaction` (applications wrap it in helpers). Fewer
   *   frames stop V8 before it walks async frames; capture was shardtx's largest CPU cost in
   *   bench/overhead's profile.
   */
  constructor(boundary: (...args: never[]) => unknown, frames = 3) {
    this.#holder = {}
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = frames
    Error.captureStackTrace(this.#holder, boundary)
    Error.stackTraceLimit = limit
  }

  /** The first frame outside shardtx, knex and node internals; `undefined` if there is none. */
  get location(): CodeLocation | undefined {
    if (this.#resolved === null) this.#resolved = firstUserFrame(this.#holder.stack ?? '')
    return this.#resolved
  }

  /**
   * The application frames above {@link location}, nearest first, as far as the capture reached
   * (`frames`): who called the function that holds the call. When that function is a helper
   * wrapping `db.transaction`, these are its callers (`shardtx report --helper`).
   */
  get callers(): CodeLocation[] {
    return userFrames(this.#holder.stack ?? '').slice(1)
  }
}

const FRAME = /^\s*at (?:(.*?) \()?(?:file:\/\/)?(.+?):(\d+):(\d+)\)?$/

/**
 * The directory holding shardtx's own code: `src/` when run from source (this file is in
 * `src/shared/`), `dist/` when bundled.
 * Read from a stack frame rather than `import.meta.url`, which the CommonJS build does not have.
 */
function ownDirectory(): string {
  const holder: { stack?: string } = {}
  Error.captureStackTrace(holder, ownDirectory)
  const frame = (holder.stack ?? '')
    .split('\n')
    .map((line) => FRAME.exec(line))
    .find((m) => m !== null)
  const dir = frame ? path.dirname(decodeURIComponent(frame[2]!)) : ''
  return path.basename(dir) === 'shared' ? path.dirname(dir) : dir
}

// Frames from these places are plumbing, never the line a user wants to see.
const OWN_DIR = ownDirectory()
const PLUMBING = [OWN_DIR + path.sep, `${path.sep}node_modules${path.sep}knex${path.sep}`, 'node:internal', 'node:async_hooks']

/** Parses V8 stack lines (`at fn (file:line:col)` or `at file:line:col`). */
export function firstUserFrame(stack: string): CodeLocation | undefined {
  return userFrames(stack, 1)[0]
}

/** Every frame outside shardtx, knex and node internals, innermost first (at most `limit`). */
function userFrames(stack: string, limit = Infinity): CodeLocation[] {
  const frames: CodeLocation[] = []
  for (const line of stack.split('\n')) {
    if (frames.length >= limit) break
    const m = FRAME.exec(line)
    if (!m) continue
    const file = m[2]!
    if (PLUMBING.some((p) => file.includes(p))) continue
    const loc: CodeLocation = { file: relativeToCwd(file), line: Number(m[3]), column: Number(m[4]) }
    const fn = m[1]?.replace(/^async /, '')
    if (fn) loc.functionName = fn
    frames.push(loc)
  }
  return frames
}

function relativeToCwd(file: string): string {
  const rel = path.relative(process.cwd(), file)
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel
}
