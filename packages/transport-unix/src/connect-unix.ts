import type net from 'node:net';
import type { Connection, ConnectOptions, ResolvedCommonOptions } from '@ipcez/core';
import { UnsupportedPlatformError, invalidArgError, resolveCommonOptions } from '@ipcez/core';
import { createStreamConnection, openSocket } from '@ipcez/core/stream';
import { ioError } from './os-error.js';
import { resolveUnixEndpoint } from './resolve-unix-endpoint.js';

/**
 * Connects to a Unix domain socket and returns a framed-message {@link Connection}.
 *
 * **Platform behaviour.** POSIX systems only (on Windows, use `@ipcez/transport-pipe`); the
 * endpoint is mapped by `resolveUnixEndpoint` (relative paths against `process.cwd()`,
 * `@name` = Linux abstract socket).
 *
 * @param endpoint - a socket path (absolute or relative) or `@name`.
 * @param options - `signal` aborts the attempt; `maxMessageBytes` (both directions, default
 *   4 MiB) and `highWaterMark` (queued send bytes, default 1 MiB) configure the connection.
 * @returns the open connection; it owns its socket.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, for a non-string
 *   endpoint or bad options.
 * Rejects with `IoError` (`IPCEZ_ERR_IO`; `osCode` `ECONNREFUSED` when nothing listens on an
 * existing socket file, `ENOENT` when there is no file, `EACCES` ...; the OS error is the
 * `cause`), `InvalidEndpointError` (`IPCEZ_ERR_INVALID_ENDPOINT`, path too long),
 * `UnsupportedPlatformError` (`IPCEZ_ERR_UNSUPPORTED_PLATFORM`, Windows, or `@name` outside
 * Linux), or `signal.reason`.
 * @example
 * ```ts
 * const connection = await connectUnix('/tmp/app.sock');
 * connection.messageHandler((r) => { if (r.ok) console.log(r.message); });
 * await connection.send(new TextEncoder().encode('hello'));
 * ```
 */
export function connectUnix(endpoint: string, options?: ConnectOptions): Promise<Connection> {
  if (typeof endpoint !== 'string') throw invalidArgError(`endpoint must be a string, got ${typeof endpoint}`);
  const resolved = resolveCommonOptions(options);
  return connectResolved(endpoint, resolved);
}

async function connectResolved(endpoint: string, options: ResolvedCommonOptions): Promise<Connection> {
  const { signal } = options;
  signal?.throwIfAborted();
  if (process.platform === 'win32') throw new UnsupportedPlatformError('Unix domain sockets', process.platform);
  const target = resolveUnixEndpoint(endpoint);
  let socket: net.Socket;
  try {
    socket = await openSocket(target.address, signal);
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    throw ioError('connecting to', target.endpoint, error);
  }
  return createStreamConnection(socket, {
    transport: 'unix',
    endpoint: target.endpoint,
    maxMessageBytes: options.maxMessageBytes,
    highWaterMark: options.highWaterMark,
  });
}
