import type { IpcezError } from '@ipcez/framing';

/** The transports ipcez has. */
export type TransportKind = 'unix' | 'pipe' | 'ws';

/**
 * A connection's state. Every method checks it first:
 * `open` → (`close()`: `closing` → `closed`) or (`destroy()`/peer gone/error: `closed`).
 */
export type ConnectionState = 'open' | 'closing' | 'closed';

/**
 * One delivery to a message handler: each message as `{ ok: true, message }`, in order, then
 * exactly one `{ ok: false, error }` when the connection ends, then nothing more.
 */
export type MessageResult =
  | {
      /** A message arrived. */
      readonly ok: true;
      /** The message, whole. */
      readonly message: Uint8Array;
    }
  | {
      /** The connection ended: the last result. */
      readonly ok: false;
      /** Why it ended. */
      readonly error: IpcezError;
    };

/** Receives {@link MessageResult}s. Called synchronously, in order; its throws propagate. */
export type MessageHandler = (result: MessageResult) => void;

/** Options of {@link Connection.send}. */
export interface SendOptions {
  /** Abort waiting (under backpressure or for an ack); rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /**
   * What to do when `bufferedAmount` is at or past the high-water mark: `true` (default)
   * waits for room; `false` rejects at once with `SendBufferFullError` and queues nothing.
   */
  readonly wait?: boolean;
}

/**
 * One message connection. Messages are delivered whole, in order.
 *
 * **Contract.**
 * - `send` may be called many times without awaiting: sends are queued in order, never
 *   refused for being concurrent. It resolves when the message is handed to the OS (and,
 *   on an acknowledged connection, when it is acked). Past the high-water mark of queued
 *   bytes a send waits (or rejects, with `wait: false`). A message over the size limit
 *   rejects with `FrameTooLargeError` and nothing is written; the connection stays usable.
 * - `messageHandler` is set at most once (and excludes async iteration). Messages that
 *   arrive before it is set are kept, with reading paused while too much is buffered.
 * - The end is reported exactly once: the handler's one error result (`ConnectionLostError`
 *   for a peer gone or a local close, `FrameTooLargeError` for an oversized header, ...).
 *   Pending and later sends reject with `ConnectionLostError` (or that error).
 * - `close()` is graceful (queued sends are flushed first), idempotent, and returns the same
 *   promise every time; `destroy()` is abortive. Either releases every handle, listener and
 *   timer the connection owns. The connection **owns** its socket.
 */
export interface Connection extends AsyncDisposable, AsyncIterable<Uint8Array> {
  /** Which transport carries it. */
  readonly transport: TransportKind;
  /** The resolved endpoint: socket path, pipe name (`\\.\pipe\...`) or URL. */
  readonly endpoint: string;
  /** See {@link ConnectionState}. */
  readonly state: ConnectionState;
  /** Bytes accepted by `send` and not yet handed to the OS. */
  readonly bufferedAmount: number;
  /** The high-water mark of queued bytes past which sends wait. */
  readonly highWaterMark: number;
  /** The payload limit in bytes (at most 4 MiB). */
  readonly maxMessageBytes: number;
  /**
   * The peer's network address (an IP address), where the transport has one: WebSocket in
   * Node. `undefined` (or absent) for Unix sockets, named pipes and browsers.
   */
  readonly remoteAddress?: string | undefined;
  /**
   * Sends one message.
   * @param message - the payload, 0 to `maxMessageBytes` bytes. Not copied: do not mutate it
   *   until the promise settles.
   * @param options - {@link SendOptions}.
   */
  send(message: Uint8Array, options?: SendOptions): Promise<void>;
  /**
   * Sets the one message handler (see the contract above).
   * @param handler - receives each {@link MessageResult}.
   */
  messageHandler(handler: MessageHandler): void;
  /** Graceful close: flush queued sends, then end. Idempotent; same promise each call. */
  close(): Promise<void>;
  /**
   * Abortive close: drop queued sends (they reject) and release everything now. Idempotent.
   * @param error - the terminal error to report; default `ConnectionLostError('local-close')`.
   */
  destroy(error?: IpcezError): void;
  /**
   * Optional read flow control: stop reading from the transport until
   * {@link Connection.resumeReading}. The caller's pause is one reason among others (a full
   * inbox, a decorator's backlog): reading resumes only when every reason is released, and
   * nothing but `resumeReading` releases this one. Every ipcez connection has it.
   */
  pauseReading?(): void;
  /** Optional: release the pause of {@link Connection.pauseReading}. */
  resumeReading?(): void;
}

/**
 * A listening endpoint that accepts {@link Connection}s.
 *
 * **Contract.** `connectionHandler` is set at most once (and excludes async iteration);
 * connections accepted before it is set are kept. `close()` stops accepting, closes every
 * accepted connection that is still open, releases the endpoint (e.g. removes the socket
 * file it created), is idempotent and returns the same promise every time. Iteration ends
 * when the listener closes. The listener **owns** its server handle and its connections.
 */
export interface Listener extends AsyncDisposable, AsyncIterable<Connection> {
  /** Which transport it serves. */
  readonly transport: TransportKind;
  /** The resolved endpoint (absolute socket path, full pipe name, URL with the real port). */
  readonly endpoint: string;
  /** Whether it still accepts connections. */
  readonly isListening: boolean;
  /**
   * Sets the one connection handler.
   * @param handler - called with each accepted connection, in order.
   */
  connectionHandler(handler: (connection: Connection) => void): void;
  /** Stops listening and closes accepted connections. Idempotent; same promise each call. */
  close(): Promise<void>;
  /**
   * The error channel: settles once the listener is closed, with `undefined` after a
   * `close()`, or with the error of a listener that failed after it started (it then closed
   * itself, and iteration throws that error). Never rejects.
   */
  readonly closed: Promise<IpcezError | undefined>;
}

/** Options every transport's `connect` takes. */
export interface ConnectOptions {
  /** Abort the connection attempt; rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Payload limit in bytes, 0 to 4 MiB (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /** Queued-bytes high-water mark past which sends wait (default 1 MiB). */
  readonly highWaterMark?: number;
}

/** Options every transport's `listen` takes. */
export interface ListenOptions {
  /** Abort listening: an abort before it is ready rejects; after, it closes the listener. */
  readonly signal?: AbortSignal;
  /** Payload limit in bytes for accepted connections, 0 to 4 MiB (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /** Queued-bytes high-water mark for accepted connections (default 1 MiB). */
  readonly highWaterMark?: number;
  /**
   * Called once the endpoint is known to be free (no live server answers it, a stale socket
   * file was removed) and just before binding, with the resolved endpoint. The listen waits
   * for it; if it throws, nothing is bound and `listen` rejects with that error. Used to
   * start the delivery-acknowledgement pair fresh in the order the `@ipcez/ack` README gives.
   */
  readonly beforeBind?: (resolvedEndpoint: string) => void | Promise<void>;
  /**
   * Called once, synchronously, first when the listener starts closing — `close()`, the
   * `signal`, or a failure after it started — before it stops accepting and releases the
   * endpoint. Used to unlink the delivery-acknowledgement pair before the socket file goes,
   * on every path. What it throws is reported as the listener's failure (if it had none).
   */
  readonly beforeClose?: () => void;
  /**
   * How many connections the listener serves at once (default 1024,
   * `DEFAULT_MAX_CONNECTIONS`; `Infinity` for no cap). A connection past it is closed at
   * once, before anything of it is read (WebSocket: the upgrade is answered with HTTP 503),
   * and reported to `onRefused` as a `ConnectionLimitError`. A slot is free again as soon as
   * a connection has ended.
   */
  readonly maxConnections?: number;
  /**
   * Byte-stream listeners (Unix sockets, named pipes): the memory that partial frames may
   * hold across all accepted connections together, in bytes (default 64 MiB,
   * `DEFAULT_MAX_PARTIAL_BYTES`; `Infinity` for no cap). A connection whose partial frame
   * would take the total past it is closed with `PartialFrameLimitError`; a partial frame
   * returns its memory when it completes or its connection ends. Not an option of WebSocket
   * listeners (there the `ws` library buffers each message, bounded by `maxMessageBytes`).
   */
  readonly maxPartialBytes?: number;
  /**
   * Byte-stream listeners: how long a frame the peer started may take to complete, while this
   * side reads, before the connection is closed with `FrameTimeoutError`, in ms (default
   * 30 000, `DEFAULT_FRAME_TIMEOUT_MS`; checked once per period, so between one and two
   * periods). Not an option of WebSocket listeners.
   */
  readonly frameTimeoutMs?: number;
  /**
   * Byte-stream listeners: close an accepted connection on which no byte went either way for
   * this long, in ms, with `IdleTimeoutError` (its message handler gets it). Off by default.
   * Time with reading paused on this side does not count; checked once per period, so the
   * close comes between one and two periods after the last byte. Not an option of WebSocket
   * listeners (their keepalive finds dead peers).
   */
  readonly idleTimeoutMs?: number;
  /**
   * Told of each connection the listener refused because of a limit (`ConnectionLimitError`),
   * synchronously, from the accept path; what it throws propagates. Default: none (the
   * refusal is still made).
   */
  readonly onRefused?: (error: IpcezError) => void;
}

/**
 * A transport: how to connect to and listen on one kind of endpoint.
 *
 * @typeParam C - its connect options.
 * @typeParam L - its listen options.
 */
export interface Transport<C extends ConnectOptions = ConnectOptions, L extends ListenOptions = ListenOptions> {
  /** Which transport this is. */
  readonly kind: TransportKind;
  /** Whether it can work in this process (platform, runtime). Never throws. */
  isSupported(): boolean;
  /**
   * Connects to a listening endpoint.
   * @param endpoint - the endpoint string as the user gave it.
   * @param options - connect options.
   */
  connect(endpoint: string, options?: C): Promise<Connection>;
  /**
   * Listens on an endpoint.
   * @param endpoint - the endpoint string as the user gave it.
   * @param options - listen options.
   */
  listen(endpoint: string, options?: L): Promise<Listener>;
}
