import type { ESLint, Linter } from 'eslint'
import { createRequire } from 'node:module'

/**
 * Every file type the rule checks. One parser reads them all: `@typescript-eslint/parser` picks
 * JavaScript, TypeScript and JSX by extension, so `.js` keeps parsing as JavaScript.
 */
export const LINTED_FILES: readonly string[] = ['**/*.js', '**/*.mjs', '**/*.cjs', '**/*.jsx', '**/*.ts', '**/*.mts', '**/*.cts', '**/*.tsx']

/** The package the recommended config parses with: an optional peer dependency of shardtx. */
export const PARSER_PACKAGE = '@typescript-eslint/parser'

/**
 * Loads `@typescript-eslint/parser` from where shardtx is installed (peer dependencies resolve
 * from there, with npm, pnpm and yarn alike). Synchronous because ESLint reads `configs` from a
 * plain object; the parser is a CommonJS package, so `require` works from both builds.
 *
 * @throws Error saying what to install when the parser is missing.
 */
export function loadTypeScriptParser(): Linter.Parser {
  try {
    const mod = createRequire(import.meta.url)(PARSER_PACKAGE) as Linter.Parser & { default?: Linter.Parser }
    return mod.default ?? mod
  } catch (err) {
    throw new Error(
      `shardtx.configs.recommended parses .ts/.tsx/.js/.mjs/.cjs files with ${PARSER_PACKAGE}, which is not installed ` +
        `(${(err as Error).message.split('\n')[0]}). Install it: npm install --save-dev ${PARSER_PACKAGE}`,
      { cause: err },
    )
  }
}

/**
 * The recommended flat config: `files` covering JavaScript and TypeScript and the parser that
 * reads both. Without `files` ESLint lints only `.js`/`.mjs`/`.cjs`, and without a TypeScript
 * parser a `.ts` file with a type annotation fails to parse: either way a project written in
 * TypeScript would pass the lint silently.
 *
 * @example
 * ```ts
 * const recommended = recommendedConfig(plugin, loadTypeScriptParser)
 * ```
 */
export function recommendedConfig(plugin: ESLint.Plugin, parser: () => Linter.Parser): Linter.Config {
  return {
    name: 'shardtx/recommended',
    files: [...LINTED_FILES],
    languageOptions: { parser: parser() },
    plugins: { shardtx: plugin },
    rules: { 'shardtx/no-cross-shard-write': 'error' },
  }
}
