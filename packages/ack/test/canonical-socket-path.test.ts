import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { canonicalSocketPath } from '@ipcez/ack';

describe.runIf(process.platform === 'linux')('canonicalSocketPath', () => {
  let dir: string;
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ipcez-')));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('resolves a symlinked directory, so two spellings of one socket agree', async () => {
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    expect(await canonicalSocketPath(join(dir, 'link', 'a.sock'))).toBe(`${dir}/real/a.sock`);
    expect(await canonicalSocketPath(`${dir}/real/../real/a.sock`)).toBe(`${dir}/real/a.sock`);
  });

  test('resolves a relative path against the working directory, without needing the socket file', async () => {
    const rel = relative(process.cwd(), join(dir, 'missing.sock'));
    expect(await canonicalSocketPath(rel)).toBe(`${dir}/missing.sock`);
  });

  test('returns an abstract @name unchanged', async () => {
    expect(await canonicalSocketPath('@app')).toBe('@app');
  });

  test('rejects with IoError when the directory does not exist', async () => {
    await expect(canonicalSocketPath(join(dir, 'nope', 'a.sock'))).rejects.toMatchObject({
      code: 'IPCEZ_ERR_IO',
      osCode: 'ENOENT',
    });
  });

  test('throws IPCEZ_ERR_INVALID_ARG synchronously for an empty path', () => {
    expect(() => canonicalSocketPath('')).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
  });
});
