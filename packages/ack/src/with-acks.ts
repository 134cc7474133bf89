import { setMaxListeners } from 'node:events';
import { ConnectionLostError, DEFAULT_HIGH_WATER_MARK, Inbox, invalidArgError } from '@ipcez/core';
import type { Connection, ConnectionState, IpcezError, MessageHandler, SendOptions, TransportKind } from '@ipcez/core';
import { SignalPair } from './signal-pair.js';

/** Options of {@link withAcks}. */
export interface WithAcksOptions {
  /** How long a send waits for "data acked" before `RecipientAckTimeoutError`; default 5000 ms. */
  readonly ackTimeoutMs?: number;
  /**
   * Whether the result owns `pair` and closes its handles when it is closed or destroyed
   * (default `false`: a listener's pair is shared by all its connections). A client's pair
   * serves only its connection, so a client passes `true`.
   */
  readonly ownsPair?: boolean;
}

/**
 * How long a send waits for "data acked" by default: 5 s (DESIGN.md).
 * @example
 * ```ts
 * withAcks(connection, pair, { ackTimeoutMs: DEFAULT_ACK_TIMEOUT_MS * 2 });
 * ```
 */
export const DEFAULT_ACK_TIMEOUT_MS = 5000;
const MAX_TIMEOUT_MS = 2_147_483_647;

// Send, with acks on (DESIGN.md "Delivery acknowledgement"):
//
//   signalReady() --> inner.send(frame) --> waitAcked(ackTimeoutMs)
//                                            |-- acked: resolve
//                                            '-- none in time: RecipientAckTimeoutError (bytes written; stays open)
//
// Receive, for each frame read: tryTakeReady() (never blocks) --> signalAcked() --> deliver.
class AckedConnection implements Connection {
  readonly #inner: Connection;
  readonly #pair: SignalPair;
  readonly #ackTimeoutMs: number;
  // Aborted on close/destroy, so sends still waiting for an ack reject.
  readonly #lifetime = new AbortController();
  // Windows events are binary: with several of this connection's sends waiting, acks posted
  // back to back would collapse into one and the rest would time out. There, this
  // connection keeps one send in its ready/write/ack cycle at a time.
  #chain: Promise<unknown> = Promise.resolve();

  // Messages read (and acked) but not yet consumed. DESIGN.md: the recipient acks "for each
  // frame read", not when the application gets round to it: a peer that awaits a send before
  // setting its handler while the other side replies would otherwise wait for an ack only its
  // own handler could release. Past the high-water mark the inner connection stops reading
  // (where it offers pauseReading), so unread frames stay in the OS buffer, unacked.
  readonly #inbox: Inbox<Uint8Array, IpcezError>;

  readonly #ownsPair: boolean;
  #closing: Promise<void> | undefined;

  constructor(inner: Connection, pair: SignalPair, ackTimeoutMs: number, ownsPair: boolean) {
    this.#inner = inner;
    this.#pair = pair;
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#ownsPair = ownsPair;
    this.#inbox = new Inbox<Uint8Array, IpcezError>({
      // Empty messages weigh their header, so a flood of them still pauses reading.
      weigh: (message) => (message as Uint8Array).length + 4,
      highWaterMark: DEFAULT_HIGH_WATER_MARK,
      onPause: () => inner.pauseReading?.(),
      onResume: () => inner.resumeReading?.(),
      isCleanEnd: (error) =>
        error instanceof ConnectionLostError && (error.reason === 'local-close' || error.reason === 'peer-closed'),
    });
    inner.messageHandler((result) => {
      if (result.ok) {
        this.#acknowledge();
        this.#inbox.push(result.message);
      } else {
        this.#inbox.end(result.error);
      }
    });
    // Every send waiting for its ack listens to this signal (many may wait at once), and each
    // listener is removed when its wait settles: not a leak, so no MaxListeners warning.
    setMaxListeners(0, this.#lifetime.signal);
  }

  get transport(): TransportKind {
    return this.#inner.transport;
  }

  get endpoint(): string {
    return this.#inner.endpoint;
  }

  get state(): ConnectionState {
    return this.#inner.state;
  }

  get bufferedAmount(): number {
    return this.#inner.bufferedAmount;
  }

  get highWaterMark(): number {
    return this.#inner.highWaterMark;
  }

  get maxMessageBytes(): number {
    return this.#inner.maxMessageBytes;
  }

  send(message: Uint8Array, options: SendOptions = {}): Promise<void> {
    // Sends the inner connection refuses without writing (closed, over the limit, buffer full
    // with wait: false, bad arguments) must not post "data ready": no frame would follow it.
    // A closed pair is not a refusal: signalReady() then rejects the send with
    // ConnectionLostError rather than letting it through unacknowledged.
    const isRefused =
      !(message instanceof Uint8Array) ||
      this.#inner.state !== 'open' ||
      message.length > this.#inner.maxMessageBytes ||
      (options.wait === false && this.#inner.bufferedAmount >= this.#inner.highWaterMark);
    if (isRefused) return this.#inner.send(message, options);
    if (this.#pair.isCounting) return this.#cycle(message, options);
    const next = this.#chain.then(() => this.#cycle(message, options));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #cycle(message: Uint8Array, options: SendOptions): Promise<void> {
    options.signal?.throwIfAborted();
    this.#lifetime.signal.throwIfAborted();
    this.#pair.signalReady();
    await this.#inner.send(message, options);
    const signal =
      options.signal === undefined ? this.#lifetime.signal : AbortSignal.any([options.signal, this.#lifetime.signal]);
    await this.#pair.waitAcked(this.#ackTimeoutMs, signal);
  }

  #acknowledge(): void {
    if (this.#pair.state !== 'open') return;
    this.#pair.tryTakeReady();
    this.#pair.signalAcked();
  }

  messageHandler(handler: MessageHandler): void {
    if (typeof handler !== 'function') throw invalidArgError('handler must be a function');
    this.#inbox.setHandler((result) => {
      handler(result.ok ? { ok: true, message: result.value } : { ok: false, error: result.error });
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  pauseReading(): void {
    this.#inner.pauseReading?.();
  }

  resumeReading(): void {
    this.#inner.resumeReading?.();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      await this.#inner.close();
    } finally {
      this.#end();
      if (this.#ownsPair) await this.#pair.close();
    }
  }

  destroy(error?: IpcezError): void {
    this.#inner.destroy(error);
    this.#end(error);
    // SignalPair.close() settles without rejecting; nothing waits for it here.
    if (this.#ownsPair) void this.#pair.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #end(error?: IpcezError): void {
    if (!this.#lifetime.signal.aborted) {
      this.#lifetime.abort(error ?? new ConnectionLostError('local-close'));
    }
  }
}

/**
 * Turns acknowledgement on for a framed connection (DESIGN.md "Delivery acknowledgement").
 *
 * - `send` posts "data ready", writes the frame, then waits up to `ackTimeoutMs` for "data
 *   acked": it resolves when acked, or rejects with `RecipientAckTimeoutError` (the bytes were
 *   written, delivery is unconfirmed; the connection stays open). Sends refused without a
 *   write (over the size limit, closed, buffer full with `wait: false`) post nothing.
 * - For each frame read — as it is read, whether or not a message handler or iterator exists
 *   yet — take one "data ready" if there is one (never blocking), post "data acked", then
 *   deliver (or keep it for the consumer). Past 1 MiB of kept messages the wrapped connection
 *   stops reading (`pauseReading`), so further frames stay unread, and unacked, in the OS.
 * - `close()`/`destroy()` close the wrapped connection; sends still waiting for an ack then
 *   reject with `ConnectionLostError` (or the `destroy` error).
 *
 * **Ownership.** The result **owns** `connection` (closing one closes the other) and
 * **borrows** `pair`: a listener's pair serves all its connections, so close the pair
 * yourself after the connections.
 *
 * **Platform behaviour.** With a counting pair (Linux) sends pipeline freely. With a binary
 * pair (Windows events) the sends of one connection run their ready/write/ack cycles one at a
 * time, so this connection's own acks never collapse (see the README).
 *
 * @param connection - an open framed connection (Unix socket or named pipe).
 * @param pair - the endpoint's signal pair.
 * @param options - {@link WithAcksOptions}.
 * @returns the acknowledged connection.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) for a bad argument or `ackTimeoutMs`.
 * @example
 * ```ts
 * const pair = await openSignalPair(conn.endpoint);
 * const acked = withAcks(conn, pair, { ackTimeoutMs: 2000 });
 * await acked.send(new TextEncoder().encode('hi')); // resolves once the peer read it
 * ```
 */
export function withAcks(connection: Connection, pair: SignalPair, options: WithAcksOptions = {}): Connection {
  // Checked as unknown: JavaScript callers can pass anything.
  const givenConnection: unknown = connection;
  const givenPair: unknown = pair;
  if (typeof givenConnection !== 'object' || givenConnection === null || typeof connection.send !== 'function') {
    throw invalidArgError('connection must be an ipcez Connection');
  }
  if (!(givenPair instanceof SignalPair)) {
    throw invalidArgError('pair must be a SignalPair from openSignalPair()');
  }
  const ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  if (
    typeof ackTimeoutMs !== 'number' ||
    !Number.isFinite(ackTimeoutMs) ||
    ackTimeoutMs < 0 ||
    ackTimeoutMs > MAX_TIMEOUT_MS
  ) {
    throw invalidArgError(
      `ackTimeoutMs must be a number from 0 to ${MAX_TIMEOUT_MS}, got ${String(ackTimeoutMs)}`,
      'range',
    );
  }
  return new AckedConnection(connection, pair, ackTimeoutMs, options.ownsPair === true);
}
