import { SendTimeoutError, describeValue, invalidArgError } from '@ipcez/core';
import type { Connection, ConnectionState, MessageHandler, SendOptions, TransportKind } from '@ipcez/core';

/** Options of {@link Socket.sendMessage}. */
export type SendMessageOptions = SendOptions;

/**
 * A connected ipcez socket, the same on every transport: returned by `connect` and handed
 * to a server's connection handler.
 *
 * - `sendMessage` sends one whole message; many may be in flight (queued in order up to the
 *   high-water mark of queued bytes, then they wait — or reject with `SendBufferFullError`
 *   when called with `{ wait: false }`). It resolves when written, and on an acknowledged
 *   socket when the recipient's endpoint has acked it (`RecipientAckTimeoutError` otherwise).
 * - `messageHandler` gets every message in order as `{ ok: true, message }`, then exactly one
 *   `{ ok: false, error }` when the connection ends, then nothing. Messages that arrive before
 *   a handler is set are kept.
 * - `disconnect` is idempotent; afterwards sends reject with `ConnectionLostError`.
 *
 * The socket **owns** its connection: disconnecting closes it.
 */
export interface Socket extends AsyncDisposable, AsyncIterable<Uint8Array> {
  /** The transport under it: `'unix'`, `'pipe'` or `'ws'`. */
  readonly transport: TransportKind;
  /** The resolved endpoint (absolute socket path, full pipe name, or URL). */
  readonly endpoint: string;
  /** Whether this side's sends wait for the peer's ack (`ackMode` says how). */
  readonly isAcked: boolean;
  /**
   * The connection's ack protocol: `'v2'` (in-band, exact per connection: both ipcez, local,
   * or WebSocket with the `ipcez.v2` subprotocol), `'seed'` (the endpoint's named signals: a
   * peer that speaks only the seed protocol) or `'off'` (none: acks off on a seed connection, or
   * a WebSocket client that did not ask for acks). In `'v2'` this side acks what it reads
   * whatever its own `ack` option; `isAcked` says whether its own sends wait.
   */
  readonly ackMode: AckMode;
  /** `'open'`, `'closing'` or `'closed'`. */
  readonly state: ConnectionState;
  /** Bytes accepted by `sendMessage` and not yet handed to the OS. */
  readonly bufferedAmount: number;
  /**
   * The peer's IP address where the transport has one (WebSocket: the client's address on a
   * server's socket, the server's on a client); `undefined` for Unix sockets and named pipes.
   */
  readonly remoteAddress: string | undefined;
  /**
   * Sends one message.
   *
   * @param message - bytes, or a string (sent as UTF-8). Bytes are not copied: do not mutate
   *   them until the promise settles.
   * @param options - `signal` to stop waiting, `wait: false` to reject instead of waiting for room.
   * @returns resolves when written (and acked, on an acknowledged socket); with the socket's
   *   `sendTimeoutMs`, rejects with `SendTimeoutError` (`IPCEZ_ERR_SEND_TIMEOUT`) when the whole
   *   send takes longer.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, when `message` is neither bytes nor a string.
   */
  sendMessage(message: Uint8Array | string, options?: SendMessageOptions): Promise<void>;
  /**
   * Sets the one message handler (see the interface docs for the contract).
   *
   * @param handler - gets each {@link MessageResult}.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when a handler is already set or the socket is being iterated.
   */
  messageHandler(handler: MessageHandler): void;
  /** Closes the connection (queued sends are flushed first). Idempotent; same promise each call. */
  disconnect(): Promise<void>;
}

/**
 * How a socket's sends are acknowledged (see the README, "What an ack means"): `'v2'`
 * in-band on this connection, exactly ("this connection's peer has read this message");
 * `'seed'` through the endpoint's named signals (per endpoint); `'off'` not at all.
 */
export type AckMode = 'v2' | 'seed' | 'off';

/** A socket's acknowledgement, as decided when it connected (or was accepted). */
export interface AckInfo {
  /** Whether this side's sends wait for the peer's ack. */
  readonly isAcked: boolean;
  /** The connection's ack protocol. */
  readonly ackMode: AckMode;
}

const utf8 = new TextEncoder();

/** The one implementation of {@link Socket}: a thin, transport-blind view of a connection. */
export class IpcezSocket implements Socket {
  readonly #connection: Connection;
  readonly #ack: AckInfo;
  readonly #sendTimeoutMs: number | undefined;

  constructor(connection: Connection, ack: AckInfo, sendTimeoutMs?: number) {
    this.#connection = connection;
    this.#ack = { isAcked: ack.isAcked, ackMode: ack.ackMode };
    this.#sendTimeoutMs = sendTimeoutMs;
  }

  get transport(): TransportKind {
    return this.#connection.transport;
  }

  get endpoint(): string {
    return this.#connection.endpoint;
  }

  get isAcked(): boolean {
    return this.#ack.isAcked;
  }

  get ackMode(): AckMode {
    return this.#ack.ackMode;
  }

  get state(): ConnectionState {
    return this.#connection.state;
  }

  get bufferedAmount(): number {
    return this.#connection.bufferedAmount;
  }

  get remoteAddress(): string | undefined {
    return this.#connection.remoteAddress;
  }

  sendMessage(message: Uint8Array | string, options?: SendMessageOptions): Promise<void> {
    let bytes: Uint8Array;
    if (typeof message === 'string') bytes = utf8.encode(message);
    else if (message instanceof Uint8Array) bytes = message;
    else throw invalidArgError(`message must be a Uint8Array or a string, got ${describeValue(message)}`);
    const timeoutMs = this.#sendTimeoutMs;
    if (timeoutMs === undefined) return this.#connection.send(bytes, options);
    return this.#sendWithin(bytes, options, timeoutMs);
  }

  // sendTimeoutMs bounds the whole send: waiting for room, writing, and the ack. A send still
  // waiting for room is withdrawn through the signal the engine honours there; once handed to
  // the OS it cannot be taken back, so the caller is told it timed out and it may still arrive.
  #sendWithin(bytes: Uint8Array, options: SendMessageOptions | undefined, timeoutMs: number): Promise<void> {
    const controller = new AbortController();
    const userSignal = options?.signal;
    const onUserAbort = (): void => {
      controller.abort(userSignal?.reason);
    };
    if (userSignal !== undefined) {
      if (userSignal.aborted) return Promise.reject(userSignal.reason as Error);
      userSignal.addEventListener('abort', onUserAbort, { once: true });
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new SendTimeoutError(
          timeoutMs,
          `the send did not complete within sendTimeoutMs ${timeoutMs} ms (waiting for room, writing, and the ack where acks are on); if it was already written, it may still be delivered`,
        );
        controller.abort(error);
        reject(error);
      }, timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        userSignal?.removeEventListener('abort', onUserAbort);
      };
      this.#connection.send(bytes, { ...options, signal: controller.signal }).then(
        () => {
          settle();
          resolve();
        },
        (error: unknown) => {
          settle();
          // The connection's own rejection, passed on as it is (an IpcezError, or the abort reason).
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          reject(error);
        },
      );
    });
  }

  messageHandler(handler: MessageHandler): void {
    this.#connection.messageHandler(handler);
  }

  disconnect(): Promise<void> {
    return this.#connection.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#connection[Symbol.asyncIterator]();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }
}
