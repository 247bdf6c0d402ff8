import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// The sample app's own suite. The repository's vitest.config.ts only includes test/**, so `npm test`
// never runs it directly; test/integration/strict-mode-e2e.test.ts runs it in a child process.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
