import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from 'ipcez';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const index = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');

describe('the ipcez README', () => {
  it('documents every runtime export by name', () => {
    for (const name of Object.keys(api)) expect(readme, name).toContain(name);
  });

  it('documents every exported type by name', () => {
    const types = [...index.matchAll(/export type \{([^}]+)\}/g)].flatMap((m) =>
      m[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    expect(types.length).toBeGreaterThan(5);
    for (const name of types) expect(readme, name).toContain(name);
  });

  it('lists every error code in its error table', () => {
    const table = readme.slice(readme.indexOf('### Errors'));
    for (const code of api.IPCEZ_ERROR_CODES) expect(table).toContain(`\`${code}\``);
    expect(table).toContain('`IPCEZ_ERR_INVALID_ARG`');
  });

  it('states every CLI exit code', () => {
    expect(readme).toContain(
      '0 success · 1 connection refused / no server · 3 transport error · 50 permission\ndenied · 64 invalid arguments · 78 detection failed / unsupported combination · 124 timeout\n(including an ack timeout) · 125 internal failure.',
    );
  });
});
