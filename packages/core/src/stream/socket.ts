import { addAbortListener, once } from 'node:events';
import net from 'node:net';

/**
 * How long a connect keeps retrying while the listener's accept backlog is full (`EAGAIN`):
 * 1 s, in growing steps from 1 ms.
 */
export const BACKLOG_RETRY_MS = 1000;

/**
 * Opens a `net.Socket` to a Unix socket path or a Windows pipe name and waits until it is
 * connected. A connect that finds the listener's accept backlog full (`EAGAIN`: clients arrive
 * faster than it accepts) is retried for up to 1 s. Rejects with the OS
 * error (the socket destroyed and closed), or with `signal.reason` when the signal aborts first.
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
  const deadline = performance.now() + BACKLOG_RETRY_MS;
  for (let delayMs = 1; ; delayMs = Math.min(delayMs * 2, 50)) {
    signal?.throwIfAborted();
    const socket = net.connect({ path: address });
    try {
      await settled(socket, 'connect', signal);
      return socket;
    } catch (error) {
      await destroySocket(socket);
      const isBacklogFull = (error as { code?: unknown }).code === 'EAGAIN';
      if (!isBacklogFull || performance.now() + delayMs > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/**
 * Resolves on `emitter`'s `event`; rejects with its first `'error'`, or with `signal.reason`
 * when the signal aborts first. Every listener it added is removed when it settles.
 */
function settled(emitter: net.Socket | net.Server, event: string, signal: AbortSignal | undefined): Promise<void> {
  let abort: Disposable | undefined;
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      emitter.off(event, onEvent);
      emitter.off('error', onError);
      abort?.[Symbol.dispose]();
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onEvent = (): void => {
      cleanup();
      resolve();
    };
    emitter.once(event, onEvent);
    emitter.once('error', onError);
    if (signal !== undefined) {
      abort = addAbortListener(signal, () => {
        cleanup();
        reject(signal.reason as Error);
      });
    }
  });
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
export type ProbeResult =
  | {
      /** A server accepted the probe connection. */
      readonly isLive: true;
    }
  | {
      /** Nothing accepted it. */
      readonly isLive: false;
      /** The connect failure, for the transport to interpret (`ECONNREFUSED`, `ENOENT` …). */
      readonly error: unknown;
    };

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

/**
 * Binds a `net.Server` to a socket path or pipe name and resolves once it is listening;
 * rejects with the OS error, or with `signal.reason` when the signal aborts first (the
 * caller closes the server then).
 *
 * @param server - the server.
 * @param address - socket path or pipe name.
 * @param signal - aborts the wait.
 * @returns resolves once listening.
 * @example
 * ```ts
 * await listenServer(server, '/tmp/app.sock', undefined);
 * ```
 */
export async function listenServer(
  server: net.Server,
  address: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const listening = settled(server, 'listening', signal);
  // Synchronously here: the Unix listener relies on the bind happening inside this call
  // (it sets the umask around it).
  server.listen({ path: address });
  await listening;
}
