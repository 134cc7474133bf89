import type net from 'node:net';
import type { IpcezError } from '@ipcez/framing';
import type { Listener, TransportKind } from '../contracts.js';
import { ListenerCore } from '../engine/listener-core.js';
import { MessageConnection } from '../engine/message-connection.js';
import { resolveListenerLimits } from '../options.js';
import type { ResolvedListenerLimits } from '../options.js';
import { PartialFrameBudget } from './partial-frame-budget.js';
import { closeServer } from './socket.js';
import { StreamLink } from './stream-link.js';

/** What {@link startStreamListener} needs besides the server. */
export interface StreamListenerSettings {
  /** Which transport it serves (`'unix'` or `'pipe'`). */
  readonly transport: TransportKind;
  /** The resolved endpoint. */
  readonly endpoint: string;
  /** Closes the listener once it is ready (see `ListenerCore`). */
  readonly signal: AbortSignal | undefined;
  /** `ListenOptions.beforeClose`. */
  readonly beforeClose: (() => void) | undefined;
  /** Payload limit of accepted connections. */
  readonly maxMessageBytes: number;
  /** High-water mark of accepted connections. */
  readonly highWaterMark: number;
  /** Turns a failure of the listening server into the error its owner gets. */
  readonly failure: (error: Error) => IpcezError;
  /** Called last in `close()`, after the server handle closed (e.g. remove the socket file). */
  readonly release?: () => void;
  /**
   * Decides, per accepted socket and before anything of it is read, whether to serve it; a
   * socket refused (or whose check throws or rejects) is destroyed, unseen by the owner.
   */
  readonly verifyPeer?: ((socket: net.Socket) => boolean | Promise<boolean>) | undefined;
  /**
   * The per-listener limits (`resolveListenerLimits`): connections at once, memory in
   * partial frames across connections, frame and idle timeouts. Default: the defaults of
   * `ListenOptions`.
   */
  readonly limits?: ResolvedListenerLimits | undefined;
}

/**
 * The listener of a local transport: `ListenerCore` over a listening `net.Server` whose
 * accepted sockets become framed-message connections. It **owns** the server (closed on
 * close) and the connections. A server `'error'` after listening goes to the error channel.
 *
 * @param server - a listening server, now owned.
 * @param settings - {@link StreamListenerSettings}.
 * @returns the listener.
 * @example
 * ```ts
 * const listener = startStreamListener(server, { transport: 'unix', endpoint, signal, beforeClose, maxMessageBytes, highWaterMark, failure: (e) => new IoError(e.message, { cause: e }) });
 * ```
 */
export function startStreamListener(server: net.Server, settings: StreamListenerSettings): Listener {
  const { transport, endpoint, maxMessageBytes, highWaterMark, verifyPeer } = settings;
  const limits = settings.limits ?? resolveListenerLimits(undefined);
  // One budget for every connection of this listener: the memory their partial frames hold.
  const partialFrameBudget = new PartialFrameBudget(limits.maxPartialBytes);
  const serve = (socket: net.Socket): void => {
    if (!core.admit()) {
      // Past maxConnections: closed before anything of it is read (admit reported why).
      socket.destroy();
      return;
    }
    const link = new StreamLink(socket, {
      endpoint,
      maxMessageBytes,
      frameTimeoutMs: limits.frameTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
      partialFrameBudget,
    });
    core.accept(new MessageConnection(link, { transport, endpoint, maxMessageBytes, highWaterMark }));
  };
  const onConnection = (socket: net.Socket): void => {
    if (verifyPeer === undefined) {
      serve(socket);
      return;
    }
    // Nothing is read from the socket until it is served (no 'data' listener yet).
    Promise.resolve()
      .then(() => verifyPeer(socket))
      .then(
        (isAccepted) => {
          if (isAccepted && core.isListening && !socket.destroyed) serve(socket);
          else socket.destroy();
        },
        () => {
          socket.destroy();
        },
      );
  };
  const onError = (error: Error): void => {
    // A failure after listening (EMFILE on accept, a refused pipe instance ...): the
    // listener's owner hears of it.
    core.fail(settings.failure(error));
  };
  const core: ListenerCore = new ListenerCore({
    transport,
    endpoint,
    signal: settings.signal,
    beforeClose: settings.beforeClose,
    maxConnections: limits.maxConnections,
    onRefused: limits.onRefused,
    stop: () => closeServer(server),
    release: () => {
      server.off('connection', onConnection);
      server.off('error', onError);
      settings.release?.();
    },
  });
  server.on('connection', onConnection);
  server.on('error', onError);
  return core;
}
