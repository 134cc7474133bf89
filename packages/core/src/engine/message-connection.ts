import { FrameTooLargeError, HEADER_BYTES, resolveMaxMessageBytes } from '@ipcez/framing';
import type { IpcezError } from '@ipcez/framing';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_HIGH_WATER_MARK } from '../constants.js';
import type { Connection, ConnectionState, MessageHandler, SendOptions, TransportKind } from '../contracts.js';
import { describeValue } from '../describe-value.js';
import { ConnectionLostError, SendBufferFullError, invalidArgError } from '../errors.js';
import type { ConnectionLostReason } from '../errors.js';
import { Inbox } from '../inbox.js';
import { integerOption } from '../options.js';
import type { Link, LinkSink } from './link.js';
import { PauseAuthority } from './pause-authority.js';
import type { PauseReason } from './pause-authority.js';

/** Options of {@link MessageConnection}. */
export interface MessageConnectionOptions {
  /** Which transport carries the link (reported as `connection.transport`). */
  readonly transport: TransportKind;
  /** The resolved endpoint (reported as `connection.endpoint` and in error messages). */
  readonly endpoint: string;
  /** Payload limit in bytes, both directions, 0 to 4 MiB (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /** Queued send bytes past which sends wait. Default 1 MiB. */
  readonly highWaterMark?: number;
  /**
   * Received bytes buffered for the consumer (no handler yet, or a slow iterator) past which
   * reading pauses; it resumes below half of it. Default: `highWaterMark`.
   */
  readonly receiveHighWaterMark?: number;
  /** How long a graceful `close()` may take before it destroys the link. Default 5000 ms. */
  readonly closeTimeoutMs?: number;
  /** The peer's network address, where the transport has one (WebSocket in Node). */
  readonly remoteAddress?: string | undefined;
}

interface ResolvedOptions {
  readonly transport: TransportKind;
  readonly endpoint: string;
  readonly maxMessageBytes: number;
  readonly highWaterMark: number;
  readonly receiveHighWaterMark: number;
  readonly closeTimeoutMs: number;
  readonly remoteAddress: string | undefined;
}

const TRANSPORT_KINDS: readonly string[] = ['unix', 'pipe', 'ws'];

function resolveOptions(options: MessageConnectionOptions): ResolvedOptions {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw invalidArgError('options must be an object with transport and endpoint');
  }
  if (!TRANSPORT_KINDS.includes(options.transport)) {
    throw invalidArgError(
      `options.transport must be one of ${TRANSPORT_KINDS.join(', ')}, got ${describeValue(options.transport)}`,
    );
  }
  if (typeof options.endpoint !== 'string') {
    throw invalidArgError(`options.endpoint must be a string, got ${describeValue(options.endpoint)}`);
  }
  const highWaterMark = integerOption(options.highWaterMark, 'highWaterMark', 1) ?? DEFAULT_HIGH_WATER_MARK;
  return {
    transport: options.transport,
    endpoint: options.endpoint,
    maxMessageBytes: resolveMaxMessageBytes(options.maxMessageBytes),
    highWaterMark,
    receiveHighWaterMark: integerOption(options.receiveHighWaterMark, 'receiveHighWaterMark', 1) ?? highWaterMark,
    closeTimeoutMs: integerOption(options.closeTimeoutMs, 'closeTimeoutMs', 1) ?? DEFAULT_CLOSE_TIMEOUT_MS,
    remoteAddress: typeof options.remoteAddress === 'string' ? options.remoteAddress : undefined,
  };
}

/** A send that found no room (or sends held) and waits, in order. */
interface WaitingSend {
  readonly message: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Terminal errors that end async iteration normally: the one clean-end rule. */
const cleanEnds = new WeakSet<Error>();

function isConnectionLost(error: IpcezError): error is ConnectionLostError {
  return error.code === 'IPCEZ_ERR_CONNECTION_LOST';
}

const USER: PauseReason = Symbol('user pauseReading()');
const INBOX: PauseReason = Symbol('inbox at its high-water mark');

/** A disposable that runs `dispose` once. */
function once(dispose: () => void): Disposable {
  let isDisposed = false;
  return {
    [Symbol.dispose]: () => {
      if (isDisposed) return;
      isDisposed = true;
      dispose();
    },
  };
}

function unrefTimer(timer: unknown): void {
  // Node timers can be unref'd; browser timers are numbers.
  (timer as { unref?: () => void }).unref?.();
}

// Lifecycle (one for every transport):
//
//   open --close()--> closing: new sends are refused; every accepted send (waiting ones too)
//        |            is handed to the link; then the close waits for what decorators still
//        |            expect (pending acks: beforeEnd), then the link ends its write side after
//        |            every queued write; reading goes on under the same limits throughout
//        |            --link ended (peer's end / handshake)--> closed (terminal: local-close)
//        |            --closeTimeoutMs--> closed (destroy)
//        +--destroy() / peer gone / reset / protocol error--> closed
//
// On `closed`: waiting sends reject, the link rejects its unsettled writes and is destroyed,
// end listeners run (decorators settle what they hold, at once), then the inbox gets the one
// terminal error, after every message read before it.

/**
 * The one message connection of ipcez: every transport's {@link Connection} is this engine
 * over a {@link Link} (a byte stream for Unix sockets and named pipes, a message socket for
 * WebSocket). The rules it implements are written once, in the core README ("The connection
 * rules"): one inbox, one send queue, one pause authority, one close policy, one clean-end
 * rule.
 *
 * **Ownership.** The connection **owns** its link (and through it the socket).
 *
 * **Decorator seam.** Besides the `Connection` API it offers, for decorators such as
 * delivery acknowledgement (see the core README, "Building a decorator"):
 * {@link MessageConnection.observeReads} (each read batch, before delivery),
 * {@link MessageConnection.onEnd} (the terminal error, at once),
 * {@link MessageConnection.beforeEnd} (what a graceful close waits for before it ends the write side),
 * {@link MessageConnection.holdReading} / {@link MessageConnection.releaseReading} (pause reasons),
 * {@link MessageConnection.holdSends} / {@link MessageConnection.releaseSends} (keep sends queued, in order),
 * {@link MessageConnection.queueControl} and {@link MessageConnection.setControlHandler}
 * (control headers: 4-byte headers on byte streams, text messages on WebSocket).
 *
 * @example
 * ```ts
 * const connection = new MessageConnection(link, { transport: 'unix', endpoint: '/tmp/app.sock' });
 * connection.messageHandler((r) => { if (r.ok) console.log(r.message); });
 * await connection.send(new TextEncoder().encode('hello'));
 * ```
 */
export class MessageConnection implements Connection {
  readonly #link: Link;
  readonly #options: ResolvedOptions;
  readonly #inbox: Inbox<Uint8Array, IpcezError>;
  readonly #pause: PauseAuthority;
  #state: ConnectionState = 'open';
  #waiting: WaitingSend[] = [];
  #waitingBytes = 0;
  readonly #sendHolds = new Set<symbol>();
  #handler: MessageHandler | undefined;
  #readObservers: ((messages: readonly Uint8Array[]) => void)[] = [];
  #endListeners: ((error: IpcezError) => void)[] = [];
  #endWaiters: (() => Promise<unknown>)[] = [];
  #sendError: IpcezError | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closePromise: Promise<void> | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;

  /**
   * Creates the connection over `link` and starts reading. Synchronous: the link must be
   * connected.
   *
   * @param link - the link, now owned.
   * @param options - {@link MessageConnectionOptions}.
   * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) for a bad option.
   */
  constructor(link: Link, options: MessageConnectionOptions) {
    const resolved = resolveOptions(options);
    this.#link = link;
    this.#options = resolved;
    this.#closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#pause = new PauseAuthority((isPaused) => {
      if (this.#state === 'closed') return;
      if (isPaused) link.pause();
      else link.resume();
    });
    this.#inbox = new Inbox<Uint8Array, IpcezError>({
      // Empty messages weigh their header, so a flood of them still pauses reading.
      weigh: (item) => (item as Uint8Array).length + HEADER_BYTES,
      highWaterMark: resolved.receiveHighWaterMark,
      onPause: () => {
        this.#pause.hold(INBOX);
      },
      onResume: () => {
        this.#pause.release(INBOX);
      },
      isCleanEnd: (error) => cleanEnds.has(error),
    });
    const sink: LinkSink = {
      receive: (messages) => {
        this.#receive(messages);
      },
      drained: () => {
        if (this.#waiting.length > 0) this.#admitWaiting();
      },
      ended: (error, isClean) => {
        this.#terminate(error, isClean);
      },
      closed: () => {
        // A link may close without reporting an end first (destroyed under us).
        this.#terminate(this.#lost('peer-closed', 'the link closed'), false);
        this.#resolveClosed();
      },
    };
    link.open(sink);
  }

  /** Which transport carries this connection. */
  get transport(): TransportKind {
    return this.#options.transport;
  }

  /** The resolved endpoint. */
  get endpoint(): string {
    return this.#options.endpoint;
  }

  /** The peer's network address where the transport has one (WebSocket in Node), else `undefined`. */
  get remoteAddress(): string | undefined {
    return this.#options.remoteAddress;
  }

  /** `'open'`, `'closing'` (graceful close in progress) or `'closed'`. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Bytes accepted by `send` and not yet handed to the OS (headers included on byte streams). */
  get bufferedAmount(): number {
    return this.#link.bufferedAmount;
  }

  /** Queued-bytes high-water mark past which sends wait. */
  get highWaterMark(): number {
    return this.#options.highWaterMark;
  }

  /** Payload limit in bytes, both directions. */
  get maxMessageBytes(): number {
    return this.#options.maxMessageBytes;
  }

  /**
   * Sends one message. Sends are queued in order, any number at once; while
   * `bufferedAmount` is at or past `highWaterMark` new sends wait in order (or reject with
   * `SendBufferFullError` with `{ wait: false }`); a send's `signal` aborts it only while it
   * waits, not once its bytes are queued for writing.
   *
   * @param message - 0 to `maxMessageBytes` bytes; not copied before it is written, so do
   *   not mutate it until the promise settles.
   * @param options - `signal` aborts a waiting send; `wait: false` rejects instead of waiting.
   * @returns resolves when the message was handed to the OS.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, when `message` is not a
   *   `Uint8Array` or the options are malformed.
   * Rejects with `FrameTooLargeError` (`IPCEZ_ERR_FRAME_TOO_LARGE`, nothing written),
   * `SendBufferFullError` (`IPCEZ_ERR_SEND_BUFFER_FULL`), `ConnectionLostError`
   * (`IPCEZ_ERR_CONNECTION_LOST`) once closing or closed, or `signal.reason`.
   */
  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    const refusal = this.#refusal(message, options);
    if (refusal !== undefined) return Promise.reject(refusal);
    return this.#take(message, options);
  }

  /**
   * Decorator seam: {@link MessageConnection.send} for a decorator that keeps a place per
   * frame it sends (an ack slot): the send's promise when the message is taken (written or
   * queued), or `undefined` when `send` would refuse it at once (closing or closed, over the
   * size limit, an aborted `signal`, no room with `wait: false`), nothing written. One check,
   * not an {@link MessageConnection.admits} before the send.
   *
   * @param message - as for `send`.
   * @param options - as for `send`.
   * @returns as `send` does, or `undefined` for a refusal (call `send` to get its rejection).
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, as `send` does.
   */
  trySend(message: Uint8Array, options?: SendOptions): Promise<void> | undefined {
    if (this.#refusal(message, options) !== undefined) return undefined;
    return this.#take(message, options);
  }

  /** Writes or queues a send that passed #refusal. */
  #take(message: Uint8Array, options: SendOptions | undefined): Promise<void> {
    const link = this.#link;
    if (this.#waiting.length === 0 && this.#sendHolds.size === 0 && link.bufferedAmount < this.#options.highWaterMark) {
      return link.write(message);
    }
    return this.#enqueue(message, options?.signal);
  }

  /**
   * Decorator seam: whether {@link MessageConnection.send} would take `message` now (write it
   * or queue it) rather than refuse it at once (bad arguments, closing or closed, over the
   * size limit, an aborted `signal`, no room with `wait: false`). A decorator that must act
   * before the frame is written (seed acks post "data ready" first) acts only for a send this
   * admits; one that can act after uses {@link MessageConnection.trySend} (one check).
   *
   * @param message - what would be sent.
   * @param options - the send's options.
   * @returns `true` if `send(message, options)` now would write or queue it.
   */
  admits(message: unknown, options?: SendOptions): boolean {
    try {
      return this.#refusal(message, options) === undefined;
    } catch {
      return false;
    }
  }

  /**
   * Why `send(message, options)` is refused at once, or `undefined`. One rule for `send` and
   * `admits`.
   *
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) for a message that is not a `Uint8Array` or malformed options.
   */
  #refusal(message: unknown, options: SendOptions | undefined): Error | undefined {
    if (!(message instanceof Uint8Array)) {
      throw invalidArgError(`message must be a Uint8Array, got ${describeValue(message)}`);
    }
    let signal: AbortSignal | undefined;
    let wait = true;
    if (options !== undefined) {
      if (typeof options !== 'object' || (options as unknown) === null) {
        throw invalidArgError(`send options must be an object, got ${describeValue(options)}`);
      }
      signal = options.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw invalidArgError(`options.signal must be an AbortSignal, got ${describeValue(signal)}`);
      }
      const given: unknown = options.wait ?? true;
      if (typeof given !== 'boolean')
        throw invalidArgError(`options.wait must be a boolean, got ${describeValue(given)}`);
      wait = given;
    }
    if (this.#state !== 'open') return this.#rejectionAfterClose();
    if (message.length > this.#options.maxMessageBytes) {
      return new FrameTooLargeError(message.length, this.#options.maxMessageBytes, 'sent');
    }
    if (signal?.aborted) return signal.reason as Error;
    if (wait) return undefined;
    const link = this.#link;
    const highWaterMark = this.#options.highWaterMark;
    // Not waiting: refused only where the send would have to wait (behind others, a hold, or
    // a full queue) and the bytes ahead of it are at the mark.
    const mustWait = this.#waiting.length > 0 || this.#sendHolds.size > 0 || link.bufferedAmount >= highWaterMark;
    if (mustWait && link.bufferedAmount + this.#waitingBytes >= highWaterMark) {
      return new SendBufferFullError(link.bufferedAmount, highWaterMark);
    }
    return undefined;
  }

  // Apart from send() so that send itself makes no closure: V8 allocates a function's closure
  // context on every call, whichever path the call takes (millions of sends per second).
  #enqueue(message: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const send: WaitingSend = { message, resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        send.onAbort = () => {
          const index = this.#waiting.indexOf(send);
          if (index === -1) return;
          this.#waiting.splice(index, 1);
          this.#waitingBytes -= message.length;
          send.onAbort = undefined;
          reject(signal.reason as Error);
          // The head of the line may have left: let the next ones in if there is room.
          this.#admitWaiting();
        };
        signal.addEventListener('abort', send.onAbort, { once: true });
      }
      this.#waiting.push(send);
      this.#waitingBytes += message.length;
    });
  }

  /**
   * Sets the one message handler: buffered messages are delivered at once, then each new one
   * as it is read, then exactly one error result. Excludes async iteration.
   *
   * @param handler - called synchronously with each {@link MessageResult}; its throws
   *   propagate (the messages after the one it threw on stay queued and are handed over on
   *   a later microtask: a throwing handler never wedges the inbox).
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when not a function or a consumer is already set.
   */
  messageHandler(handler: MessageHandler): void {
    if (typeof handler !== 'function')
      throw invalidArgError(`handler must be a function, got ${describeValue(handler)}`);
    if (this.#inbox.hasConsumer) {
      throw invalidArgError('this connection already has a consumer: set one handler or iterate once, not both');
    }
    // From now on, with nothing buffered, messages go straight to the handler (see #receive).
    this.#handler = handler;
    this.#inbox.setHandler((result) => {
      handler(result.ok ? { ok: true, message: result.value } : result);
    });
  }

  /**
   * Iterates the messages (excludes `messageHandler`). Ends normally on a clean end (a local
   * close, or the peer's orderly end at a message boundary) and throws the terminal error
   * otherwise (truncated stream, reset, protocol error, keepalive timeout).
   *
   * @returns an async iterator of messages.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  /**
   * Stops reading from the transport until {@link MessageConnection.resumeReading}. The
   * user's pause is one reason among others (a full inbox, a decorator's backlog): reading
   * resumes only when every reason is released, and nothing else releases this one.
   */
  pauseReading(): void {
    this.#pause.hold(USER);
  }

  /** Releases the pause of {@link MessageConnection.pauseReading}. */
  resumeReading(): void {
    this.#pause.release(USER);
  }

  /**
   * Graceful close: new sends are refused, every send accepted so far (waiting ones
   * included) is written, decorators finish what they wait for (see
   * {@link MessageConnection.beforeEnd}: acks still pending), then the write side is ended;
   * messages that arrive before the peer's end are still delivered,
   * under the same limits (reading still pauses when the inbox is full; only the caller's
   * own `pauseReading()` is released, since the close needs the peer's end). After
   * `closeTimeoutMs` the link is destroyed. Idempotent; same promise every call; never rejects.
   *
   * @returns resolves once the link is closed and every listener released.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#closePromise = this.#closed;
    if (this.#state !== 'open') return this.#closePromise;
    this.#state = 'closing';
    this.#sendHolds.clear();
    this.#admitWaiting();
    // The close completes when the peer's end is read: the caller's own pause is over (it
    // asked to close), but the inbox limit and decorators' reasons still hold.
    this.#pause.release(USER);
    const timeoutMs = this.#options.closeTimeoutMs;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      this.#terminate(this.#lost('local-close', `graceful close did not finish within ${timeoutMs} ms`), true);
    }, timeoutMs);
    unrefTimer(this.#closeTimer);
    const waits = this.#endWaiters.map((waiter) => waiter());
    this.#endWaiters = [];
    if (waits.length === 0) {
      this.#link.end();
    } else {
      // The peer must still be able to answer (acks travel on this connection): the write
      // side ends only once every decorator's wait settled, or the close timer ends it all.
      void Promise.allSettled(waits).then(() => {
        if (this.#state === 'closing') this.#link.end();
      });
    }
    return this.#closePromise;
  }

  /**
   * Abortive close: queued sends reject, the link is destroyed now. Idempotent.
   *
   * @param error - the terminal error to report; default `ConnectionLostError('local-close')`.
   */
  destroy(error?: IpcezError): void {
    this.#terminate(error ?? this.#lost('local-close'), error === undefined);
  }

  /**
   * Same as `close()`, for `await using`.
   *
   * @returns the `close()` promise.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Decorator seam: `observer` sees every read batch (the whole messages one read from the
   * transport completed) before any of them is delivered or buffered, whether or not a
   * consumer exists. Messages already read and still buffered when it is attached are
   * passed to it at once, as one batch. It may destroy the connection (nothing of the batch is delivered then);
   * what it throws propagates like a handler's.
   *
   * @param observer - called with each batch, in order.
   * @returns a disposable that removes the observer.
   */
  observeReads(observer: (messages: readonly Uint8Array[]) => void): Disposable {
    // Messages read before the decorator was attached (e.g. while a client opened its ack
    // signals) and still buffered were read all the same: the observer sees them now, as one batch.
    if (this.#state !== 'closed' && this.#inbox.size > 0) observer(this.#inbox.snapshot());
    this.#readObservers = [...this.#readObservers, observer];
    return once(() => {
      this.#readObservers = this.#readObservers.filter((o) => o !== observer);
    });
  }

  /**
   * Decorator seam: `listener` is called once, synchronously, with the terminal error when
   * the connection ends (after the link rejected its unsettled writes, before the handler
   * gets the error), so a decorator can reject what it holds at once. Called at once if the
   * connection already ended.
   *
   * @param listener - gets the terminal error.
   * @returns a disposable that removes the listener.
   */
  onEnd(listener: (error: IpcezError) => void): Disposable {
    const ended = this.#terminalError;
    if (ended !== undefined) {
      listener(ended);
      return once(() => undefined);
    }
    this.#endListeners = [...this.#endListeners, listener];
    return once(() => {
      this.#endListeners = this.#endListeners.filter((l) => l !== listener);
    });
  }

  /**
   * Decorator seam: a graceful {@link MessageConnection.close} calls `waiter` once every
   * accepted send was handed to the link, and ends the write side only after the promise it
   * returns settled (or `closeTimeoutMs` ran out, which destroys the link). A decorator that
   * expects answers on this connection (in-band acks) or beside it (seed acks) waits for them
   * here, so a graceful close rejects only what the peer did not confirm. Not called by
   * `destroy()` or when the connection ends otherwise.
   *
   * @param waiter - returns what the close waits for; its rejection is ignored.
   * @returns a disposable that removes the waiter.
   */
  beforeEnd(waiter: () => Promise<unknown>): Disposable {
    this.#endWaiters = [...this.#endWaiters, waiter];
    return once(() => {
      this.#endWaiters = this.#endWaiters.filter((w) => w !== waiter);
    });
  }

  /** The error sends reject with once the connection ended (or `undefined` while open). */
  get #terminalError(): IpcezError | undefined {
    return this.#state === 'closed' ? this.#sendError : undefined;
  }

  /**
   * Decorator seam: holds a pause reason of the decorator's own (see {@link PauseAuthority}).
   *
   * @param reason - the decorator's symbol.
   */
  holdReading(reason: PauseReason): void {
    this.#pause.hold(reason);
  }

  /**
   * Decorator seam: releases a reason held with {@link MessageConnection.holdReading}.
   *
   * @param reason - the same symbol.
   */
  releaseReading(reason: PauseReason): void {
    this.#pause.release(reason);
  }

  /**
   * Decorator seam: while any hold is in place, new sends queue (in order, with their
   * `signal`) instead of being written, e.g. while a connection negotiates. `close()` drops
   * every hold (what was accepted is flushed).
   *
   * @param reason - the decorator's symbol.
   */
  holdSends(reason: symbol): void {
    this.#sendHolds.add(reason);
  }

  /**
   * Decorator seam: releases a send hold; when none is left the queued sends go out in order.
   *
   * @param reason - the symbol given to {@link MessageConnection.holdSends}.
   */
  releaseSends(reason: symbol): void {
    if (this.#sendHolds.delete(reason) && this.#sendHolds.size === 0) this.#admitWaiting();
  }

  /**
   * Decorator seam (links with control headers): queues a control header ahead of every data
   * frame not yet begun; with `merge`, the last header still queued may absorb it. Not
   * counted in `bufferedAmount`. Ignored once the connection is closing or closed.
   *
   * @param header - the header, an unsigned 32-bit integer (top bit set for control headers).
   * @param merge - given the last queued header, returns the merged one or `undefined`.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when the link carries no control headers.
   */
  queueControl(header: number, merge?: (queued: number) => number | undefined): void {
    const link = this.#link;
    if (link.queueControl === undefined) throw invalidArgError("this connection's link carries no control headers");
    if (this.#state === 'closed') return;
    link.queueControl(header, merge);
  }

  /**
   * Decorator seam (links with control headers): from now on, received headers with the top
   * bit set (text messages on WebSocket) are control headers handed to `handler` (in stream order with respect to other headers,
   * before the data messages of the same read are delivered); `undefined` switches back.
   * What the handler throws ends the connection with that error (an `IpcezError` as is).
   *
   * @param handler - receives each control header, and how many data messages of the same
   *   read came before it.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when the link carries no control headers.
   */
  setControlHandler(handler: ((header: number, precedingMessages: number) => void) | undefined): void {
    const link = this.#link;
    if (link.setControlHandler === undefined)
      throw invalidArgError("this connection's link carries no control headers");
    link.setControlHandler(handler);
  }

  #receive(messages: readonly Uint8Array[]): void {
    if (this.#state === 'closed') return;
    const observers = this.#readObservers;
    for (const observer of observers) {
      observer(messages);
      if (this.#isClosed()) return;
    }
    const inbox = this.#inbox;
    const count = messages.length;
    let i = 0;
    try {
      for (; i < count; i++) {
        // With a handler set and nothing buffered, the inbox would call the handler at once:
        // do it directly and skip its intermediate result object.
        const handler = this.#handler;
        if (handler !== undefined && inbox.size === 0) handler({ ok: true, message: messages[i]! });
        else inbox.push(messages[i]!);
        // A handler may have destroyed the connection; nothing is delivered after its end.
        if (this.#isClosed()) return;
      }
    } catch (error) {
      // The handler threw: the rest of this batch waits in the inbox, handed over later.
      for (i++; i < count; i++) inbox.pushDeferred(messages[i]!);
      throw error;
    }
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #lost(reason: ConnectionLostReason, detail?: string, cause?: unknown): ConnectionLostError {
    const base = `connection to ${this.#options.endpoint} lost (${reason})`;
    return new ConnectionLostError(
      reason,
      detail === undefined ? base : `${base}: ${detail}`,
      cause === undefined ? {} : { cause },
    );
  }

  #rejectionAfterClose(): IpcezError {
    return this.#sendError ?? this.#lost('local-close', 'the connection is closing');
  }

  #admitWaiting(): void {
    const waiting = this.#waiting;
    const link = this.#link;
    const isClosing = this.#state === 'closing';
    const highWaterMark = this.#options.highWaterMark;
    let admitted = 0;
    while (
      admitted < waiting.length &&
      (isClosing || (this.#sendHolds.size === 0 && link.bufferedAmount < highWaterMark))
    ) {
      const send = waiting[admitted]!;
      admitted++;
      if (send.onAbort !== undefined) send.signal?.removeEventListener('abort', send.onAbort);
      send.onAbort = undefined;
      this.#waitingBytes -= send.message.length;
      link.write(send.message).then(send.resolve, send.reject);
    }
    // One splice per round, not a shift per send: thousands may wait behind a full queue.
    if (admitted > 0) waiting.splice(0, admitted);
  }

  /** Reports the end once: rejects pending sends, destroys the link, ends the inbox. */
  #terminate(error: IpcezError, isClean: boolean): void {
    if (this.#state === 'closed') return;
    const wasClosing = this.#state === 'closing';
    this.#state = 'closed';
    if (this.#closeTimer !== undefined) {
      clearTimeout(this.#closeTimer);
      this.#closeTimer = undefined;
    }
    // A local close() is reported as such even when the peer's end or a reset finished it.
    let terminal = error;
    if (wasClosing && !(isConnectionLost(error) && error.reason === 'local-close')) {
      terminal = this.#lost('local-close', undefined, error);
    }
    if (isClean || (isConnectionLost(terminal) && terminal.reason === 'local-close')) cleanEnds.add(terminal);
    // Sends reject with the error the handler gets (one error per end, on every transport).
    const sendError = terminal;
    this.#sendError = sendError;
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#waitingBytes = 0;
    this.#sendHolds.clear();
    for (const send of waiting) {
      if (send.onAbort !== undefined) send.signal?.removeEventListener('abort', send.onAbort);
      send.reject(sendError);
    }
    this.#link.destroy(sendError);
    this.#endWaiters = [];
    const listeners = this.#endListeners;
    this.#endListeners = [];
    this.#readObservers = [];
    for (const listener of listeners) listener(sendError);
    this.#inbox.end(terminal);
  }
}
