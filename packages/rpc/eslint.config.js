import { ipcezEslint } from '@ipcez/tooling/eslint';

// @ipcez/rpc sits on top of any ipcez socket, typed structurally: it never imports a
// transport or the facade, and no node:* module, so it runs wherever a socket does (browsers too).
const FORBIDDEN = ['@ipcez/transport-unix', '@ipcez/transport-pipe', '@ipcez/transport-ws', '@ipcez/ack', 'ipcez'];

export default [
  ...ipcezEslint(import.meta.dirname, { forbidImports: FORBIDDEN }),
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/*', '**/dist/*', '../../*'],
              message: 'Import other packages by name, through their exports.',
            },
            { group: ['node:*'], message: '@ipcez/rpc runs wherever a socket does: no node:* imports.' },
          ],
          paths: FORBIDDEN.map((name) => ({ name, message: '@ipcez/rpc must not import a transport or the facade.' })),
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
];
