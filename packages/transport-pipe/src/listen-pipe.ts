import { createServer } from 'node:net';
import type { Server } from 'node:net';

import { EndpointInUseError, IoError, invalidArgError, resolveCommonOptions, resolveListenerLimits } from '@ipcez/core';
import type { Listener, ResolvedCommonOptions, ResolvedListenerLimits } from '@ipcez/core';
import { closeServer, listenServer, probeEndpoint, startStreamListener } from '@ipcez/core/stream';

import { osCodeOf } from './os-error.js';
import type { PipeListenOptions } from './pipe-options.js';
import { isPipeSupported, unsupportedPlatform } from './platform.js';
import { resolvePipeName } from './resolve-pipe-name.js';

/**
 * Listens on a Windows named pipe; each client that connects becomes a framed-message
 * `Connection` of the returned `Listener`. Any number of clients at once.
 *
 * Order (as `@ipcez/ack` requires): first make sure no live server answers the
 * name (a client connect; if one answers, `EndpointInUseError` and nothing is touched), then
 * await `options.beforeBind(pipeName)`, then create the pipe.
 *
 * **Platform behaviour.** Windows only: elsewhere the promise rejects with
 * `UnsupportedPlatformError` (checked when called, never at import). The endpoint maps to a
 * pipe name with {@link resolvePipeName}. A pipe has no file: nothing is left behind to
 * clean up, and Windows frees the name when the listener closes. The pipe gets Windows'
 * default security descriptor (no 0600 mode as on Unix; see the README). A server that
 * appears between the check and the bind is reported by Windows (libuv creates the first
 * instance with `FILE_FLAG_FIRST_PIPE_INSTANCE`) and also becomes `EndpointInUseError`;
 * wine does not enforce that flag, so there only the check protects the name.
 *
 * @param endpoint - `\\.\pipe\name` or just `name`.
 * @param options - {@link PipeListenOptions}.
 * @returns the listener, listening: `endpoint` is the full pipe name; it **owns** the pipe and
 *   the connections it accepts; `close()` stops accepting, closes those connections and frees
 *   the name (see `Listener` in `@ipcez/core`).
 * @throws TypeError/RangeError `IPCEZ_ERR_INVALID_ARG`, synchronously, for a non-string
 *   endpoint or a bad option.
 * @throws UnsupportedPlatformError `IPCEZ_ERR_UNSUPPORTED_PLATFORM` (rejection) outside Windows.
 * @throws InvalidEndpointError `IPCEZ_ERR_INVALID_ENDPOINT` (rejection) for an empty or too long
 *   pipe name.
 * @throws EndpointInUseError `IPCEZ_ERR_ENDPOINT_IN_USE` (rejection) when a live server already
 *   owns the name.
 * @throws IoError `IPCEZ_ERR_IO` (rejection) for another OS failure, the OS error as `cause`.
 * @throws whatever `beforeBind` throws (rejection); nothing is bound then.
 * @throws the `signal`'s reason (rejection) when it aborts before the listener is ready;
 *   an abort after that closes the listener.
 * @example
 * ```ts
 * const listener = await listenPipe('my-app');
 * listener.connectionHandler((connection) => {
 *   connection.messageHandler((result) => {
 *     if (result.ok) void connection.send(result.message); // echo
 *   });
 * });
 * ```
 */
export function listenPipe(endpoint: string, options?: PipeListenOptions): Promise<Listener> {
  const value: unknown = endpoint;
  if (typeof value !== 'string') {
    throw invalidArgError(`endpoint must be a string, got ${value === null ? 'null' : typeof value}`);
  }
  const resolved = resolveCommonOptions(options);
  return listenResolved(endpoint, resolved, resolveListenerLimits(options));
}

async function listenResolved(
  endpoint: string,
  options: ResolvedCommonOptions,
  limits: ResolvedListenerLimits,
): Promise<Listener> {
  if (!isPipeSupported()) throw unsupportedPlatform();
  const pipeName = resolvePipeName(endpoint);
  const { signal } = options;
  await assertNoLiveServer(pipeName, signal);
  if (options.beforeBind !== undefined) await options.beforeBind(pipeName);
  signal?.throwIfAborted();
  const server = await bind(pipeName, signal);
  return startListener(server, pipeName, options, limits);
}

/**
 * A listening named pipe: the core's stream listener over the `net.Server`. It **owns** the
 * server (the pipe name; Windows frees it when the last server instance closes) and every
 * connection it accepted. A server that fails after it started (the OS refuses a new pipe
 * instance) closes the listener and is reported to its owner.
 */
function startListener(
  server: Server,
  pipeName: string,
  options: ResolvedCommonOptions,
  limits: ResolvedListenerLimits,
): Listener {
  return startStreamListener(server, {
    limits,
    transport: 'pipe',
    endpoint: pipeName,
    signal: options.signal,
    beforeClose: options.beforeClose,
    maxMessageBytes: options.maxMessageBytes,
    highWaterMark: options.highWaterMark,
    failure: (error) =>
      new IoError(`pipe server ${pipeName} failed: ${error.message}`, { cause: error, path: pipeName }),
  });
}

/**
 * Connects to the name as a client: a live server answers (→ `EndpointInUseError`), or
 * `ENOENT` says no pipe of that name exists. The probe connection is closed at once; the
 * live server sees a client that connects and leaves.
 */
async function assertNoLiveServer(pipeName: string, signal: AbortSignal | undefined): Promise<void> {
  const probe = await probeEndpoint(pipeName, signal);
  if (probe.isLive) throw new EndpointInUseError(pipeName);
  const { error } = probe;
  const code = osCodeOf(error);
  if (code === 'ENOENT') return;
  // The pipe exists but its security descriptor refuses us, or every instance is busy:
  // either way a live server owns the name.
  if (code === 'EACCES' || code === 'EPERM' || code === 'EBUSY') {
    throw new EndpointInUseError(pipeName, { cause: error });
  }
  throw new IoError(`cannot check whether a server owns ${pipeName}: ${(error as Error).message}`, {
    cause: error,
    path: pipeName,
  });
}

/** Creates the pipe (the first server instance) and resolves once it is listening. */
async function bind(pipeName: string, signal: AbortSignal | undefined): Promise<Server> {
  const server = createServer();
  try {
    await listenServer(server, pipeName, signal);
    return server;
  } catch (error) {
    await closeServer(server);
    if (signal?.aborted === true && error === signal.reason) throw error;
    // libuv maps ERROR_ACCESS_DENIED from CreateNamedPipe(FILE_FLAG_FIRST_PIPE_INSTANCE) to
    // EADDRINUSE: another server created the name after our check.
    if (osCodeOf(error) === 'EADDRINUSE') throw new EndpointInUseError(pipeName, { cause: error });
    throw new IoError(`cannot listen on ${pipeName}: ${(error as Error).message}`, { cause: error, path: pipeName });
  }
}
