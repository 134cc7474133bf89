import * as core from '@ipcez/core';
import { describe, expect, it } from 'vitest';
import * as ipcez from 'ipcez';

const classes = [
  ['IoError', 'IPCEZ_ERR_IO', () => new ipcez.IoError('x')],
  ['ConnectionLostError', 'IPCEZ_ERR_CONNECTION_LOST', () => new ipcez.ConnectionLostError('peer-closed')],
  ['WsError', 'IPCEZ_ERR_WS', () => new ipcez.WsError('x', { status: 404 })],
  ['FrameTooLargeError', 'IPCEZ_ERR_FRAME_TOO_LARGE', () => new ipcez.FrameTooLargeError(5, 4)],
  ['DetectionError', 'IPCEZ_ERR_DETECTION', () => new ipcez.DetectionError('os', undefined, ['linux', 'windows'])],
  [
    'UnsupportedCombinationError',
    'IPCEZ_ERR_UNSUPPORTED_COMBINATION',
    () => new ipcez.UnsupportedCombinationError('remote', 'linux', 'x'),
  ],
  ['RecipientAckTimeoutError', 'IPCEZ_ERR_ACK_TIMEOUT', () => new ipcez.RecipientAckTimeoutError(10)],
  ['EndpointInUseError', 'IPCEZ_ERR_ENDPOINT_IN_USE', () => new ipcez.EndpointInUseError('/tmp/x')],
  ['UnsupportedPlatformError', 'IPCEZ_ERR_UNSUPPORTED_PLATFORM', () => new ipcez.UnsupportedPlatformError('x', 'y')],
  ['InvalidEndpointError', 'IPCEZ_ERR_INVALID_ENDPOINT', () => new ipcez.InvalidEndpointError('', 'empty')],
  ['SendBufferFullError', 'IPCEZ_ERR_SEND_BUFFER_FULL', () => new ipcez.SendBufferFullError(2, 1)],
  ['AckUnavailableError', 'IPCEZ_ERR_ACK_UNAVAILABLE', () => new ipcez.AckUnavailableError('x')],
  ['ReconnectFailedError', 'IPCEZ_ERR_RECONNECT_FAILED', () => new ipcez.ReconnectFailedError('/tmp/x', 1, 'x')],
  ['SendTimeoutError', 'IPCEZ_ERR_SEND_TIMEOUT', () => new ipcez.SendTimeoutError(1)],
  ['ProtocolError', 'IPCEZ_ERR_PROTOCOL', () => new ipcez.ProtocolError('ACK 0')],
  ['ConnectionLimitError', 'IPCEZ_ERR_CONNECTION_LIMIT', () => new ipcez.ConnectionLimitError('/tmp/x', 1)],
  [
    'PartialFrameLimitError',
    'IPCEZ_ERR_PARTIAL_FRAME_LIMIT',
    () => new ipcez.PartialFrameLimitError('/tmp/x', 2, 1, 2),
  ],
  ['FrameTimeoutError', 'IPCEZ_ERR_FRAME_TIMEOUT', () => new ipcez.FrameTimeoutError('/tmp/x', 1, 1)],
  ['IdleTimeoutError', 'IPCEZ_ERR_IDLE_TIMEOUT', () => new ipcez.IdleTimeoutError('/tmp/x', 1)],
] as const;

describe('the facade error classes', () => {
  it.each(classes)(
    '%s is exported with code %s, extends IpcezError, and is the @ipcez/core class itself',
    (name, code, make) => {
      const error = make();
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
      expect(error).toBeInstanceOf(ipcez.IpcezError);
      expect(ipcez[name]).toBe(core[name]);
      expect(ipcez.isIpcezError(error, code)).toBe(true);
    },
  );

  it('covers every code ipcez has, and ConnectionLostError extends IoError', () => {
    expect(classes.map(([, code]) => code).sort()).toEqual([...ipcez.IPCEZ_ERROR_CODES].sort());
    expect(new ipcez.ConnectionLostError('reset')).toBeInstanceOf(ipcez.IoError);
  });
});
