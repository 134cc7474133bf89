import { ipcezEslint } from '@ipcez/tooling/eslint';

const layering = ipcezEslint(import.meta.dirname, {
  forbidImports: ['@ipcez/transport-unix', '@ipcez/transport-pipe', '@ipcez/transport-ws', 'ipcez'],
});

// STYLE.md section 7: only src/platform/index.ts chooses a backend (with a lazy import), so
// no other module may import src/platform/posix or src/platform/win32.
export default [
  ...layering,
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    ignores: ['src/platform/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/*', '**/dist/*', '../../*'],
              message: 'Import other packages by name, through their exports (STYLE.md section 1).',
            },
            {
              group: ['**/platform/posix*', '**/platform/win32*', './posix*', './win32*'],
              message: 'Only src/platform/index.ts loads a platform backend (STYLE.md section 7).',
            },
          ],
          paths: ['@ipcez/transport-unix', '@ipcez/transport-pipe', '@ipcez/transport-ws', 'ipcez'].map((name) => ({
            name,
            message: 'This layer must not import that package (DESIGN.md "Packages and layering").',
          })),
        },
      ],
    },
  },
];
