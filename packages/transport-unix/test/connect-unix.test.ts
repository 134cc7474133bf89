import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectUnix } from '@ipcez/transport-unix';

describe.runIf(process.platform !== 'win32')('connectUnix', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipcez-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails with IoError ENOENT, the OS error as cause and the resolved path, when no socket file exists', async () => {
    const file = path.join(dir, 'nobody.sock');
    const error = await connectUnix(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_IO', osCode: 'ENOENT', syscall: 'connect', path: file });
    expect((error as Error).cause).toMatchObject({ code: 'ENOENT' });
    expect((error as Error).message).toContain(file);
  });

  it('fails with IoError ENOTSOCK or ECONNREFUSED when the path is a regular file, and leaves it alone', async () => {
    const file = path.join(dir, 'plain.txt');
    fs.writeFileSync(file, 'data');
    const error = await connectUnix(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_IO' });
    expect(['ECONNREFUSED', 'ENOTSOCK']).toContain((error as { osCode?: string }).osCode);
    expect(fs.readFileSync(file, 'utf8')).toBe('data');
  });

  it('rejects with the abort reason, before any I/O, when the signal is already aborted', async () => {
    const reason = new Error('not now');
    await expect(connectUnix(path.join(dir, 'x.sock'), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('throws IPCEZ_ERR_INVALID_ARG synchronously for a non-string endpoint or bad options', () => {
    expect(() => connectUnix(7 as never)).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
    expect(() => connectUnix('/tmp/x.sock', { maxMessageBytes: 5 * 1024 * 1024 })).toThrow(RangeError);
    expect(() => connectUnix('/tmp/x.sock', { signal: 'stop' as never })).toThrow(TypeError);
  });
});
