import { describe, expect, it } from 'vitest';
import { BSD_SUN_PATH_BYTES, LINUX_SUN_PATH_BYTES, resolveUnixEndpoint, sunPathBytes } from '@ipcez/transport-unix';

const linux = { cwd: '/srv/app', platform: 'linux' } as const;
const darwin = { cwd: '/Users/me', platform: 'darwin' } as const;

describe('resolveUnixEndpoint', () => {
  it('keeps an absolute path and normalises it', () => {
    expect(resolveUnixEndpoint('/tmp/./x/../app.sock', linux)).toEqual({
      endpoint: '/tmp/app.sock',
      address: '/tmp/app.sock',
      isAbstract: false,
    });
  });

  it('resolves a relative path against the working directory given', () => {
    expect(resolveUnixEndpoint('run/app.sock', linux).endpoint).toBe('/srv/app/run/app.sock');
    expect(resolveUnixEndpoint('../app.sock', darwin).endpoint).toBe('/Users/app.sock');
  });

  it('maps @name to the Linux abstract namespace: a leading NUL, no file', () => {
    expect(resolveUnixEndpoint('@my-app', linux)).toEqual({
      endpoint: '@my-app',
      address: '\0my-app',
      isAbstract: true,
    });
  });

  it('refuses @name outside Linux with IPCEZ_ERR_UNSUPPORTED_PLATFORM', () => {
    expect(() => resolveUnixEndpoint('@my-app', darwin)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_UNSUPPORTED_PLATFORM', platform: 'darwin' }),
    );
  });

  it('knows sun_path is 108 bytes on Linux and 104 on macOS and the BSDs', () => {
    expect(sunPathBytes('linux')).toBe(LINUX_SUN_PATH_BYTES);
    expect(LINUX_SUN_PATH_BYTES).toBe(108);
    expect(sunPathBytes('darwin')).toBe(BSD_SUN_PATH_BYTES);
    expect(sunPathBytes('freebsd')).toBe(104);
  });

  it('accepts a path of exactly 107 bytes on Linux and refuses 108, showing the resolved path and the limit', () => {
    const dir = '/tmp/';
    const ok = dir + 'a'.repeat(107 - dir.length);
    expect(resolveUnixEndpoint(ok, linux).endpoint).toBe(ok);
    const long = ok + 'b';
    expect(() => resolveUnixEndpoint(long, linux)).toThrow(
      expect.objectContaining({
        code: 'IPCEZ_ERR_INVALID_ENDPOINT',
        endpoint: long,
        message: expect.stringMatching(/108 bytes long; the limit on linux is 107 bytes/) as unknown,
      }),
    );
  });

  it('applies the 103-byte limit on macOS and counts relative paths after resolution', () => {
    const name = 'x'.repeat(103 - '/Users/me/'.length);
    expect(resolveUnixEndpoint(name, darwin).endpoint).toBe(`/Users/me/${name}`);
    expect(() => resolveUnixEndpoint(`${name}y`, darwin)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ENDPOINT', endpoint: `/Users/me/${name}y` }),
    );
  });

  it('counts UTF-8 bytes, not characters', () => {
    const name = '/tmp/' + 'é'.repeat(52); // 5 + 104 bytes, 57 characters
    expect(() => resolveUnixEndpoint(name, linux)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ENDPOINT' }),
    );
  });

  it('limits abstract names to 107 bytes', () => {
    expect(resolveUnixEndpoint('@' + 'n'.repeat(107), linux).address).toHaveLength(108);
    expect(() => resolveUnixEndpoint('@' + 'n'.repeat(108), linux)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ENDPOINT' }),
    );
  });

  it('refuses an empty path, an empty abstract name and a NUL byte', () => {
    for (const endpoint of ['', '@', '/tmp/a\0b']) {
      expect(() => resolveUnixEndpoint(endpoint, linux)).toThrow(
        expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ENDPOINT' }),
      );
    }
  });

  it('throws IPCEZ_ERR_INVALID_ARG for a non-string endpoint', () => {
    expect(() => resolveUnixEndpoint(42 as never, linux)).toThrow(TypeError);
  });
});
