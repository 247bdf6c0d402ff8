import { defineConfig } from 'vitest/config'

// Two projects: pure logic runs in parallel; anything that talks to MariaDB runs one file at a
// time, because lock timing (deadlock detection, contention) is what those tests measure and a
// 2-core machine shared by parallel files would make them measure each other.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/eslint/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          // test/package builds, packs and installs the package: one at a time like the rest here,
          // so it does not compete for the 2 cores with timing-sensitive database tests.
          include: ['test/integration/**/*.test.ts', 'test/faults/**/*.test.ts', 'test/compat/**/*.test.ts', 'test/package/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})
