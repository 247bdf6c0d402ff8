// The project's own lint (its TypeScript: src/, test/, bench/, examples/), run by `npm run lint` and
// .ci/run. Not the rule shardtx ships for applications: that is src/eslint/ (docs/lint.md).
import tseslint from 'typescript-eslint'

export default tseslint.config(
  // Fixtures are code the lint rule and the layer check read as input, wrong on purpose.
  { ignores: ['dist/**', 'node_modules/**', 'test/unit/fixtures/**', 'test/eslint/fixtures/**', 'examples/lint/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // knex's own types are `any` in places (rows, bindings); tests and typed wrappers follow them.
      '@typescript-eslint/no-explicit-any': 'off',
      eqeqeq: ['error', 'smart'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
)
