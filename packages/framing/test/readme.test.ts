import { describe, expect, it } from 'vitest';
import * as framing from '@ipcez/framing';

// Both texts are read by vitest.config.js (this package's tests cannot import node:fs).
declare const __FRAMING_README__: string;
declare const __FRAMING_INDEX_TS__: string;

/** The names src/index.ts re-exports, values and types. */
function exportedNames(): string[] {
  const names: string[] = [];
  for (const match of __FRAMING_INDEX_TS__.matchAll(/^export (?:type )?\{([^}]*)\} from '[^']+';$/gm)) {
    names.push(
      ...match[1]!
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n.length > 0),
    );
  }
  return names;
}

/** The README's `## API` section, up to the next `## ` heading. */
function apiSection(): string {
  const start = __FRAMING_README__.indexOf('\n## API\n');
  expect(start).toBeGreaterThan(-1);
  const end = __FRAMING_README__.indexOf('\n## ', start + 1);
  return __FRAMING_README__.slice(start, end === -1 ? undefined : end);
}

describe('README', () => {
  it('src/index.ts holds only named re-exports, and they include every runtime export', () => {
    const lines = __FRAMING_INDEX_TS__.split('\n').filter((line) => line.trim().length > 0);
    for (const line of lines) expect(line).toMatch(/^export (?:type )?\{[^}]*\} from '\.\/[a-z-]+\.js';$/);
    expect(exportedNames()).toEqual(expect.arrayContaining(Object.keys(framing)));
  });

  it('gives every export of src/index.ts its own heading in the API reference', () => {
    const api = apiSection();
    const names = exportedNames();
    expect(names.length).toBeGreaterThanOrEqual(14);
    for (const name of names) {
      expect(api, `no API heading for ${name}`).toMatch(new RegExp(`^### \`(?:class |interface )?${name}\\b`, 'm'));
    }
  });

  it('has the house section order: install, example, API, platform notes, environment, error codes, protocol version', () => {
    const headings = [...__FRAMING_README__.matchAll(/^## (.+)$/gm)].map((m) => m[1]!);
    const order = [
      'Install',
      'Example, used alone',
      'API',
      'Platform notes',
      'Environment variables',
      'Error codes',
      'Protocol version',
    ];
    const positions = order.map((h) => headings.indexOf(h));
    expect(
      positions.every((p) => p >= 0),
      `headings: ${headings.join(' | ')}`,
    ).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('lists every error code the package throws in its error codes table', () => {
    const table = __FRAMING_README__.slice(__FRAMING_README__.indexOf('## Error codes'));
    for (const code of ['IPCEZ_ERR_FRAME_TOO_LARGE', 'IPCEZ_ERR_INVALID_ARG']) expect(table).toContain(`| \`${code}\``);
    expect(new framing.FrameTooLargeError(1, 0).code).toBe('IPCEZ_ERR_FRAME_TOO_LARGE');
  });

  it('states the protocol version this package implements', () => {
    expect(__FRAMING_README__).toContain(`\`PROTOCOL_VERSION\` is \`${framing.PROTOCOL_VERSION}\``);
  });
});
