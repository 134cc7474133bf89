import { Inbox, describeValue, invalidArgError } from '@ipcez/core';
import type { Connection, IpcezError, Listener, TransportKind } from '@ipcez/core';
import { ConnectionSet } from './connection-set.js';
import type { BroadcastResult } from './connection-set.js';
import { debug, traceConnection } from './debug.js';
import { IpcezSocket } from './socket.js';
import type { AckInfo, Socket } from './socket.js';

/**
 * A listening ipcez endpoint, the same on every transport: returned by `listen`.
 *
 * - `connectionHandler(cb)` gets each accepted connection as a {@link Socket}; connections
 *   accepted before a handler is set are kept. `for await (const socket of server)` works
 *   too (one or the other).
 * - `endpoint` is the resolved endpoint (absolute socket path, full pipe name, or the URL
 *   with the port actually bound).
 * - `close()` is idempotent (same promise each call): it stops accepting, closes every
 *   accepted socket still open, and releases the endpoint (socket file, ack signals).
 * - A server whose listener fails after it started (the OS refuses to accept ...) closes
 *   itself the same way (ack signals unlinked first); `for await` then throws the error and
 *   `closed` resolves with it: the failure is never swallowed.
 *
 * The server **owns** its listener and the sockets it accepted.
 */
export interface Server extends AsyncDisposable, AsyncIterable<Socket> {
  /** The transport it serves: `'unix'`, `'pipe'` or `'ws'`. */
  readonly transport: TransportKind;
  /** The resolved endpoint. */
  readonly endpoint: string;
  /**
   * This server's `ack` option: whether its own sends wait for acks where a connection has
   * them (each socket's `ackMode` and `isAcked` say what it got).
   */
  readonly isAcked: boolean;
  /** Whether it still accepts connections. */
  readonly isListening: boolean;
  /**
   * Sets the one connection handler.
   *
   * @param handler - called with each accepted socket, in order.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when a handler is already set or the server is being iterated.
   */
  connectionHandler(handler: (socket: Socket) => void): void;
  /** The accepted sockets that are still open, in accept order (a snapshot). */
  readonly connections: readonly Socket[];
  /**
   * Sends one message to every open accepted socket at once, and reports per socket: it
   * never rejects; a socket whose send failed (gone, ack timeout, too large) has `ok: false`
   * and the `error`.
   *
   * @param message - bytes or a string (UTF-8), as for `sendMessage`.
   * @returns one {@link BroadcastResult} per socket that was open, in accept order.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, for a message that is neither.
   */
  broadcast(message: Uint8Array | string): Promise<BroadcastResult[]>;
  /** Stops listening and closes accepted sockets. Idempotent; same promise each call. */
  close(): Promise<void>;
  /**
   * Settles once the server is closed: with `undefined` after `close()`, or with the error
   * of a listener that failed after it started (the server then closed itself). Never rejects.
   */
  readonly closed: Promise<IpcezError | undefined>;
}

/** Hooks the facade runs around a listener: wrapping accepted connections, releasing extras. */
export interface ServerHooks {
  /**
   * Wraps each accepted connection (delivery acknowledgement: it may first negotiate the
   * protocol, so it may take a moment); the socket is handed over once it resolves.
   */
  readonly wrap: (connection: Connection) => (Connection & AckInfo) | Promise<Connection & AckInfo>;
  /** Whether this server's own sends wait for acks (its `ack` option). */
  readonly isAcked: boolean;
  /** The accepted sockets' `sendTimeoutMs`, if any. */
  readonly sendTimeoutMs?: number | undefined;
  /** Runs first in `close()`, before the listener closes (e.g. drop the abort listener). */
  readonly beforeClose?: () => void;
  /** Runs last in `close()`, after the listener closed (e.g. close the ack signal handles). */
  readonly afterClose?: () => Promise<void>;
}

class ServerClosed extends Error {}

/** The one implementation of {@link Server}. */
export class IpcezServer implements Server {
  readonly #listener: Listener;
  readonly #hooks: ServerHooks;
  readonly #inbox = new Inbox<Socket, Error>({ isCleanEnd: (error) => error instanceof ServerClosed });
  readonly #connections = new ConnectionSet();
  #closing: Promise<void> | undefined;
  #failure: IpcezError | undefined;
  readonly closed: Promise<IpcezError | undefined>;

  constructor(listener: Listener, hooks: ServerHooks) {
    this.#listener = listener;
    this.#hooks = hooks;
    // Sockets are handed over in accept order, each once its ack mode is known (a connection
    // negotiates protocol v2 for at most the listener's negotiation timeout).
    let handOver: Promise<void> = Promise.resolve();
    listener.connectionHandler((connection) => {
      const wrapped = Promise.resolve().then(() => hooks.wrap(connection));
      handOver = handOver.then(() =>
        wrapped.then(
          (acked) => {
            if (acked.state === 'closed' && this.#closing !== undefined) return;
            const socket = new IpcezSocket(traceConnection(acked, 'server', acked.isAcked), acked);
            this.#connections.add(socket);
            this.#inbox.push(socket);
          },
          (error: unknown) => {
            debug('server %s: dropped a connection that failed to start: %s', this.endpoint, String(error));
            connection.destroy();
          },
        ),
      );
    });
    // The listener's error channel: a failure after it started closes this server too, in
    // the server's order (ack signals unlinked first), and ends iteration with the error.
    this.closed = listener.closed.then(async (error) => {
      if (error !== undefined) {
        this.#failure ??= error;
        await this.close();
      }
      return this.#failure;
    });
  }

  get transport(): TransportKind {
    return this.#listener.transport;
  }

  get endpoint(): string {
    return this.#listener.endpoint;
  }

  get isAcked(): boolean {
    return this.#hooks.isAcked;
  }

  get isListening(): boolean {
    return this.#listener.isListening;
  }

  connectionHandler(handler: (socket: Socket) => void): void {
    if (typeof handler !== 'function') {
      throw invalidArgError(`handler must be a function, got ${describeValue(handler)}`);
    }
    this.#inbox.setHandler((result) => {
      if (result.ok) handler(result.value);
    });
  }

  get connections(): readonly Socket[] {
    return this.#connections.live();
  }

  broadcast(message: Uint8Array | string): Promise<BroadcastResult[]> {
    return this.#connections.broadcast(message);
  }

  close(): Promise<void> {
    if (this.#closing === undefined) debug('server %s: close()', this.endpoint);
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Order (the ack README): unlink the signal pair first, then close
    // the listener (which removes its socket file only if it is still the one it made).
    try {
      this.#hooks.beforeClose?.();
    } finally {
      try {
        await this.#listener.close();
      } finally {
        this.#inbox.end(this.#failure ?? new ServerClosed('server closed'));
        await this.#hooks.afterClose?.();
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Socket> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
