import type { SourceCode } from 'eslint'
import type * as ESTree from 'estree'
import { enclosingStatement } from './ast-utils.js'

/** The escape hatch, as written in code: `// shardtx-allow-cross-shard: <reason>`. */
export const ALLOW_MARKER = 'shardtx-allow-cross-shard'

// The marker must start the comment and not be a prefix of a longer word.
const MARKER_RE = new RegExp(`^${ALLOW_MARKER}(?![\\w-])`)

interface AllowComment {
  comment: ESTree.Comment
  /** The comment is alone on its line, so it applies to the statement below it. */
  ownLine: boolean
  /** Lines the comment covers. */
  startLine: number
  endLine: number
}

/**
 * Index of the allow comments in one file. Like GitLab's escape hatch, an allow needs a reason
 * (ideally a ticket link) so the exception can be reviewed; one without a reason allows nothing
 * and is reported itself.
 *
 * @example
 * ```ts
 * const allows = new AllowComments(context.sourceCode)
 * for (const c of allows.missingReason) context.report({ loc: c.loc!, messageId: 'allowNeedsReason' })
 * if (allows.allowsNode(writeNode)) return
 * ```
 */
export class AllowComments {
  /** Allow comments without a reason, to be reported. */
  readonly missingReason: ESTree.Comment[] = []
  private readonly withReason: AllowComment[] = []

  constructor(private readonly sourceCode: SourceCode) {
    for (const comment of sourceCode.getAllComments()) {
      const text = comment.value.replace(/^[\s*]+/, '')
      if (!MARKER_RE.test(text)) continue
      const reason = text
        .slice(ALLOW_MARKER.length)
        .replace(/^[\s:\-–—]+/, '')
        .trim()
      if (reason === '') {
        this.missingReason.push(comment)
        continue
      }
      const start = comment.loc!.start
      const before = sourceCode.lines[start.line - 1]!.slice(0, start.column)
      this.withReason.push({ comment, ownLine: before.trim() === '', startLine: start.line, endLine: comment.loc!.end.line })
    }
  }

  /**
   * True when a reasoned allow comment is on one of the node's lines, or alone on the line(s)
   * just above the statement containing it.
   */
  allowsNode(node: ESTree.Node): boolean {
    if (this.withReason.length === 0) return false
    const first = node.loc!.start.line
    const last = node.loc!.end.line
    return this.onLines(first, last) || this.above(enclosingStatement(node))
  }

  /** True when an allow comment is on the statement's first line or alone just above it (whole-transaction allow). */
  allowsStatementStart(node: ESTree.Node): boolean {
    if (this.withReason.length === 0) return false
    const statement = enclosingStatement(node)
    const line = statement.loc!.start.line
    return this.onLines(line, line) || this.above(statement)
  }

  private onLines(first: number, last: number): boolean {
    return this.withReason.some((a) => a.startLine <= last && a.endLine >= first)
  }

  private above(statement: ESTree.Node): boolean {
    const before = new Set(this.sourceCode.getCommentsBefore(statement))
    return this.withReason.some((a) => a.ownLine && before.has(a.comment))
  }
}
