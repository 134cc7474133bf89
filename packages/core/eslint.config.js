import { ipcezEslint } from '@ipcez/tooling/eslint';

const FORBIDDEN = ['@ipcez/transport-unix', '@ipcez/transport-pipe', '@ipcez/transport-ws', '@ipcez/ack', 'ipcez'];

export default [
  ...ipcezEslint(import.meta.dirname, { forbidImports: FORBIDDEN }),
  {
    // Unit tests of internal modules that the package does not export (the v2 ack ledger)
    // import this package's own src/, never another package's.
    files: ['test/ack-ledger.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/dist/*', '../../*'], message: 'Import other packages by name, through their exports.' },
          ],
          paths: FORBIDDEN,
        },
      ],
    },
  },
];
