import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extractBlocks } from './support/blocks.js';
import type { CodeBlock } from './support/blocks.js';
import { runBlock } from './support/run-block.js';

const scratchDir = fileURLToPath(new URL('../.tmp/', import.meta.url));
const block = (lang: string, code: string): CodeBlock => ({ file: 'TEST.md', line: 1, lang, flags: [], code });

describe('extractBlocks', () => {
  it('reads the language, the flags, indented fences and longer fences', () => {
    const md = ['# x', '```ts fragment', 'a', '```', '- item', '  ````py', '  b', '  ```', '  ````', '```', 'c', '```'];
    expect(extractBlocks('X.md', md.join('\n'))).toEqual([
      { file: 'X.md', line: 2, lang: 'ts', flags: ['fragment'], code: 'a\n' },
      { file: 'X.md', line: 6, lang: 'py', flags: [], code: 'b\n```\n' },
      { file: 'X.md', line: 10, lang: '', flags: [], code: 'c\n' },
    ]);
  });
});

describe('runBlock', () => {
  it('runs TypeScript with its types stripped, as an ES module in the workspace, with target/os set', async () => {
    const run = await runBlock(
      block(
        'ts',
        "import { MAX_MESSAGE_BYTES } from 'ipcez';\nconst n: number = MAX_MESSAGE_BYTES;\nconsole.log(n, process.env.target, process.env.os);\n",
      ),
      { scratchDir },
    );
    expect(run).toMatchObject({ code: 0, timedOut: false, stdout: '4194304 local linux\n', leftovers: [] });
  });

  it('reports a failing exit, a file left in the temp dir and a /tmp path left behind', async () => {
    const path = `/tmp/ipcez-readme-check-${String(process.pid)}.txt`;
    try {
      const run = await runBlock(
        block(
          'js',
          `import { writeFileSync } from 'node:fs';\nwriteFileSync('left.txt', '');\nwriteFileSync('${path}', '');\nprocess.exit(3);\n`,
        ),
        { scratchDir },
      );
      expect(run.code).toBe(3);
      expect(run.leftovers).toHaveLength(2);
      expect(run.leftovers[0]).toMatch(/left\.txt$/);
      expect(run.leftovers[1]).toBe(path);
    } finally {
      rmSync(path, { force: true });
    }
    expect(existsSync(path)).toBe(false);
  });

  it('kills a block that does not exit within the bound', async () => {
    const run = await runBlock(block('js', 'setInterval(() => {}, 1000);\n'), { scratchDir, boundMs: 300 });
    expect(run.timedOut).toBe(true);
    expect(run.signal).toBe('SIGKILL');
  });

  it('runs python blocks with python3', async () => {
    const run = await runBlock(
      block('python', 'import os\nprint(os.environ["target"], os.getcwd() == os.environ["TMPDIR"])\n'),
      {
        scratchDir,
      },
    );
    expect(run).toMatchObject({ code: 0, stdout: 'local True\n', leftovers: [] });
  });
});
