import type { ESLint, Linter } from 'eslint'
import pkg from '../../package.json' with { type: 'json' }
import { noCrossShardWrite } from './rules/no-cross-shard-write.js'

export { noCrossShardWrite } from './rules/no-cross-shard-write.js'
export {
  findDefaultConfig,
  loadTablesFromFile,
  resolveRuleTables,
  ShardtxLintConfigError,
  validateTables,
  type LintRuleOptions,
  type LintTables,
} from './config-loader.js'

/** The plugin object's type: ESLint's plugin shape plus the `recommended` config. */
export type ShardtxEslintPlugin = ESLint.Plugin & {
  meta: { name: string; version: string }
  rules: { 'no-cross-shard-write': typeof noCrossShardWrite }
  configs: { recommended: Linter.Config }
}

const plugin: ShardtxEslintPlugin = {
  meta: { name: 'shardtx', version: pkg.version },
  rules: { 'no-cross-shard-write': noCrossShardWrite },
  configs: { recommended: {} as Linter.Config },
}

// The recommended config refers to the plugin itself, so it is filled in after the object exists.
// It has no rule options: the rule then reads shardtx.config.json (or .js/.mjs/.cjs) from the
// directory ESLint runs in.
plugin.configs.recommended = {
  name: 'shardtx/recommended',
  plugins: { shardtx: plugin },
  rules: { 'shardtx/no-cross-shard-write': 'error' },
}

/**
 * The shardtx ESLint plugin (flat config, ESLint 9 and 10).
 *
 * @example
 * ```js
 * // eslint.config.js
 * import shardtx from 'shardtx/eslint-plugin'
 *
 * export default [
 *   shardtx.configs.recommended, // reads ./shardtx.config.json
 *   // or, with explicit options:
 *   {
 *     plugins: { shardtx },
 *     rules: { 'shardtx/no-cross-shard-write': ['error', { config: 'config/shardtx.config.json' }] },
 *   },
 * ]
 * ```
 */
export default plugin
