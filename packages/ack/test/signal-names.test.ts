import { describe, expect, test } from 'vitest';
import { deriveSignalNames } from '@ipcez/ack';

describe('deriveSignalNames on linux', () => {
  test('builds the docs/PROTOCOL.md example names for /tmp/ipcez.sock', () => {
    expect(deriveSignalNames('/tmp/ipcez.sock', 'linux')).toEqual({
      ready: '/ipcez_tmp_ipcez.sock.data_ready',
      acked: '/ipcez_tmp_ipcez.sock.data_acked',
      marker: '/ipcez_tmp_ipcez.sock.v2',
      localFallback: undefined,
    });
  });

  test('escapes an underscore as %5F before turning slashes into underscores', () => {
    expect(deriveSignalNames('/x/a_b.sock', 'linux').ready).toBe('/ipcez_x_a%5Fb.sock.data_ready');
  });

  test('escapes a percent sign as %25 first, so an escaped-looking name stays distinct', () => {
    expect(deriveSignalNames('/x/a%5Fb.sock', 'linux').ready).toBe('/ipcez_x_a%255Fb.sock.data_ready');
  });

  test('names an abstract socket @name from /ipcez@ plus the escaped name', () => {
    expect(deriveSignalNames('@app/x_y%', 'linux')).toEqual({
      ready: '/ipcez@app_x%5Fy%25.data_ready',
      acked: '/ipcez@app_x%5Fy%25.data_acked',
      marker: '/ipcez@app_x%5Fy%25.v2',
      localFallback: undefined,
    });
  });

  test('gives different sockets different names, also where a naive escape would collide', () => {
    const paths = ['/a/b', '/a_b', '/a%5Fb', '/a%255Fb', '/a/_b', '/a_/b', '/a%/b', '/a%2F', '/a/b/', '@a/b', '@a_b'];
    const names = paths.map((p) => deriveSignalNames(p, 'linux').ready);
    expect(new Set(names).size).toBe(paths.length);
  });

  test('rejects a relative path with a TypeError coded IPCEZ_ERR_INVALID_ARG', () => {
    expect(() => deriveSignalNames('tmp/a.sock', 'linux')).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
    expect(() => deriveSignalNames('tmp/a.sock', 'linux')).toThrow(TypeError);
  });

  test('rejects an empty endpoint and a NUL character', () => {
    expect(() => deriveSignalNames('', 'linux')).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
    expect(() => deriveSignalNames('/tmp/a\0b', 'linux')).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
  });

  test('refuses a name over the 251-byte semaphore limit with IPCEZ_ERR_ACK_UNAVAILABLE', () => {
    const longest = `/${'d'.repeat(50)}/${'s_'.repeat(60)}.sock`;
    expect(() => deriveSignalNames(longest, 'linux')).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_ACK_UNAVAILABLE' }),
    );
    const fits = `/${'d'.repeat(50)}/${'s'.repeat(50)}.sock`;
    expect(deriveSignalNames(fits, 'linux').ready.length).toBeLessThanOrEqual(252);
  });
});

describe('deriveSignalNames on win32', () => {
  test('names Global\\ events after what follows \\\\.\\pipe\\', () => {
    expect(deriveSignalNames('\\\\.\\pipe\\app', 'win32')).toEqual({
      ready: 'Global\\app.data_ready',
      acked: 'Global\\app.data_acked',
      marker: 'Global\\app.v2',
      localFallback: { ready: 'Local\\app.data_ready', acked: 'Local\\app.data_acked', marker: 'Local\\app.v2' },
    });
  });

  test('accepts a bare pipe name and keeps its spelling (events are case-sensitive)', () => {
    expect(deriveSignalNames('My_Pipe', 'win32').acked).toBe('Global\\My_Pipe.data_acked');
    expect(deriveSignalNames('\\\\.\\PIPE\\My_Pipe', 'win32').acked).toBe('Global\\My_Pipe.data_acked');
  });

  test('rejects an empty pipe name', () => {
    expect(() => deriveSignalNames('\\\\.\\pipe\\', 'win32')).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
  });
});

test('rejects an unknown platform with IPCEZ_ERR_INVALID_ARG', () => {
  expect(() => deriveSignalNames('/tmp/a.sock', 'darwin' as 'linux')).toThrow(
    expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }),
  );
});
