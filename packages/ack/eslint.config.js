import { ipcezEslint } from '@ipcez/tooling/eslint';

const TRANSPORTS = ['@ipcez/transport-unix', '@ipcez/transport-pipe', '@ipcez/transport-ws', 'ipcez'];
const byName = {
  group: ['**/src/*', '**/dist/*', '../../*'],
  message: 'Import other packages by name, through their exports.',
};
// Only src/platform/index.ts chooses a backend (with a lazy import), so
// no other module may import src/platform/posix or src/platform/win32.
const platformBackends = {
  group: ['**/platform/posix*', '**/platform/win32*', './posix*', './win32*'],
  message: 'Only src/platform/index.ts loads a platform backend.',
};

export default [
  ...ipcezEslint(import.meta.dirname, { forbidImports: TRANSPORTS }),
  {
    files: ['src/**/*.ts'],
    ignores: ['src/platform/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [byName, platformBackends],
          paths: TRANSPORTS.map((name) => ({
            name,
            message: 'This layer must not import that package (see the package table in the root README).',
          })),
        },
      ],
    },
  },
  {
    // Tests run acks over the real transports (devDependencies), as the facade does.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [byName, platformBackends], paths: ['ipcez'] }],
    },
  },
  {
    // How many native waits are in flight at once (at most one per process) cannot be seen
    // through the public API: this test wraps the real backend to count them, so it imports
    // this package's own internal modules (never another package's).
    files: ['test/shared-signal.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ ...byName, group: ['**/dist/*', '../../*'] }, platformBackends],
          paths: ['ipcez'],
        },
      ],
    },
  },
];
