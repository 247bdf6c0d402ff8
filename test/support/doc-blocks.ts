import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

export const root = path.resolve(import.meta.dirname, '../..')

/** One fenced code block of a markdown file. */
export interface DocBlock {
  /** Relative to the repository root, with `/`. */
  file: string
  /** 1-based line of the opening fence. */
  line: number
  /** The info string's first word, lower case (`ts`, `sh`, `json`); '' when there is none. */
  lang: string
  /** The block's text, the fence's indentation removed, ending with a newline. */
  code: string
  /** Set when `<!-- not-checked: reason -->` stands on the line before the fence (blank lines allowed). */
  notChecked?: string
}

/**
 * The markdown files a user reads: README.md, everything in docs/, and the other files the
 * README links to that ship in the package. New docs/*.md files are picked up by themselves.
 */
export function docFiles(): string[] {
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`)
  return ['README.md', ...docs, 'src/deadlock/README.md', 'bench/RESULTS.md'].filter((f) => existsSync(path.join(root, f)))
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/
const NOT_CHECKED = /^\s*<!--\s*not-checked:\s*(.*?)\s*-->\s*$/

/**
 * Every fenced block of `file`. Fences may be indented (inside list items); the closing fence is
 * the first line with at least as many of the same fence characters.
 *
 * @example
 * ```ts
 * for (const block of docBlocks('README.md')) if (block.lang === 'ts') check(block.code)
 * ```
 */
export function docBlocks(file: string): DocBlock[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n')
  const blocks: DocBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!)
    if (!open) continue
    const [, indent, fence, lang] = open as unknown as [string, string, string, string]
    const end = lines.findIndex((l, j) => j > i && l.trim().startsWith(fence[0]!.repeat(fence.length)) && l.trim().replace(/[`~]/g, '') === '')
    if (end < 0) throw new Error(`${file}:${i + 1}: a code fence that is never closed`)
    const code = lines
      .slice(i + 1, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()))
      .join('\n')
    const block: DocBlock = { file, line: i + 1, lang: lang.toLowerCase(), code: `${code}\n` }
    let before = i - 1
    while (before >= 0 && lines[before]!.trim() === '') before--
    const marker = before >= 0 ? NOT_CHECKED.exec(lines[before]!) : null
    if (marker) block.notChecked = marker[1]!
    blocks.push(block)
    i = end
  }
  return blocks
}

/** Relative links (`[text](path)`) of a markdown file, as written, with their line. */
export function docLinks(file: string): { line: number; target: string }[] {
  const links: { line: number; target: string }[] = []
  readFileSync(path.join(root, file), 'utf8')
    .split('\n')
    .forEach((text, i) => {
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue
        links.push({ line: i + 1, target })
      }
    })
  return links
}
