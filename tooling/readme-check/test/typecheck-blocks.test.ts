import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeBlocks } from './support/blocks.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// Inside the workspace, so the blocks' imports resolve to the packages' published types.
const dir = fileURLToPath(new URL(`../.tmp/typecheck-${String(process.pid)}/`, import.meta.url));
const blocks = readmeBlocks(root)
  .filter((b) => (b.lang === 'ts' || b.lang === 'typescript') && !b.flags.includes('fragment'))
  .map((b) => ({ ...b, path: join(dir, `${b.file.replace(/[^a-z0-9]+/gi, '-')}-${String(b.line)}.ts`) }));
let diagnostics: readonly ts.Diagnostic[] = [];

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  // `export {}` keeps a block without imports a module (top-level await needs one).
  for (const b of blocks) writeFileSync(b.path, `${b.code}export {};\n`);
  const program = ts.createProgram(
    blocks.map((b) => b.path),
    {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.esnext.disposable.d.ts'],
      types: ['node'],
      skipLibCheck: true,
    },
  );
  diagnostics = ts.getPreEmitDiagnostics(program);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// Running a block proves it works; compiling it proves a TypeScript user can write it as
// shown: strict, against the packages' .d.ts, with the types the READMEs ask for.
describe('every runnable TypeScript block of every README compiles', () => {
  it('finds the blocks', () => {
    expect(blocks.length).toBeGreaterThan(5);
  });

  it.each(blocks.map((b) => [`${b.file}:${String(b.line)}`, b] as const))('%s', (_title, block) => {
    const own = diagnostics
      .filter((d) => d.file?.fileName === block.path)
      .map((d) => {
        const line = d.start === undefined ? 0 : d.file!.getLineAndCharacterOfPosition(d.start).line;
        return `${block.file}:${String(block.line + 1 + line)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(own).toEqual([]);
  });

  it('has no errors outside the blocks (global or configuration)', () => {
    const paths = new Set(blocks.map((b) => b.path));
    const other = diagnostics.filter((d) => d.file === undefined || !paths.has(d.file.fileName));
    expect(other.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  });
});
