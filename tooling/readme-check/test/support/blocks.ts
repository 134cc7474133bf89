import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One fenced code block of a Markdown file. */
export interface CodeBlock {
  /** The file, relative to the repository root. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The language: the first word of the info string, lower-cased ('' when there is none). */
  readonly lang: string;
  /** The other words of the info string (`fragment` marks a block that is not run). */
  readonly flags: readonly string[];
  /** The block's text, its indentation (that of the fence) removed. */
  readonly code: string;
}

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', '.turbo', '.tmp', 'coverage']);

/** Every README.md under `root`, relative paths, sorted (node_modules and build output skipped). */
export function findReadmes(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(join(dir, entry.name));
      } else if (entry.name === 'README.md') {
        found.push(relative(root, join(dir, entry.name)));
      }
    }
  };
  walk(root);
  return found.sort();
}

/**
 * The fenced code blocks of a Markdown text (CommonMark fences: three or more backticks or
 * tildes, indented by up to three spaces, or more inside list items; closed by a fence of the
 * same character at least as long).
 */
export function extractBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    const words = info.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]!.startsWith(fence[0]!) && close[1]!.length >= fence.length) break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
    }
    blocks.push({
      file,
      line: i + 1,
      lang: (words[0] ?? '').toLowerCase(),
      flags: words.slice(1),
      code: body.join('\n') + '\n',
    });
    i = j;
  }
  return blocks;
}

/** The blocks of every README under `root`. */
export function readmeBlocks(root: string): CodeBlock[] {
  return findReadmes(root).flatMap((file) => extractBlocks(file, readFileSync(join(root, file), 'utf8')));
}
