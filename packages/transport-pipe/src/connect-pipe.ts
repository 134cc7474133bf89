import type { Socket } from 'node:net';

import { IoError, invalidArgError, resolveCommonOptions } from '@ipcez/core';
import type { Connection, ResolvedCommonOptions } from '@ipcez/core';
import { createStreamConnection, openSocket } from '@ipcez/core/stream';

import { osCodeOf } from './os-error.js';
import type { PipeConnectOptions } from './pipe-options.js';
import { isPipeSupported, unsupportedPlatform } from './platform.js';
import { resolvePipeName } from './resolve-pipe-name.js';

/**
 * Connects to a Windows named pipe and returns a framed-message {@link Connection}.
 *
 * **Platform behaviour.** Windows only: elsewhere the promise rejects with
 * `UnsupportedPlatformError` (checked when called, never at import). The endpoint maps to a
 * pipe name with {@link resolvePipeName}. A server whose pipe instances are all busy makes
 * Windows wait for a free one (libuv's `WaitNamedPipe` loop); `signal` ends that wait. There
 * is no half-close on a named pipe: see the package README.
 *
 * @param endpoint - `\\.\pipe\name` or just `name`.
 * @param options - {@link PipeConnectOptions}.
 * @returns the open connection; it **owns** its pipe handle.
 * @throws TypeError/RangeError `IPCEZ_ERR_INVALID_ARG`, synchronously, for a non-string
 *   endpoint or a bad option.
 * @throws UnsupportedPlatformError `IPCEZ_ERR_UNSUPPORTED_PLATFORM` (rejection) outside Windows.
 * @throws InvalidEndpointError `IPCEZ_ERR_INVALID_ENDPOINT` (rejection) for an empty or too long
 *   pipe name (see {@link resolvePipeName}).
 * @throws IoError `IPCEZ_ERR_IO` (rejection) when the OS refuses: `osCode` `'ENOENT'` when no
 *   server listens on the name, `'EACCES'` when its security descriptor denies us; the OS
 *   error is the `cause`.
 * @throws the `signal`'s reason (rejection) when it aborts first.
 * @example
 * ```ts
 * const connection = await connectPipe('my-app');
 * await connection.send(new TextEncoder().encode('hello'));
 * await connection.close();
 * ```
 */
export function connectPipe(endpoint: string, options?: PipeConnectOptions): Promise<Connection> {
  const value: unknown = endpoint;
  if (typeof value !== 'string') {
    throw invalidArgError(`endpoint must be a string, got ${value === null ? 'null' : typeof value}`);
  }
  const resolved = resolveCommonOptions(options);
  return connectResolved(endpoint, resolved);
}

async function connectResolved(endpoint: string, options: ResolvedCommonOptions): Promise<Connection> {
  if (!isPipeSupported()) throw unsupportedPlatform();
  const pipeName = resolvePipeName(endpoint);
  let socket: Socket;
  try {
    socket = await openSocket(pipeName, options.signal);
  } catch (error) {
    if (options.signal?.aborted === true && error === options.signal.reason) throw error;
    const what = osCodeOf(error) === 'ENOENT' ? 'no server listens on' : 'cannot connect to';
    throw new IoError(`${what} ${pipeName}: ${(error as Error).message}`, { cause: error, path: pipeName });
  }
  return createStreamConnection(socket, {
    transport: 'pipe',
    endpoint: pipeName,
    maxMessageBytes: options.maxMessageBytes,
    highWaterMark: options.highWaterMark,
  });
}
