import { ConnectionLostError, FrameTooLargeError, Inbox, SendBufferFullError, invalidArgError } from '@ipcez/core';
import type { Connection, ConnectionState, IpcezError, MessageHandler, SendOptions } from '@ipcez/core';
import type { SocketAdapter, SocketSink } from './socket-adapter.js';

/** Settings of one {@link WsConnection}, already validated. Module-private. */
export interface WsConnectionSettings {
  readonly endpoint: string;
  readonly maxMessageBytes: number;
  readonly highWaterMark: number;
  readonly closeTimeoutMs: number;
  /** The peer's IP address, when the socket has one. */
  readonly remoteAddress?: string | undefined;
  /** Called once, after the socket closed and everything was released (the listener's bookkeeping). */
  readonly onClosed?: (connection: WsConnection) => void;
}

/**
 * The sends admitted in one turn of the event loop: handed to the socket together (one
 * writev in Node) and settled together, by one promise that every one of those `send` calls
 * returns. It resolves when the last of them was written, so each send still resolves only
 * once its own bytes are with the OS; sharing it saves a promise and a callback per message,
 * which is most of the cost of small messages.
 */
class SendBatch {
  messages: Uint8Array[] = [];
  size = 0;
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

interface WaitingSend {
  readonly message: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  isSettled: boolean;
}

/** Close code sent by a graceful `close()` (RFC 6455 §7.4.1: normal closure). */
const NORMAL_CLOSURE = 1000;

/**
 * Per-message weight in the receive buffer, on top of the payload: keeps a flood of empty
 * messages from growing the buffer without ever reaching the pause threshold.
 */
const MESSAGE_OVERHEAD_BYTES = 32;

function unref(timer: unknown): void {
  // Node timers can be unref'd; browser timers are plain numbers.
  (timer as { unref?: () => void }).unref?.();
}

// Lifecycle (the order matters: the terminal error is handed to the inbox last, after every
// internal update, because a handler may throw from inside it):
//
//   open --close()-------------------------> closing --socket closed--> closed
//   open --fail() (protocol, keepalive)----> closing --socket closed--> closed
//   open/closing --destroy()/socket closed-------------------------------> closed
//
// close() ends delivery at once (buffered messages are still delivered, then the one
// ConnectionLostError('local-close')), flushes every send accepted so far, including sends
// waiting for room, starts the closing handshake, and arms a safety timer that ends in
// terminate(). Sends admitted to the socket settle from the socket's write callbacks; when the
// socket closes, any still unsettled reject with the send error.

/**
 * One ipcez connection over a WebSocket: Node's `ws` or the browser's `WebSocket`, behind a
 * {@link SocketAdapter}. The connection **owns** its socket. Module-private: the package
 * exports it only as the `Connection` interface.
 */
export class WsConnection implements Connection {
  readonly transport = 'ws' as const;
  readonly endpoint: string;
  readonly highWaterMark: number;
  readonly maxMessageBytes: number;
  /** The peer's IP address (Node; `undefined` in a browser). */
  readonly remoteAddress: string | undefined;

  #state: ConnectionState = 'open';
  #terminal: IpcezError | undefined;
  #sendError: IpcezError | undefined;
  #buffered = 0;
  // Batches admitted, oldest first; the last one may still be collecting (#batch). The socket
  // completes writes in order, so one shared callback settles the head each time.
  #batch: SendBatch | undefined;
  #inflight: SendBatch[] = [];
  #inflightHead = 0;
  #hasWriteFailed = false;
  #waiting: WaitingSend[] = [];
  #waitingHead = 0;
  #waitingLive = 0;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closePromise: Promise<void> | undefined;
  #isSocketClosed = false;
  readonly #socketClosed: Promise<void>;
  #resolveSocketClosed!: () => void;
  readonly #closeTimeoutMs: number;
  readonly #onClosed: ((connection: WsConnection) => void) | undefined;
  readonly #inbox: Inbox<Uint8Array, IpcezError>;
  /** Reading pauses while either holds: the inbox is too full, or a wrapper asked (pauseReading). */
  #inboxPaused = false;
  #userPaused = false;
  #handler: MessageHandler | undefined;
  readonly #adapter: SocketAdapter;

  /**
   * @param settings - validated settings.
   * @param attach - builds the adapter over the already open socket, reporting to the sink.
   */
  constructor(settings: WsConnectionSettings, attach: (sink: SocketSink) => SocketAdapter) {
    this.endpoint = settings.endpoint;
    this.remoteAddress = settings.remoteAddress;
    this.highWaterMark = settings.highWaterMark;
    this.maxMessageBytes = settings.maxMessageBytes;
    this.#closeTimeoutMs = settings.closeTimeoutMs;
    this.#onClosed = settings.onClosed;
    this.#socketClosed = new Promise<void>((resolve) => {
      this.#resolveSocketClosed = resolve;
    });
    this.#inbox = new Inbox<Uint8Array, IpcezError>({
      weigh: (item) => (item as Uint8Array).byteLength + MESSAGE_OVERHEAD_BYTES,
      highWaterMark: settings.highWaterMark,
      onPause: () => {
        this.#inboxPaused = true;
        this.#updateReading();
      },
      onResume: () => {
        this.#inboxPaused = false;
        this.#updateReading();
      },
      isCleanEnd: (error) =>
        error instanceof ConnectionLostError && (error.reason === 'local-close' || error.reason === 'peer-closed'),
    });
    const sink: SocketSink = {
      message: (data) => {
        // Hot path: with a handler set and nothing buffered, hand the message over directly
        // (what the inbox would do, minus its result wrapper).
        const handler = this.#handler;
        if (handler !== undefined && this.#inbox.size === 0 && !this.#inbox.isEnded)
          handler({ ok: true, message: data });
        else this.#inbox.push(data);
      },
      fail: (error) => {
        this.#fail(error);
      },
      closed: (error) => {
        this.#socketDidClose(error);
      },
    };
    this.#adapter = attach(sink);
  }

  /** See `Connection.state`. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** See `Connection.bufferedAmount`: bytes handed to the socket whose write has not completed. */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** See `Connection.send`. */
  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    if (!(message instanceof Uint8Array)) {
      throw invalidArgError(`message must be a Uint8Array, got ${describe(message)}`);
    }
    if ((options as unknown) !== undefined && (typeof options !== 'object' || (options as unknown) === null)) {
      throw invalidArgError(`send options must be an object, got ${describe(options)}`);
    }
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw invalidArgError(`options.signal must be an AbortSignal, got ${describe(signal)}`);
    }
    if (this.#sendError) return Promise.reject(this.#sendError);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (message.byteLength > this.maxMessageBytes) {
      return Promise.reject(new FrameTooLargeError(message.byteLength, this.maxMessageBytes, 'sent'));
    }
    if (this.#waitingLive === 0 && this.#buffered < this.highWaterMark) return this.#write(message);
    if (options?.wait === false) {
      return Promise.reject(new SendBufferFullError(this.#buffered, this.highWaterMark));
    }
    return new Promise<void>((resolve, reject) => {
      const waiting: WaitingSend = { message, resolve, reject, signal, onAbort: undefined, isSettled: false };
      if (signal) {
        waiting.onAbort = () => {
          if (waiting.isSettled) return;
          waiting.isSettled = true;
          this.#waitingLive--;
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', waiting.onAbort, { once: true });
      }
      this.#waiting.push(waiting);
      this.#waitingLive++;
    });
  }

  /** See `Connection.messageHandler`. */
  /**
   * Stops reading from the socket until {@link WsConnection.resumeReading} (for wrappers that
   * consume every message on read and keep their own buffer). A flag, not a count.
   */
  pauseReading(): void {
    this.#userPaused = true;
    this.#updateReading();
  }

  /** Undoes {@link WsConnection.pauseReading}; reading resumes unless the inbox is full. */
  resumeReading(): void {
    this.#userPaused = false;
    this.#updateReading();
  }

  #updateReading(): void {
    if (this.#inboxPaused || this.#userPaused) this.#adapter.pause();
    else this.#adapter.resume();
  }

  messageHandler(handler: MessageHandler): void {
    if (typeof handler !== 'function') throw invalidArgError(`handler must be a function, got ${describe(handler)}`);
    this.#inbox.setHandler((result) => {
      handler(result.ok ? { ok: true, message: result.value } : { ok: false, error: result.error });
    });
    // Set only once the inbox accepted it as the one consumer and drained what it buffered.
    this.#handler = handler;
  }

  /**
   * Iterates the messages. Ends normally on a local close or a peer close; throws any other
   * terminal error (keepalive timeout, reset, protocol error, oversized message).
   *
   * @returns an async iterator of the messages.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  /** See `Connection.close`. */
  close(): Promise<void> {
    this.#closePromise ??= this.#startClose();
    return this.#closePromise;
  }

  /** Delegates to {@link close}, so `await using` works. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** See `Connection.destroy`. */
  destroy(error?: IpcezError): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const terminal = error ?? new ConnectionLostError('local-close');
    this.#sendError ??= terminal;
    this.#closePromise ??= this.#socketClosed;
    this.#rejectWaiting(this.#sendError);
    this.#rejectInflight(this.#sendError);
    this.#adapter.terminate();
    this.#endInbox(terminal);
  }

  #startClose(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closing';
      const error = new ConnectionLostError('local-close');
      this.#sendError = error;
      // Graceful: every send accepted so far is flushed, those waiting for room included,
      // in order; the close frame goes out after them.
      this.#admitAllWaiting();
      this.#flush();
      this.#adapter.close(NORMAL_CLOSURE, '');
      // Delivery ended: read on, so the peer's close frame arrives even while paused.
      this.#adapter.resume();
      this.#armCloseTimer();
      this.#endInbox(error);
    }
    return this.#socketClosed;
  }

  #fail(error: IpcezError): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    this.#sendError = error;
    this.#rejectWaiting(error);
    this.#armCloseTimer();
    this.#endInbox(error);
  }

  #socketDidClose(error: IpcezError): void {
    if (this.#isSocketClosed) return;
    this.#isSocketClosed = true;
    this.#state = 'closed';
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    const sendError = this.#sendError ?? error;
    this.#sendError = sendError;
    this.#rejectWaiting(sendError);
    this.#rejectInflight(sendError);
    this.#resolveSocketClosed();
    this.#onClosed?.(this);
    this.#endInbox(error);
  }

  #endInbox(error: IpcezError): void {
    if (this.#terminal) return;
    this.#terminal = error;
    this.#inbox.end(error);
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined || this.#isSocketClosed) return;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      // The peer did not finish the closing handshake in time (or our queued data could not
      // be flushed): abort. Unsettled sends reject when the socket reports closed.
      this.#adapter.terminate();
    }, this.#closeTimeoutMs);
    unref(this.#closeTimer);
  }

  #write(message: Uint8Array): Promise<void> {
    let batch = this.#batch;
    if (batch === undefined) {
      // Nothing in flight: hand this one over now (latency); later sends of this tick
      // collect in the next batch, flushed as a microtask (throughput).
      const isIdle = this.#inflightHead === this.#inflight.length;
      batch = new SendBatch();
      this.#inflight.push(batch);
      batch.messages.push(message);
      batch.size = message.byteLength;
      this.#buffered += message.byteLength;
      if (isIdle) {
        this.#adapter.send(batch.messages, this.#written);
        batch.messages = [];
      } else {
        this.#batch = batch;
        queueMicrotask(this.#flush);
      }
      return batch.promise;
    }
    batch.messages.push(message);
    batch.size += message.byteLength;
    this.#buffered += message.byteLength;
    return batch.promise;
  }

  readonly #flush = (): void => {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    const { messages } = batch;
    batch.messages = [];
    this.#adapter.send(messages, this.#written);
  };

  readonly #written = (error?: Error | null): void => {
    // Everything was rejected already (the connection ended, or an earlier write failed).
    if (this.#hasWriteFailed || this.#inflightHead === this.#inflight.length) return;
    if (error !== undefined && error !== null) {
      // A failed write means the socket is going away. A failure can be reported ahead of
      // earlier writes' completions (ws reports a send on a closing socket on the next
      // tick), so it cannot be matched to one send: every unsettled send rejects.
      this.#hasWriteFailed = true;
      this.#sendError ??= new ConnectionLostError('reset', `send failed: ${error.message}`, { cause: error });
      this.#rejectWaiting(this.#sendError);
      this.#rejectInflight(this.#sendError);
      return;
    }
    const entry = this.#inflight[this.#inflightHead]!;
    this.#inflight[this.#inflightHead] = undefined as unknown as SendBatch;
    this.#inflightHead++;
    if (this.#inflightHead === this.#inflight.length) {
      this.#inflight = [];
      this.#inflightHead = 0;
    } else if (this.#inflightHead > 4096 && this.#inflightHead * 2 > this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#inflightHead);
      this.#inflightHead = 0;
    }
    this.#buffered -= entry.size;
    entry.resolve();
    this.#pump();
  };

  /** Admits waiting sends, in order, while there is room under the high-water mark. */
  #pump(): void {
    if (this.#waitingLive === 0 || this.#sendError) return;
    while (this.#waitingHead < this.#waiting.length && this.#buffered < this.highWaterMark) {
      const waiting = this.#nextWaiting();
      if (waiting) this.#write(waiting.message).then(waiting.resolve, waiting.reject);
    }
    this.#compactWaiting();
  }

  #admitAllWaiting(): void {
    while (this.#waitingHead < this.#waiting.length) {
      const waiting = this.#nextWaiting();
      if (waiting) this.#write(waiting.message).then(waiting.resolve, waiting.reject);
    }
    this.#compactWaiting();
  }

  /** Takes the next waiting send off the queue; `undefined` when that one was aborted. */
  #nextWaiting(): WaitingSend | undefined {
    const waiting = this.#waiting[this.#waitingHead]!;
    this.#waiting[this.#waitingHead] = undefined as unknown as WaitingSend;
    this.#waitingHead++;
    if (waiting.isSettled) return undefined;
    waiting.isSettled = true;
    this.#waitingLive--;
    if (waiting.onAbort) waiting.signal?.removeEventListener('abort', waiting.onAbort);
    return waiting;
  }

  #compactWaiting(): void {
    if (this.#waitingHead === this.#waiting.length) {
      this.#waiting = [];
      this.#waitingHead = 0;
    } else if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitingHead);
      this.#waitingHead = 0;
    }
  }

  #rejectWaiting(error: IpcezError): void {
    while (this.#waitingHead < this.#waiting.length) {
      this.#nextWaiting()?.reject(error);
    }
    this.#compactWaiting();
  }

  #rejectInflight(error: IpcezError): void {
    const inflight = this.#inflight;
    const head = this.#inflightHead;
    this.#inflight = [];
    this.#inflightHead = 0;
    // A batch still collecting is never handed to the socket.
    this.#batch = undefined;
    // Later completions of these writes find nothing to settle.
    this.#hasWriteFailed = true;
    for (let i = head; i < inflight.length; i++) inflight[i]!.reject(error);
    this.#buffered = 0;
  }
}

/** A short description of a value for an error message. Module-private. */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      const proto: unknown = Object.getPrototypeOf(value);
      const name = (proto as { constructor?: { name?: unknown } } | null)?.constructor?.name;
      return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
    }
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'function':
      return 'a function';
    case 'symbol':
      return value.toString();
    case 'undefined':
      return 'undefined';
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${value.toString()}`;
  }
}
