import type { Linter } from 'eslint'

/**
 * Text that must appear in a file for `shardtx/no-cross-shard-write` to report anything in it:
 * every finding sits in an `X.transaction(...)` call or on an allow comment.
 */
const RELEVANT = /transaction|shardtx-allow-cross-shard/

/**
 * Wraps a parser so files that can't produce a finding get an empty program instead of a full
 * parse. Parsing is most of the lint's cost and most files of a project never open a
 * transaction, so `shardtx lint` skips them. Used only by the CLI, which runs this one rule; in a
 * shared ESLint config the other rules need the real AST.
 *
 * @example
 * ```ts
 * languageOptions: { parser: prefilterParser(tsParser) }
 * ```
 */
export function prefilterParser(parser: Linter.Parser): Linter.Parser {
  // ESLint's Parser type is a union of parse()/parseForESLint() shapes; either is delegated to.
  const inner = parser as { parse?: (code: string, options?: unknown) => unknown; parseForESLint?: (code: string, options?: unknown) => unknown }
  const wrapped = {
    meta: { name: 'shardtx-prefilter', version: '1' },
    parseForESLint(code: string, options?: unknown): unknown {
      if (!RELEVANT.test(code)) return { ast: emptyProgram(code) }
      return inner.parseForESLint ? inner.parseForESLint(code, options) : { ast: inner.parse!(code, options) }
    },
  }
  return wrapped as Linter.Parser
}

/** A Program with no statements that still spans the whole text, as ESLint expects. */
function emptyProgram(code: string): object {
  const lines = code.split(/\r\n|[\r\n\u2028\u2029]/)
  const end = { line: lines.length, column: lines.at(-1)!.length }
  return {
    type: 'Program',
    body: [],
    sourceType: 'module',
    tokens: [],
    comments: [],
    range: [0, code.length],
    loc: { start: { line: 1, column: 0 }, end },
  }
}
