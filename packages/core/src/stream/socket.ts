import { addAbortListener, once } from 'node:events';
import net from 'node:net';

/**
 * Opens a `net.Socket` to a Unix socket path or a Windows pipe name and waits until it is
 * connected. Rejects with the OS error (the socket destroyed and closed), or with
 * `signal.reason` when the signal aborts first.
 *
 * @param address - the socket path or pipe name, as `net.connect({ path })` takes it.
 * @param signal - aborts the attempt.
 * @returns the connected socket (the caller owns it).
 * @example
 * ```ts
 * const socket = await openSocket('/tmp/app.sock', AbortSignal.timeout(1000));
 * ```
 */
export async function openSocket(address: string, signal: AbortSignal | undefined): Promise<net.Socket> {
  signal?.throwIfAborted();
  const socket = net.connect({ path: address });
  let abort: Disposable | undefined;
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
        abort = addAbortListener(signal, () => {
          socket.off('connect', onConnect);
          socket.off('error', onError);
          reject(signal.reason as Error);
        });
      }
    });
    return socket;
  } catch (error) {
    await destroySocket(socket);
    throw error;
  } finally {
    abort?.[Symbol.dispose]();
  }
}

/**
 * Destroys a socket and waits for its `'close'` (at once if it is closed already).
 *
 * @param socket - the socket.
 * @returns resolves once the socket is closed.
 * @example
 * ```ts
 * await destroySocket(probe);
 * ```
 */
export async function destroySocket(socket: net.Socket): Promise<void> {
  if (socket.closed) return;
  const closed = once(socket, 'close');
  socket.destroy();
  await closed;
}

/** What answers at a local endpoint: a live server, or the OS error of the connect attempt. */
export type ProbeResult = { readonly isLive: true } | { readonly isLive: false; readonly error: unknown };

/**
 * The liveness check both local listeners run before they bind: connects once to see whether
 * a live server answers `address` (the probe connection is closed at once; the live server
 * sees a client that connects and leaves).
 *
 * @param address - socket path or pipe name.
 * @param signal - aborts the check (rejects with `signal.reason`).
 * @returns `{ isLive: true }`, or `{ isLive: false, error }` with the connect failure for the
 *   transport to interpret (`ECONNREFUSED`, `ENOENT`, `EACCES` ...).
 * @example
 * ```ts
 * const probe = await probeEndpoint('/tmp/app.sock', undefined);
 * if (probe.isLive) throw new EndpointInUseError('/tmp/app.sock');
 * ```
 */
export async function probeEndpoint(address: string, signal: AbortSignal | undefined): Promise<ProbeResult> {
  let socket: net.Socket;
  try {
    socket = await openSocket(address, signal);
  } catch (error) {
    if (signal?.aborted === true && error === signal.reason) throw error;
    return { isLive: false, error };
  }
  await destroySocket(socket);
  return { isLive: true };
}

/**
 * Closes a `net.Server` and resolves once it is closed (never rejects: a server that was not
 * listening is closed already).
 *
 * @param server - the server.
 * @returns resolves once the handle is closed.
 * @example
 * ```ts
 * await closeServer(server);
 * ```
 */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}
