import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeBlocks } from './support/blocks.js';
import { MODULE_LANGS, PYTHON_LANGS, runBlock } from './support/run-block.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const scratchDir = fileURLToPath(new URL('../.tmp/', import.meta.url));
const blocks = readmeBlocks(root);

// The convention (every README): an unmarked ts/js block runs as an ES module inside the
// workspace, a python block with python3; `fragment` after the language marks a block that
// is not run on purpose. Anything else fails here, so no block is skipped by accident.
describe('every fenced block of every README runs as written, or is marked fragment', () => {
  it('finds the READMEs and their blocks', () => {
    expect(new Set(blocks.map((b) => b.file))).toContain('README.md');
    expect(blocks.length).toBeGreaterThan(10);
  });

  for (const block of blocks) {
    if (block.flags.includes('fragment')) continue;
    const title = `${block.file}:${String(block.line)} (${block.lang || 'no language'})`;
    if (!MODULE_LANGS.has(block.lang) && !PYTHON_LANGS.has(block.lang)) {
      it(title, () => {
        expect.fail(
          `${title}: only ts/js and python blocks run; mark this one \`${block.lang || '```'} fragment\` if it is not meant to`,
        );
      });
      continue;
    }
    it(`${title} exits 0 within 30 s and leaves nothing behind`, async () => {
      const run = await runBlock(block, { scratchDir });
      const report = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
      expect(run.timedOut, `killed after 30 s\n${report}`).toBe(false);
      expect(run.code, report).toBe(0);
      expect(run.leftovers, report).toEqual([]);
    });
  }
});

describe('published READMEs work on the registry page', () => {
  const published = [...new Set(blocks.map((b) => b.file))].filter((f) => f.startsWith('packages/'));
  it.each(published)('%s has no relative links (they break on npmjs.com)', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const relative = [...text.matchAll(/\]\((?!https?:\/\/|#|mailto:)([^)]+)\)/g)].map((m) => m[1]);
    expect(relative).toEqual([]);
  });
});
