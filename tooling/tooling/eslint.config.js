// Type-aware lint preset for every ipcez package.
// A package's eslint.config.js re-exports `ipcezEslint(import.meta.dirname, options)`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const PACKAGE_SCOPES = ['framing', 'core', 'transport-unix', 'transport-pipe', 'transport-ws', 'ack'];

/**
 * @param {string} tsconfigRootDir the package directory
 * @param {{ neutral?: boolean, allowConsole?: boolean, forbidImports?: string[] }} [options]
 *   neutral: no `node:*` imports (framing). forbidImports: package names this one must not import.
 */
export function ipcezEslint(tsconfigRootDir, options = {}) {
  const restrictedPatterns = [
    {
      group: ['**/src/*', '**/dist/*', '../../*'],
      message: 'Import other packages by name, through their exports.',
    },
  ];
  if (options.neutral) {
    restrictedPatterns.push({
      group: ['node:*'],
      message: '@ipcez/framing runs in browsers, Deno and Bun: no node:* imports.',
    });
  }
  const restrictedPaths = (options.forbidImports ?? []).map((name) => ({
    name,
    message: 'This layer must not import that package (see the package table in the root README).',
  }));
  return tseslint.config(
    { ignores: ['dist/**', 'coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
    js.configs.recommended,
    ...tseslint.configs.strictTypeChecked,
    ...tseslint.configs.stylisticTypeChecked,
    {
      languageOptions: {
        parserOptions: { projectService: true, tsconfigRootDir },
      },
      linterOptions: { reportUnusedDisableDirectives: 'error' },
      rules: {
        '@typescript-eslint/no-floating-promises': 'error',
        '@typescript-eslint/no-misused-promises': 'error',
        '@typescript-eslint/unbound-method': 'error',
        '@typescript-eslint/switch-exhaustiveness-check': 'error',
        '@typescript-eslint/only-throw-error': 'error',
        '@typescript-eslint/prefer-promise-reject-errors': 'error',
        '@typescript-eslint/consistent-type-imports': 'error',
        '@typescript-eslint/no-explicit-any': 'error',
        '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
        // With noUncheckedIndexedAccess, indexing a typed array inside a checked bound yields
        // `number | undefined`; `!` there is the honest assertion, and hot loops need it.
        '@typescript-eslint/no-non-null-assertion': 'off',
        // `_`-prefixed names mark values deliberately left out of a rest destructuring.
        '@typescript-eslint/no-unused-vars': [
          'error',
          { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
        ],
        eqeqeq: ['error', 'always'],
        'no-console': options.allowConsole ? 'off' : 'error',
        'no-restricted-imports': ['error', { patterns: restrictedPatterns, paths: restrictedPaths }],
        'no-restricted-syntax': [
          'error',
          { selector: 'ExportAllDeclaration', message: 'Re-export named symbols only.' },
          { selector: 'TSEnumDeclaration', message: 'Use an `as const` object and a union type.' },
          { selector: 'TSModuleDeclaration', message: 'No namespaces.' },
        ],
      },
    },
    {
      // Tests may log, and may use non-null assertions on values they just asserted.
      files: ['test/**/*.ts'],
      rules: {
        'no-console': 'off',
      },
    },
  );
}

export { PACKAGE_SCOPES };
export default ipcezEslint;
