import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`## ${title}\n`);
  expect(start, `README has a "## ${title}" section`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('README', () => {
  it('lists, in its error codes table, every error code the source can produce', () => {
    const table = section('Error codes');
    const codes = new Set<string>();
    for (const file of readdirSync(new URL('src/', root))) {
      const source = readFileSync(new URL(`src/${file}`, root), 'utf8');
      for (const match of source.matchAll(/IPCEZ_ERR_[A-Z_]+/g)) codes.add(match[0]);
    }
    expect(codes.size).toBeGreaterThan(3);
    const missing = [...codes].filter((code) => !table.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('keeps the house section order: install, example, API, platform notes, env vars, error codes, compatibility', () => {
    const order = [
      'Install',
      'Example, alone',
      'API',
      'Platform notes',
      'Environment variables',
      'Error codes',
      'Compatibility',
    ];
    const positions = order.map((title) => readme.indexOf(`\n## ${title}\n`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});
