import { addAbortListener, setMaxListeners } from 'node:events';
import { ConnectionLostError, ForwardingConnection, IoError, invalidArgError, isIpcezError } from '@ipcez/core';
import type { Connection, IpcezError, MessageConnection, SendOptions } from '@ipcez/core';
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
 * How long a send waits for "data acked" by default: 5 s.
 * @example
 * ```ts
 * withAcks(connection, pair, { ackTimeoutMs: DEFAULT_ACK_TIMEOUT_MS * 2 });
 * ```
 */
export const DEFAULT_ACK_TIMEOUT_MS = 5000;
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * The engine seam `withAcks` decorates (`MessageConnection` of `@ipcez/core`, structurally:
 * copies of `@ipcez/core` may be duplicated in node_modules).
 */
type Engine = Connection & Pick<MessageConnection, 'observeReads' | 'admits' | 'beforeEnd'>;

function isEngine(value: Connection): value is Engine {
  const candidate = value as Partial<Engine>;
  return (
    typeof candidate.observeReads === 'function' &&
    typeof candidate.admits === 'function' &&
    typeof candidate.beforeEnd === 'function'
  );
}

/** A send waiting for its turn on a binary (Windows) pair. */
interface SerialSend {
  readonly message: Uint8Array;
  readonly options: SendOptions;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

// Send, with acks on (the ack README, "Order"):
//
//   signalReady() --> engine.send(frame) --> waitAcked(ackTimeoutMs)
//                                             |-- acked: resolve
//                                             |-- none in time: RecipientAckTimeoutError (bytes written; stays open)
//                                             |-- close() here: waits on (the write side ends after the ack or timeout)
//                                             '-- destroy(), or the close timer: ConnectionLostError (or the destroy error)
//
// Receive, for each frame of each read batch, before the batch is delivered (the engine's
// read observer): tryTakeReady() (never blocks) --> signalAcked(). The engine's one inbox
// keeps what no consumer took yet, under its one pause authority: this decorator holds no
// messages and no pause flag.
class AckedConnection extends ForwardingConnection {
  readonly #engine: Engine;
  readonly #pair: SignalPair;
  readonly #ackTimeoutMs: number;
  readonly #ownsPair: boolean;
  // Aborted by close()/destroy(), so sends still waiting for an ack reject then. Not when the
  // peer goes away: acks are out of band, and a peer that acks and closes at once leaves acks
  // posted that waiting sends must still be able to take.
  readonly #lifetime = new AbortController();
  // Windows events are binary: with several of this connection's sends waiting, acks posted
  // back to back would collapse into one and the rest would time out. There, this
  // connection keeps one send in its ready/write/ack cycle at a time; the others queue here,
  // in order, until close()/destroy() hands them all to the engine at once.
  #serial: SerialSend[] = [];
  #isCycling = false;
  #closing: Promise<void> | undefined;
  /** Sends between "data ready" and their ack (or timeout): what a graceful close waits for. */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(engine: Engine, pair: SignalPair, ackTimeoutMs: number, ownsPair: boolean) {
    super(engine);
    this.#engine = engine;
    this.#pair = pair;
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#ownsPair = ownsPair;
    // Every send waiting for its ack listens to this signal (many may wait at once), and each
    // listener is removed when its wait settles: not a leak, so no MaxListeners warning.
    setMaxListeners(0, this.#lifetime.signal);
    engine.observeReads((messages) => {
      this.#acknowledge(messages.length);
    });
    // A graceful close (ours, or the listener's) ends the write side only once every send in
    // flight was acked or timed out: the peer stops reading at our end, and a send it had
    // read must not reject as lost.
    engine.beforeEnd(() => Promise.allSettled([...this.#inFlight]));
  }

  override send(message: Uint8Array, options: SendOptions = {}): Promise<void> {
    const engine = this.#engine;
    // Sends the engine refuses without writing (closed, over the limit, buffer full with
    // wait: false, bad arguments) must not post "data ready": no frame would follow it.
    // A closed pair is not a refusal: signalReady() then rejects the send with
    // ConnectionLostError rather than letting it through unacknowledged.
    if (!engine.admits(message, options)) return engine.send(message, options);
    if (this.#pair.isCounting) return this.#track(this.#cycle(message, options));
    return new Promise<void>((resolve, reject) => {
      this.#serial.push({ message, options, resolve, reject });
      this.#pump();
    });
  }

  /** Starts the next queued send's cycle once the previous one settled (binary pairs). */
  #pump(): void {
    if (this.#isCycling) return;
    const next = this.#serial.shift();
    if (next === undefined) return;
    this.#isCycling = true;
    void this.#track(this.#cycle(next.message, next.options))
      .then(next.resolve, next.reject)
      .finally(() => {
        this.#isCycling = false;
        this.#pump();
      });
  }

  /**
   * Closing: every send accepted so far goes to the engine now, so the close flushes it like
   * any other; their ack waits end with the close.
   */
  #startQueued(): void {
    for (const queued of this.#serial.splice(0)) {
      this.#track(this.#cycle(queued.message, queued.options)).then(queued.resolve, queued.reject);
    }
  }

  /** Keeps `cycle` in {@link AckedConnection.#inFlight} until it settles. */
  #track(cycle: Promise<void>): Promise<void> {
    const inFlight = this.#inFlight;
    inFlight.add(cycle);
    const forget = (): void => {
      inFlight.delete(cycle);
    };
    cycle.then(forget, forget);
    return cycle;
  }

  async #cycle(message: Uint8Array, options: SendOptions): Promise<void> {
    const lifetime = this.#lifetime.signal;
    options.signal?.throwIfAborted();
    lifetime.throwIfAborted();
    this.#pair.signalReady();
    await this.#engine.send(message, options);
    const { signal } = options;
    if (signal === undefined) {
      await this.#pair.waitAcked(this.#ackTimeoutMs, lifetime);
      return;
    }
    // Both the caller's signal and the connection's end stop the wait. Not AbortSignal.any:
    // on Node 20 every combined signal stays registered on its sources for good (issue 9).
    const both = new AbortController();
    const stopOnCaller = addAbortListener(signal, () => {
      both.abort(signal.reason);
    });
    const stopOnEnd = addAbortListener(lifetime, () => {
      both.abort(lifetime.reason);
    });
    try {
      await this.#pair.waitAcked(this.#ackTimeoutMs, both.signal);
    } finally {
      stopOnCaller[Symbol.dispose]();
      stopOnEnd[Symbol.dispose]();
    }
  }

  /** Acks `count` frames just read, before they are delivered. */
  #acknowledge(count: number): void {
    const pair = this.#pair;
    if (pair.state !== 'open') return;
    try {
      for (let i = 0; i < count; i++) {
        pair.tryTakeReady();
        pair.signalAcked();
      }
    } catch (error) {
      // A refused post (sem_post EOVERFLOW, a closed handle ...) must not escape from the
      // socket's 'data' event: it ends this connection, and its owner hears of it.
      const detail = error instanceof Error ? error.message : String(error);
      this.#engine.destroy(
        isIpcezError(error, 'IPCEZ_ERR_IO')
          ? error
          : new IoError(`posting "data acked" for ${this.#engine.endpoint} failed: ${detail}`, { cause: error }),
      );
    }
  }

  override close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#startQueued();
    try {
      await this.#engine.close();
    } finally {
      this.#end();
      if (this.#ownsPair) await this.#pair.close();
    }
  }

  #end(error?: IpcezError): void {
    if (!this.#lifetime.signal.aborted) {
      this.#lifetime.abort(error ?? new ConnectionLostError('local-close'));
    }
  }

  override destroy(error?: IpcezError): void {
    this.#engine.destroy(error);
    this.#end(error);
    this.#startQueued();
    // SignalPair.close() settles without rejecting; nothing waits for it here.
    if (this.#ownsPair) void this.#pair.close();
  }
}

/**
 * Turns acknowledgement on for a framed connection (see the README, "Delivery acknowledgement").
 *
 * - `send` posts "data ready", writes the frame, then waits up to `ackTimeoutMs` for "data
 *   acked": it resolves when acked, or rejects with `RecipientAckTimeoutError` (the bytes were
 *   written, delivery is unconfirmed; the connection stays open). Sends refused without a
 *   write (over the size limit, closed, buffer full with `wait: false`) post nothing.
 * - For each frame read — as it is read, whether or not a message handler or iterator exists
 *   yet — take one "data ready" if there is one (never blocking), post "data acked", then
 *   deliver. `withAcks` is a decorator on the connection engine (it watches each read batch
 *   before delivery): it keeps no messages and no pause flag of its own; unread messages
 *   wait in the connection's one inbox, whose limit pauses reading, so later frames stay
 *   unread, and unacked, in the OS. A failing "data acked" post ends the connection with an
 *   `IoError` (its cause the OS error).
 * - `close()` is graceful: it writes every send accepted so far and lets the sends waiting for
 *   an ack finish (acked, or `RecipientAckTimeoutError`) before it ends the write side, so a
 *   send the peer read never rejects as lost; the engine's close timeout bounds it all.
 *   `destroy()` ends at once: sends still waiting for an ack reject with
 *   `ConnectionLostError` (or the `destroy` error). A peer that goes away does not cut the
 *   waits short: acks travel out of band, and one posted just before the peer closed is
 *   still taken (a wait ends with its ack or its timeout).
 *
 * **Ownership.** The result **owns** `connection` (closing one closes the other) and
 * **borrows** `pair`: a listener's pair serves all its connections, so close the pair
 * yourself after the connections.
 *
 * **Platform behaviour.** With a counting pair (Linux) sends pipeline freely. With a binary
 * pair (Windows events) the sends of one connection run their ready/write/ack cycles one at a
 * time, so this connection's own acks never collapse (see the README).
 *
 * @param connection - an open framed connection (Unix socket or named pipe) as the transports
 *   and `createStreamConnection` make it (the core's `MessageConnection`), not another wrapper.
 * @param pair - the endpoint's signal pair.
 * @param options - {@link WithAcksOptions}.
 * @returns the acknowledged connection.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) for a bad argument or `ackTimeoutMs`,
 *   or a connection that is not an engine connection.
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
  if (!isEngine(connection)) {
    throw invalidArgError(
      'connection must be an ipcez engine connection (a MessageConnection, e.g. from createStreamConnection or a transport), not another wrapper',
    );
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
