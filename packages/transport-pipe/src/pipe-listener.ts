import { addAbortListener } from 'node:events';
import type { Server, Socket } from 'node:net';

import { ConnectionLostError, Inbox, IoError, invalidArgError } from '@ipcez/core';
import type { Connection, Listener } from '@ipcez/core';
import type { IpcezError } from '@ipcez/framing';
import { createStreamConnection } from '@ipcez/core/stream';

import type { ResolvedPipeListenOptions } from './pipe-options.js';

/** Terminal errors of the listener's inbox that end iteration normally. */
const cleanEnds = new WeakSet<Error>();

/**
 * A listening Windows named pipe, made by `listenPipe` (not exported: users see `Listener`). Accepted pipe instances become
 * framed-message {@link Connection}s.
 *
 * **Ownership.** The listener **owns** its `net.Server` (the pipe name) and every
 * connection it accepted: `close()` stops accepting (Windows frees the name when the last
 * server instance closes) and closes, gracefully, each accepted connection still open.
 *
 * **Contract.** `connectionHandler` is set at most once and excludes async iteration;
 * connections accepted before a consumer exists are kept in order. Iteration ends normally
 * when the listener closes. `close()` is idempotent and returns the same promise every call.
 * If the server fails after it started (rare: the OS refuses a new pipe instance), the
 * listener closes itself and iteration throws that `IoError`.
 */
export class PipeListener implements Listener {
  /** Always `'pipe'`. */
  readonly transport = 'pipe' as const;
  readonly #endpoint: string;
  readonly #server: Server;
  readonly #options: ResolvedPipeListenOptions;
  readonly #inbox = new Inbox<Connection, IpcezError>({ isCleanEnd: (error) => cleanEnds.has(error) });
  readonly #connections = new Set<Connection>();
  readonly #disposables: (() => void)[] = [];
  #closePromise: Promise<void> | undefined;

  /**
   * Wraps a server that is already listening on `endpoint` (internal: `listenPipe` makes it).
   * @param server - the listening server; the listener takes ownership.
   * @param endpoint - the full pipe name.
   * @param options - the resolved listen options.
   */
  constructor(server: Server, endpoint: string, options: ResolvedPipeListenOptions) {
    this.#server = server;
    this.#endpoint = endpoint;
    this.#options = options;
    const onConnection = (socket: Socket): void => {
      this.#accept(socket);
    };
    const onError = (error: Error): void => {
      void this.#shutdown(
        new IoError(`pipe server ${endpoint} failed: ${error.message}`, { cause: error, path: endpoint }),
      );
    };
    server.on('connection', onConnection);
    server.on('error', onError);
    this.#disposables.push(() => {
      server.off('connection', onConnection);
      server.off('error', onError);
    });
    const signal = options.signal;
    if (signal !== undefined) {
      const listener = addAbortListener(signal, () => {
        void this.close();
      });
      this.#disposables.push(() => {
        listener[Symbol.dispose]();
      });
    }
  }

  /** The full pipe name, `\\.\pipe\name`. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** Whether it still accepts connections (`false` from the first `close()` call on). */
  get isListening(): boolean {
    return this.#closePromise === undefined;
  }

  /**
   * Sets the one connection handler: connections accepted so far are handed over at once, in
   * order, then each new one as it is accepted. Excludes async iteration.
   *
   * @param handler - called synchronously with each accepted connection; its throws propagate.
   * @throws TypeError `IPCEZ_ERR_INVALID_ARG` when not a function or a consumer is already set.
   * @example
   * ```ts
   * listener.connectionHandler((connection) => connection.messageHandler(console.log));
   * ```
   */
  connectionHandler(handler: (connection: Connection) => void): void {
    if (typeof handler !== 'function') throw invalidArgError('handler must be a function');
    this.#inbox.setHandler((result) => {
      if (result.ok) handler(result.value);
    });
  }

  /**
   * Iterates accepted connections (excludes `connectionHandler`); ends when the listener
   * closes.
   *
   * @returns an async iterator of connections.
   */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  /**
   * Stops accepting, closes every accepted connection still open (gracefully: their queued
   * sends are flushed), and frees the pipe name. Idempotent; the same promise every call;
   * never rejects.
   *
   * @returns resolves when the server and every accepted connection are closed.
   * @example
   * ```ts
   * await listener.close();
   * ```
   */
  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    const end = new ConnectionLostError('local-close', `listener on ${this.#endpoint} closed`);
    cleanEnds.add(end);
    return this.#shutdown(end);
  }

  /**
   * Same as `close()`, for `await using`.
   *
   * @returns the `close()` promise.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #accept(socket: Socket): void {
    if (this.#closePromise !== undefined) {
      socket.destroy();
      return;
    }
    const connection = createStreamConnection(socket, {
      transport: 'pipe',
      endpoint: this.#endpoint,
      maxMessageBytes: this.#options.maxMessageBytes,
      highWaterMark: this.#options.highWaterMark,
    });
    this.#connections.add(connection);
    socket.once('close', () => {
      this.#connections.delete(connection);
    });
    this.#inbox.push(connection);
  }

  // close()/server error:
  //   listening --> stop accepting (server.close) and close the accepted connections, in
  //   parallel --> both done --> release listeners, end the inbox (iteration ends) --> closed.
  // Windows frees the pipe name when the last server instance is closed, so server.close()
  // resolving means a new listener may bind the name.
  #shutdown(end: IpcezError): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    const serverClosed = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    const connectionsClosed = Promise.all([...this.#connections].map((connection) => connection.close()));
    this.#closePromise = Promise.all([serverClosed, connectionsClosed]).then(() => {
      for (const dispose of this.#disposables.splice(0)) dispose();
      this.#inbox.end(end);
    });
    return this.#closePromise;
  }
}
