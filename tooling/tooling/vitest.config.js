// Shared Vitest preset: low timeouts so hangs fail fast, tests in test/.
import { defineConfig } from 'vitest/config';

/** @param {import('vitest/config').ViteUserConfig['test']} [overrides] */
export function ipcezVitest(overrides = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 5_000,
      hookTimeout: 10_000,
      teardownTimeout: 5_000,
      // Real sockets and child processes: forks isolate native handles (koffi) per file.
      pool: 'forks',
      reporters: ['default'],
      ...overrides,
    },
  });
}

export default ipcezVitest;
