import { describe, expect, it } from 'vitest';

import { MAX_PIPE_NAME_LENGTH, PIPE_PREFIX, resolvePipeName } from '@ipcez/transport-pipe';

describe('resolvePipeName', () => {
  it('adds the \\\\.\\pipe\\ prefix to a bare name', () => {
    expect(resolvePipeName('build-42')).toBe('\\\\.\\pipe\\build-42');
  });

  it('keeps a name that already has the prefix exactly as given', () => {
    expect(resolvePipeName('\\\\.\\pipe\\build-42')).toBe('\\\\.\\pipe\\build-42');
  });

  it('recognises the prefix case-insensitively and keeps the given spelling', () => {
    expect(resolvePipeName('\\\\.\\PIPE\\Build')).toBe('\\\\.\\PIPE\\Build');
  });

  it('takes a bare name literally: slashes and spaces are part of the name', () => {
    expect(resolvePipeName('/tmp/app.sock')).toBe('\\\\.\\pipe\\/tmp/app.sock');
    expect(resolvePipeName(' a b ')).toBe('\\\\.\\pipe\\ a b ');
  });

  it('accepts a full name of exactly 256 characters', () => {
    const name = PIPE_PREFIX + 'n'.repeat(MAX_PIPE_NAME_LENGTH - PIPE_PREFIX.length);
    expect(resolvePipeName(name)).toBe(name);
    expect(name).toHaveLength(256);
  });

  it('rejects a full name of 257 characters with InvalidEndpointError naming the limit', () => {
    const bare = 'n'.repeat(MAX_PIPE_NAME_LENGTH - PIPE_PREFIX.length + 1);
    expect(() => resolvePipeName(bare)).toThrow(
      expect.objectContaining({
        code: 'IPCEZ_ERR_INVALID_ENDPOINT',
        endpoint: PIPE_PREFIX + bare,
        message: expect.stringContaining('257 characters, over the Windows limit of 256') as unknown,
      }),
    );
  });

  it('rejects an empty name, bare or after the prefix', () => {
    for (const endpoint of ['', PIPE_PREFIX]) {
      expect(() => resolvePipeName(endpoint)).toThrow(
        expect.objectContaining({
          code: 'IPCEZ_ERR_INVALID_ENDPOINT',
          message: expect.stringContaining('empty') as unknown,
        }),
      );
    }
  });

  it('rejects a name containing a NUL character', () => {
    expect(() => resolvePipeName('a\0b')).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ENDPOINT' }));
  });

  it('refuses other \\\\ and // forms instead of prefixing them', () => {
    for (const endpoint of ['\\\\?\\pipe\\x', '\\\\server\\pipe\\x', '//./pipe/x']) {
      expect(() => resolvePipeName(endpoint)).toThrow(
        expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ENDPOINT', endpoint }),
      );
    }
  });

  it('throws a TypeError with IPCEZ_ERR_INVALID_ARG for a non-string endpoint', () => {
    expect(() => resolvePipeName(42 as unknown as string)).toThrow(TypeError);
    expect(() => resolvePipeName(null as unknown as string)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG', message: expect.stringContaining('null') as unknown }),
    );
  });
});
