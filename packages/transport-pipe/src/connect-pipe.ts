import { addAbortListener } from 'node:events';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';

import { IoError, invalidArgError } from '@ipcez/core';
import type { Connection } from '@ipcez/core';
import { createStreamConnection } from '@ipcez/core/stream';

import { destroyAndWait, osCodeOf } from './os-error.js';
import { resolveConnectOptions } from './pipe-options.js';
import type { PipeConnectOptions, ResolvedPipeConnectOptions } from './pipe-options.js';
import { isPipeSupported, unsupportedPlatform } from './platform.js';
import { resolvePipeName } from './resolve-pipe-name.js';

/**
 * Opens a raw client socket to a pipe and resolves when it is connected. On failure or
 * abort the socket's handle is closed before the promise settles.
 *
 * @param pipeName - the full pipe name.
 * @param signal - aborts the attempt; rejects with `signal.reason`.
 * @returns the connected socket.
 */
export async function openPipeSocket(pipeName: string, signal: AbortSignal | undefined): Promise<Socket> {
  signal?.throwIfAborted();
  const socket = createConnection({ path: pipeName });
  let abortListener: Disposable | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.off('connect', onConnect);
        reject(error);
      };
      const onConnect = (): void => {
        socket.off('error', onError);
        resolve();
      };
      socket.once('connect', onConnect);
      socket.once('error', onError);
      if (signal !== undefined) {
        abortListener = addAbortListener(signal, () => {
          socket.off('connect', onConnect);
          socket.off('error', onError);
          reject(signal.reason as Error);
        });
      }
    });
    return socket;
  } catch (error) {
    await destroyAndWait(socket);
    throw error;
  } finally {
    abortListener?.[Symbol.dispose]();
  }
}

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
  const resolved = resolveConnectOptions(options);
  return connectResolved(endpoint, resolved);
}

async function connectResolved(endpoint: string, options: ResolvedPipeConnectOptions): Promise<Connection> {
  if (!isPipeSupported()) throw unsupportedPlatform();
  const pipeName = resolvePipeName(endpoint);
  let socket: Socket;
  try {
    socket = await openPipeSocket(pipeName, options.signal);
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
