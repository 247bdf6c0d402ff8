import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'eslint/index': 'src/eslint/index.ts',
    'cli/main': 'src/cli/main.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Peer dependencies stay external so the user's knex/mysql2 are the ones that run.
  external: ['knex', 'mysql2'],
})
