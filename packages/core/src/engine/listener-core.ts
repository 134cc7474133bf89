import type { IpcezError } from '@ipcez/framing';
import type { Connection, Listener, TransportKind } from '../contracts.js';
import { describeValue } from '../describe-value.js';
import { ConnectionLostError, IoError, invalidArgError, isIpcezError } from '../errors.js';
import { Inbox } from '../inbox.js';
import { ConnectionLimitError } from '../limit-errors.js';

/** What a transport gives the {@link ListenerCore}: its server handle's lifecycle. */
export interface ListenerCoreOptions {
  /** Which transport it serves. */
  readonly transport: TransportKind;
  /** The resolved endpoint. */
  readonly endpoint: string;
  /** After it is ready, an abort closes the listener (the listener removes its abort listener on close). */
  readonly signal?: AbortSignal | undefined;
  /** `ListenOptions.beforeClose`: called first, once, when closing starts (any path). */
  readonly beforeClose?: (() => void) | undefined;
  /**
   * Stops accepting: called once, first in `close()`. The promise (awaited after every
   * accepted connection closed) settles when the server handle is closed; it must not reject.
   */
  readonly stop: () => Promise<void>;
  /** Called once the accepted connections are closed, before the server handle is awaited (drop leftovers). */
  readonly afterConnectionsClosed?: () => void;
  /** Called last, after the server handle closed (remove the socket file, release listeners). */
  readonly release?: () => void | Promise<void>;
  /** Connections served at once, enforced by {@link ListenerCore.admit} (default: no cap). */
  readonly maxConnections?: number | undefined;
  /** Told of each connection {@link ListenerCore.admit} refused. */
  readonly onRefused?: ((error: IpcezError) => void) | undefined;
}

/** Terminal errors of the connection inbox that end iteration normally (a local close). */
const closedNormally = new WeakSet<Error>();

// close() / fail(error):
//
//   listening --> beforeClose() --> stop accepting (stop()) and close every accepted connection, in parallel
//   --> connections closed: afterConnectionsClosed() --> server handle closed --> release()
//   --> iteration ends (normally, or with the failure) --> `closed` resolves (undefined, or
//   the failure) --> closed

/**
 * The one listener shell of ipcez: connection handler or iteration (one consumer; accepted
 * connections kept until one exists), the set of accepted connections closed with the
 * listener, an abort signal, and the error channel: a listener that fails after it started
 * (the OS server handle reports an error) closes itself and reports the error to its owner,
 * as the `closed` promise's value and by ending iteration with it — never swallowed. Every
 * transport's listener is this core plus its server handle.
 *
 * **Ownership.** It **owns** the connections it accepted (closed on close) and, through the
 * `stop`/`release` hooks, the server handle.
 *
 * @example
 * ```ts
 * const core = new ListenerCore({ transport: 'unix', endpoint, stop: () => closeServer(server) });
 * server.on('connection', (socket) => core.accept(createStreamConnection(socket, { transport: 'unix', endpoint })));
 * server.on('error', (error) => core.fail(new IoError(`accepting on ${endpoint} failed`, { cause: error })));
 * ```
 */
export class ListenerCore implements Listener {
  readonly #options: ListenerCoreOptions;
  readonly #inbox = new Inbox<Connection, IpcezError>({ isCleanEnd: (error) => closedNormally.has(error) });
  readonly #connections = new Set<Connection>();
  #onAbort: (() => void) | undefined;
  #closePromise: Promise<void> | undefined;
  #failure: IpcezError | undefined;
  readonly closed: Promise<IpcezError | undefined>;
  #resolveClosed!: (error: IpcezError | undefined) => void;

  /**
   * @param options - {@link ListenerCoreOptions}.
   */
  constructor(options: ListenerCoreOptions) {
    this.#options = options;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const { signal } = options;
    if (signal !== undefined) {
      this.#onAbort = () => {
        void this.close();
      };
      if (signal.aborted) queueMicrotask(this.#onAbort);
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Which transport it serves. */
  get transport(): TransportKind {
    return this.#options.transport;
  }

  /** The resolved endpoint. */
  get endpoint(): string {
    return this.#options.endpoint;
  }

  /** Whether it still accepts connections (`false` from the first `close()` or failure on). */
  get isListening(): boolean {
    return this.#closePromise === undefined;
  }

  /**
   * Whether one more connection may be served now (`maxConnections`; a connection that has
   * ended frees its slot at once). When not, the refusal is reported to `onRefused` as a
   * {@link ConnectionLimitError} and the transport closes the new socket without reading it.
   * Call it right before creating the connection and handing it to {@link accept}.
   *
   * @returns `true` to serve the connection, `false` to close it.
   */
  admit(): boolean {
    const limit = this.#options.maxConnections ?? Number.POSITIVE_INFINITY;
    const connections = this.#connections;
    if (connections.size < limit) return true;
    for (const old of connections) if (old.state === 'closed') connections.delete(old);
    if (connections.size < limit) return true;
    this.#options.onRefused?.(new ConnectionLimitError(this.#options.endpoint, limit));
    return false;
  }

  /**
   * Hands over one accepted connection (the transport calls it). After close it is destroyed.
   *
   * @param connection - the accepted connection, now owned by the listener.
   */
  accept(connection: Connection): void {
    if (this.#closePromise !== undefined) {
      connection.destroy();
      return;
    }
    for (const old of this.#connections) if (old.state === 'closed') this.#connections.delete(old);
    this.#connections.add(connection);
    this.#inbox.push(connection);
  }

  /**
   * The error channel (the transport calls it): the server failed after it started. The
   * listener closes itself; `closed` resolves with `error` and iteration throws it. Only the
   * first failure counts; ignored once closed normally.
   *
   * @param error - what failed.
   */
  fail(error: IpcezError): void {
    if (this.#closePromise !== undefined) return;
    this.#failure = error;
    void this.close();
  }

  /**
   * Sets the one connection handler: connections accepted so far are handed over at once, in
   * order, then each new one as it is accepted. Excludes async iteration.
   *
   * @param handler - called with each accepted connection; its throws propagate.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when not a function or a consumer is already set.
   */
  connectionHandler(handler: (connection: Connection) => void): void {
    if (typeof handler !== 'function')
      throw invalidArgError(`handler must be a function, got ${describeValue(handler)}`);
    this.#inbox.setHandler((result) => {
      if (result.ok) handler(result.value);
    });
  }

  /**
   * Iterates accepted connections (excludes `connectionHandler`); ends when the listener
   * closes, or throws the failure of a listener that failed.
   *
   * @returns an async iterator of connections.
   */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  /**
   * Stops accepting, closes every accepted connection still open (gracefully), releases the
   * endpoint. Idempotent; same promise every call; never rejects.
   *
   * @returns resolves once everything is released.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  /**
   * Same as `close()`, for `await using`.
   *
   * @returns the `close()` promise.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    const options = this.#options;
    if (this.#onAbort !== undefined) options.signal?.removeEventListener('abort', this.#onAbort);
    try {
      options.beforeClose?.();
    } catch (error) {
      this.#failure ??= isIpcezError(error)
        ? error
        : new IoError(`closing the listener on ${options.endpoint} failed: ${String(error)}`, { cause: error });
    }
    const stopped = options.stop();
    await Promise.all([...this.#connections].map((connection) => connection.close()));
    this.#connections.clear();
    options.afterConnectionsClosed?.();
    await stopped;
    try {
      await options.release?.();
    } finally {
      const failure = this.#failure;
      let end: IpcezError;
      if (failure === undefined) {
        end = new ConnectionLostError('local-close', `listener on ${options.endpoint} closed`);
        closedNormally.add(end);
      } else {
        end = failure;
      }
      this.#inbox.end(end);
      this.#resolveClosed(failure);
    }
  }
}
