import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  AckUnavailableError,
  ConnectionLostError,
  DetectionError,
  EndpointInUseError,
  FrameTooLargeError,
  InvalidEndpointError,
  IoError,
  IPCEZ_ERROR_CODES,
  IpcezError,
  isIpcezError,
  invalidArgError,
  ReconnectFailedError,
  RecipientAckTimeoutError,
  SendBufferFullError,
  SendTimeoutError,
  ProtocolError,
  ConnectionLimitError,
  PartialFrameLimitError,
  FrameTimeoutError,
  IdleTimeoutError,
  UnsupportedCombinationError,
  UnsupportedPlatformError,
  WsError,
} from '@ipcez/core';
import type { IpcezErrorCode } from '@ipcez/core';

interface Row {
  readonly make: () => IpcezError;
  readonly name: string;
  readonly code: IpcezErrorCode;
  readonly base: abstract new (...args: never[]) => Error;
  readonly fields: Record<string, unknown>;
}

const table: Row[] = [
  {
    make: () => new IoError('connect failed', { path: '/tmp/x.sock' }),
    name: 'IoError',
    code: 'IPCEZ_ERR_IO',
    base: IpcezError,
    fields: { path: '/tmp/x.sock' },
  },
  {
    make: () => new ConnectionLostError('peer-closed'),
    name: 'ConnectionLostError',
    code: 'IPCEZ_ERR_CONNECTION_LOST',
    base: IoError,
    fields: { reason: 'peer-closed' },
  },
  {
    make: () => new WsError('handshake failed', { status: 404 }),
    name: 'WsError',
    code: 'IPCEZ_ERR_WS',
    base: IpcezError,
    fields: { status: 404, closeCode: undefined },
  },
  {
    make: () => new FrameTooLargeError(5_000_000, 4_194_304),
    name: 'FrameTooLargeError',
    code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
    base: IpcezError,
    fields: { size: 5_000_000, limit: 4_194_304 },
  },
  {
    make: () => new DetectionError('target', 'nope', ['local', 'remote']),
    name: 'DetectionError',
    code: 'IPCEZ_ERR_DETECTION',
    base: IpcezError,
    fields: { variable: 'target', value: 'nope', allowed: ['local', 'remote'] },
  },
  {
    make: () => new UnsupportedCombinationError('local', 'windows', 'not on linux'),
    name: 'UnsupportedCombinationError',
    code: 'IPCEZ_ERR_UNSUPPORTED_COMBINATION',
    base: IpcezError,
    fields: { target: 'local', os: 'windows' },
  },
  {
    make: () => new RecipientAckTimeoutError(250),
    name: 'RecipientAckTimeoutError',
    code: 'IPCEZ_ERR_ACK_TIMEOUT',
    base: IpcezError,
    fields: { timeoutMs: 250 },
  },
  {
    make: () => new EndpointInUseError('/tmp/a.sock'),
    name: 'EndpointInUseError',
    code: 'IPCEZ_ERR_ENDPOINT_IN_USE',
    base: IpcezError,
    fields: { endpoint: '/tmp/a.sock' },
  },
  {
    make: () => new UnsupportedPlatformError('Windows named pipes', 'linux'),
    name: 'UnsupportedPlatformError',
    code: 'IPCEZ_ERR_UNSUPPORTED_PLATFORM',
    base: IpcezError,
    fields: { feature: 'Windows named pipes', platform: 'linux' },
  },
  {
    make: () => new InvalidEndpointError('/very/long', 'too long'),
    name: 'InvalidEndpointError',
    code: 'IPCEZ_ERR_INVALID_ENDPOINT',
    base: IpcezError,
    fields: { endpoint: '/very/long' },
  },
  {
    make: () => new SendBufferFullError(2048, 1024),
    name: 'SendBufferFullError',
    code: 'IPCEZ_ERR_SEND_BUFFER_FULL',
    base: IpcezError,
    fields: { bufferedAmount: 2048, highWaterMark: 1024 },
  },
  {
    make: () => new AckUnavailableError('koffi failed to load'),
    name: 'AckUnavailableError',
    code: 'IPCEZ_ERR_ACK_UNAVAILABLE',
    base: IpcezError,
    fields: {},
  },
  {
    make: () => new ReconnectFailedError('/tmp/x.sock', 3, new Error('refused')),
    name: 'ReconnectFailedError',
    code: 'IPCEZ_ERR_RECONNECT_FAILED',
    base: IpcezError,
    fields: { attempts: 3 },
  },
  {
    make: () => new SendTimeoutError(250),
    name: 'SendTimeoutError',
    code: 'IPCEZ_ERR_SEND_TIMEOUT',
    base: IpcezError,
    fields: { timeoutMs: 250 },
  },
  {
    make: () => new ProtocolError('ACK 0'),
    name: 'ProtocolError',
    code: 'IPCEZ_ERR_PROTOCOL',
    base: IpcezError,
    fields: {},
  },
  {
    make: () => new ConnectionLimitError('/tmp/x.sock', 8),
    name: 'ConnectionLimitError',
    code: 'IPCEZ_ERR_CONNECTION_LIMIT',
    base: IpcezError,
    fields: { limit: 8 },
  },
  {
    make: () => new PartialFrameLimitError('/tmp/x.sock', 4_194_304, 65_536, 1_048_576),
    name: 'PartialFrameLimitError',
    code: 'IPCEZ_ERR_PARTIAL_FRAME_LIMIT',
    base: IpcezError,
    fields: { requestedBytes: 4_194_304, heldBytes: 65_536, limit: 1_048_576 },
  },
  {
    make: () => new FrameTimeoutError('/tmp/x.sock', 100, 7),
    name: 'FrameTimeoutError',
    code: 'IPCEZ_ERR_FRAME_TIMEOUT',
    base: IpcezError,
    fields: { timeoutMs: 100, receivedBytes: 7 },
  },
  {
    make: () => new IdleTimeoutError('/tmp/x.sock', 100),
    name: 'IdleTimeoutError',
    code: 'IPCEZ_ERR_IDLE_TIMEOUT',
    base: IpcezError,
    fields: { timeoutMs: 100 },
  },
];

describe('error classes', () => {
  it.each(table)('$name has code $code, its name, its fields and the right base class', (row) => {
    const error = row.make();
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(IpcezError);
    expect(error).toBeInstanceOf(row.base);
    expect(error.name).toBe(row.name);
    expect(error.code).toBe(row.code);
    expect(error.message.length).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(row.fields)) {
      expect((error as unknown as Record<string, unknown>)[key]).toEqual(value);
    }
    expect(isIpcezError(error)).toBe(true);
    expect(isIpcezError(error, row.code)).toBe(true);
  });

  it('covers every code in IPCEZ_ERROR_CODES exactly once', () => {
    expect(table.map((row) => row.code).sort()).toEqual([...IPCEZ_ERROR_CODES].sort());
  });

  it('lists every code in the README error table', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Error codes'));
    for (const code of IPCEZ_ERROR_CODES) expect(section).toContain(`\`${code}\``);
    expect(section).toContain('`IPCEZ_ERR_INVALID_ARG`');
  });

  it('names the variable, the value seen and the values allowed in a DetectionError message', () => {
    const missing = new DetectionError('os', undefined, ['linux', 'windows']);
    expect(missing.message).toContain('os is not set');
    expect(missing.message).toContain('linux, windows');
    const wrong = new DetectionError('target', 'lokal', ['local', 'remote'], 'Fix: export target=local');
    expect(wrong.message).toContain('"lokal"');
    expect(wrong.message).toContain('Fix: export target=local');
  });

  it('lifts errno, osCode, syscall and path from a real OS error given as the cause', async () => {
    const path = `/tmp/ipcez-no-such-${process.pid}-${Date.now()}.sock`;
    const socket = connect(path);
    const [osError] = (await once(socket, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
    socket.destroy();
    const error = new IoError(`cannot connect to ${path}`, { cause: osError });
    expect(error.cause).toBe(osError);
    expect(error.osCode).toBe('ENOENT');
    expect(error.errno).toBe(osError.errno);
    expect(error.syscall).toBe('connect');
    expect(error.path).toBe(path);
  });

  it('prefers the explicit path over the cause path, and has no OS fields without a cause', () => {
    const error = new ConnectionLostError('reset', undefined, {
      path: '/tmp/resolved.sock',
      cause: { path: 'rel.sock', code: 'ECONNRESET' },
    });
    expect(error.path).toBe('/tmp/resolved.sock');
    expect(error.osCode).toBe('ECONNRESET');
    const bare = new IoError('no cause');
    expect(bare.errno).toBeUndefined();
    expect(bare.osCode).toBeUndefined();
    expect(bare.syscall).toBeUndefined();
    expect(bare.path).toBeUndefined();
  });

  it('isIpcezError matches on code, so a foreign copy of the class is recognised and plain errors are not', () => {
    const foreign = Object.assign(new Error('from another copy'), { code: 'IPCEZ_ERR_ACK_TIMEOUT' });
    expect(isIpcezError(foreign)).toBe(true);
    expect(isIpcezError(foreign, 'IPCEZ_ERR_ACK_TIMEOUT')).toBe(true);
    expect(isIpcezError(foreign, 'IPCEZ_ERR_IO')).toBe(false);
    expect(isIpcezError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isIpcezError({ code: 'IPCEZ_ERR_IO' })).toBe(false);
  });

  it('invalidArgError makes a TypeError or RangeError with code IPCEZ_ERR_INVALID_ARG', () => {
    const typeError = invalidArgError('endpoint must be a string');
    expect(typeError).toBeInstanceOf(TypeError);
    expect(typeError.code).toBe('IPCEZ_ERR_INVALID_ARG');
    const rangeError = invalidArgError('ackTimeoutMs must be > 0', 'range');
    expect(rangeError).toBeInstanceOf(RangeError);
    expect(rangeError.code).toBe('IPCEZ_ERR_INVALID_ARG');
  });
});
