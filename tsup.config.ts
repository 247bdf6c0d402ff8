import { defineConfig, type Options } from 'tsup'

const library = { index: 'src/index.ts', 'eslint/index': 'src/eslint/index.ts' }

const shared: Options = {
  sourcemap: true,
  target: 'node20',
  // Peer dependencies stay external so the user's knex/mysql2 are the ones that run.
  external: ['knex', 'mysql2'],
  // Classes keep their names: esbuild renames a class that refers to itself (UnroutableQueryError
  // became _UnroutableQueryError), and util.inspect prints the constructor's name next to `name`.
  keepNames: true,
}

// Two builds, one per module format, each cleaning only its own files (they run in parallel).
export default defineConfig([
  {
    ...shared,
    // The CLI is ESM only (package.json's `bin` runs dist/cli/main.js); built with the library so
    // the rule's code lives in one shared chunk instead of a copy per entry.
    entry: { ...library, 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    dts: { entry: library },
    clean: ['**/*.js', '**/*.js.map', '**/*.d.ts'],
  },
  {
    ...shared,
    entry: library,
    format: ['cjs'],
    dts: true,
    // `require('shardtx/eslint-plugin')` must return the plugin itself, not `{ default }`:
    // ESLint's flat config takes the object as it is. The plugin entry has only a default export.
    cjsInterop: true,
    // tsup applies cjsInterop only when it builds CommonJS through its ESM path (code splitting).
    splitting: true,
    // `import.meta.url` (the TypeScript parser is resolved from shardtx's own location) in CommonJS.
    shims: true,
    clean: ['**/*.cjs', '**/*.cjs.map', '**/*.d.cts'],
  },
])
