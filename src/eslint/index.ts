import type { ESLint, Linter } from 'eslint'
import pkg from '../../package.json' with { type: 'json' }
import { loadTypeScriptParser, recommendedConfig } from './recommended.js'
import { noCrossShardWrite } from './rules/no-cross-shard-write.js'

export type { LintRuleOptions, LintTables } from './config-loader.js'

/** The plugin object's type: ESLint's plugin shape plus the `recommended` config. */
export type ShardtxEslintPlugin = ESLint.Plugin & {
  meta: { name: string; version: string }
  rules: { 'no-cross-shard-write': typeof noCrossShardWrite }
  configs: { recommended: Linter.Config }
}

const plugin = {
  meta: { name: 'shardtx', version: pkg.version },
  rules: { 'no-cross-shard-write': noCrossShardWrite },
  configs: {},
} as ShardtxEslintPlugin

let recommended: Linter.Config | undefined
// A getter, so loading the plugin needs no TypeScript parser: only the recommended config does,
// and a project that configures the rule itself may parse with anything. Built once, so every
// `shardtx.configs.recommended` is the same object (ESLint refuses two different `shardtx` plugins).
Object.defineProperty(plugin.configs, 'recommended', {
  enumerable: true,
  get: () => (recommended ??= recommendedConfig(plugin, loadTypeScriptParser)),
})

/**
 * The shardtx ESLint plugin (flat config, ESLint 9 and 10). Its only export, so `require()` and
 * `import` both return the plugin itself.
 *
 * `configs.recommended` lints `.js .mjs .cjs .jsx .ts .mts .cts .tsx` with `@typescript-eslint/parser`
 * and reads the tables from `shardtx.config.json` (or `.js/.mjs/.cjs`) in the directory ESLint runs in.
 *
 * @example
 * ```js
 * // eslint.config.js
 * import shardtx from 'shardtx/eslint-plugin'
 *
 * export default [shardtx.configs.recommended]
 * ```
 */
export default plugin
