import { addAbortListener } from 'node:events';
import type { Duplex } from 'node:stream';
import { FrameDecoder, FrameTooLargeError, HEADER_BYTES, resolveMaxMessageBytes } from '@ipcez/framing';
import type { IpcezError } from '@ipcez/framing';
import { DEFAULT_HIGH_WATER_MARK } from '../contracts.js';
import type { Connection, ConnectionState, MessageHandler, SendOptions, TransportKind } from '../contracts.js';
import { ConnectionLostError, SendBufferFullError, invalidArgError } from '../errors.js';
import type { ConnectionLostReason } from '../errors.js';
import { Inbox } from '../inbox.js';

/** Default time a graceful `close()` may take before it turns into `destroy()`: 2 s. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2000;

/**
 * Payloads shorter than this are copied into the batch's staging buffer (one copy, so that
 * hundreds of small frames become one write); longer ones are written by reference
 * (vectored write), so a 4 MiB message is never copied.
 */
const COPY_THRESHOLD = 16 * 1024;

/**
 * A batch that reaches this many bytes is written at once, inside `send`, instead of at the
 * end of the tick: big enough that small messages share one write, small enough that a
 * long synchronous run of sends keeps the socket busy.
 */
const EAGER_WRITE_BYTES = 64 * 1024;

/** Size of a staging buffer that collects small frames (one eager write's worth). */
const STAGING_BYTES = 64 * 1024;

/** Options of {@link createStreamConnection}. */
export interface StreamConnectionOptions {
  /** Which transport carries the duplex (reported as `connection.transport`). */
  readonly transport: TransportKind;
  /** The resolved endpoint (reported as `connection.endpoint` and in error messages). */
  readonly endpoint: string;
  /** Payload limit in bytes, both directions, 0 to 4 MiB (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /** Queued send bytes (headers included) past which sends wait. Default 1 MiB. */
  readonly highWaterMark?: number;
  /**
   * Received bytes buffered (no handler yet, or a slow iterator) past which reading from the
   * duplex pauses; it resumes below half of it. Default 1 MiB.
   */
  readonly receiveHighWaterMark?: number;
  /** How long a graceful `close()` may take before it destroys the duplex. Default 2000 ms. */
  readonly closeTimeoutMs?: number;
}

interface ResolvedStreamConnectionOptions {
  readonly transport: TransportKind;
  readonly endpoint: string;
  readonly maxMessageBytes: number;
  readonly highWaterMark: number;
  readonly receiveHighWaterMark: number;
  readonly closeTimeoutMs: number;
}

/** A send that found the queue at its high-water mark and waits for room, in order. */
interface WaitingSend {
  readonly message: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** Its signal's abort listener; disposed when it is admitted. */
  abort: Disposable | undefined;
}

/**
 * Messages written together, settled together by one write callback. Every send admitted
 * straight into a batch returns the batch's one promise (a send costs no promise or closure
 * of its own, which matters at millions of small messages per second); sends that waited
 * for room keep their own promise, settled with the batch (`waiters`).
 */
interface Batch {
  /** Finished pieces, in wire order: staging segments and large payloads by reference. */
  readonly chunks: Uint8Array[];
  /** Start, in the connection's current staging buffer, of this batch's open segment. */
  segmentStart: number;
  /** Messages in the batch. */
  count: number;
  /** Frame bytes: headers + payloads. */
  bytes: number;
  /**
   * The promise admitted sends return, created when the first one asks for it (a batch only
   * waiting sends joined, or a lone send handed to the OS synchronously, never needs one).
   */
  promise: Promise<void> | undefined;
  resolve: (() => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  waiters: WaitingSend[] | undefined;
}

function newBatch(segmentStart: number): Batch {
  return {
    chunks: [],
    segmentStart,
    count: 0,
    bytes: 0,
    promise: undefined,
    resolve: undefined,
    reject: undefined,
    waiters: undefined,
  };
}

function batchPromise(batch: Batch): Promise<void> {
  batch.promise ??= new Promise<void>((resolve, reject) => {
    batch.resolve = resolve;
    batch.reject = reject;
  });
  return batch.promise;
}

/** What a send whose bytes were handed to the OS before it returned resolves with. */
const HANDED_OVER: Promise<void> = Promise.resolve();

function settleBatch(batch: Batch, error: unknown): void {
  if (error === undefined) {
    batch.resolve?.();
    if (batch.waiters) for (const waiter of batch.waiters) waiter.resolve();
  } else {
    batch.reject?.(error);
    if (batch.waiters) for (const waiter of batch.waiters) waiter.reject(error);
  }
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

type DuplexListener = Parameters<Duplex['on']>[1];

const TRANSPORT_KINDS: readonly string[] = ['unix', 'pipe', 'ws'];

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw invalidArgError(`${name} must be a positive integer, got ${String(value)}`, 'range');
  }
  return value;
}

function resolveOptions(options: StreamConnectionOptions): ResolvedStreamConnectionOptions {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw invalidArgError('options must be an object with transport and endpoint');
  }
  if (!TRANSPORT_KINDS.includes(options.transport)) {
    throw invalidArgError(
      `options.transport must be one of ${TRANSPORT_KINDS.join(', ')}, got ${JSON.stringify(options.transport)}`,
    );
  }
  if (typeof options.endpoint !== 'string') {
    throw invalidArgError(`options.endpoint must be a string, got ${typeof options.endpoint}`);
  }
  return {
    transport: options.transport,
    endpoint: options.endpoint,
    maxMessageBytes: resolveMaxMessageBytes(options.maxMessageBytes),
    highWaterMark: positiveInteger('highWaterMark', options.highWaterMark, DEFAULT_HIGH_WATER_MARK),
    receiveHighWaterMark: positiveInteger(
      'receiveHighWaterMark',
      options.receiveHighWaterMark,
      DEFAULT_HIGH_WATER_MARK,
    ),
    closeTimeoutMs: positiveInteger('closeTimeoutMs', options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS),
  };
}

function isConnectionLost(error: IpcezError): error is ConnectionLostError {
  return error.code === 'IPCEZ_ERR_CONNECTION_LOST';
}

/** Terminal errors that end async iteration normally instead of being thrown. */
const cleanEnds = new WeakSet<Error>();

/**
 * Framed messages over a Node `Duplex` (a `net.Socket` on a Unix socket or a Windows named
 * pipe, or any byte duplex): the {@link Connection} of both local transports. Create it
 * with {@link createStreamConnection}.
 *
 * **Ownership.** The connection **owns** the duplex from creation: it reads it, writes it,
 * ends and destroys it, and releases every listener it added once the duplex has emitted
 * `'close'`. Do not read, write or add `'data'` listeners to it afterwards.
 *
 * **Wire format.** Each message is a 4-byte big-endian payload length then the payload
 * (DESIGN.md "Wire format"; `@ipcez/framing` SPEC.md).
 *
 * **Sending.** Sends are queued in order, any number at once. A lone send on an idle
 * connection is written at once; the sends made in the rest of that tick (or while the duplex
 * drains) are coalesced into one vectored write, small payloads copied with their headers into
 * a shared staging buffer as they are sent and large ones referenced, a batch going out as
 * soon as it holds 64 KiB. A send resolves when its bytes were handed to the OS (its batch's
 * write callback; the sends of one batch share one promise). While `bufferedAmount` is at or
 * past `highWaterMark`, new sends wait in order (or reject with `SendBufferFullError` with
 * `{ wait: false }`); a send's `signal` aborts it only while it waits for room, not once its
 * bytes are queued for writing.
 *
 * **Receiving.** Messages are handed over whole, in order, to the one handler or iterator,
 * and buffered until one exists; reading the duplex pauses while more than
 * `receiveHighWaterMark` bytes are buffered. A delivered message may be a view of the
 * chunk the duplex emitted (no copy); it is never touched again by the connection.
 *
 * **End.** Reported exactly once, as the handler's one error result:
 * - the peer ended or closed its side (half-close is treated as the end: the message API has
 *   no half-open use) → `ConnectionLostError('peer-closed')`;
 * - the OS reported a reset or broken pipe → `ConnectionLostError('reset')`, OS error as cause;
 * - either of those inside a frame → the same, its message saying how many bytes of the
 *   partial frame were received (they are discarded, never delivered);
 * - a header announcing more than `maxMessageBytes` → `FrameTooLargeError` (the connection
 *   is destroyed, nothing of that size is allocated);
 * - `close()`/`destroy()` → `ConnectionLostError('local-close')` (or `destroy(error)`'s error).
 * Sends not yet handed to the OS then reject with a `ConnectionLostError` (the terminal error
 * itself when it is one, otherwise one with reason `'local-close'` whose cause is it).
 *
 * Async iteration ends normally on a clean end (`local-close`, or `peer-closed` at a frame
 * boundary) and throws the terminal error otherwise.
 */
export class StreamConnection implements Connection {
  readonly #duplex: Duplex;
  readonly #options: ResolvedStreamConnectionOptions;
  readonly #decoder: FrameDecoder;
  readonly #inbox: Inbox<Uint8Array, IpcezError>;
  readonly #disposables: (() => void)[] = [];

  #state: ConnectionState = 'open';
  /** Sends past the high-water mark, waiting for room, in order. */
  #waiting: WaitingSend[] = [];
  /** The batch collecting admitted sends, not yet handed to the duplex. */
  #open: Batch | undefined;
  /**
   * Where small frames are copied (header + payload) as they are sent, shared by successive
   * batches: each batch writes the segment it filled, the next one continues after it. Bytes
   * handed to the duplex are never touched again, so readers of an in-memory duplex that
   * receive views of it stay valid.
   */
  #staging: Buffer | undefined;
  #stagingPosition = 0;
  /**
   * The lone write in flight (see #admit): its frame bytes (0 when none), and the promise
   * its send returned, made only when the write did not complete synchronously.
   */
  #loneBytes = 0;
  #loneResolve: (() => void) | undefined;
  #loneReject: ((error: unknown) => void) | undefined;
  /** The lone write's callback, made once (no closure per write). */
  readonly #onLoneWritten = (error?: Error | null): void => {
    if (this.#loneBytes === 0) return; // Already settled, or rejected by #terminate.
    if (error) {
      this.#terminate(this.#mapError(error));
      return;
    }
    this.#settleLone();
    if (this.#state === 'open') this.#admitWaiting();
    else if (this.#state === 'closing') this.#flush();
  };
  /** Batches handed to the duplex whose write callback has not run. */
  readonly #inflight: Batch[] = [];
  #inflightBytes = 0;
  #flushScheduled = false;
  #needDrain = false;
  #ended = false;
  #sendError: ConnectionLostError | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  #closePromise: Promise<void> | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #finalized = false;
  /** The message handler, once set (the fast path of delivery). */
  #handler: MessageHandler | undefined;
  /** Reading pauses while either holds: the inbox is too full, or a wrapper asked (pauseReading). */
  #inboxPaused = false;
  #userPaused = false;

  /**
   * Use {@link createStreamConnection}; the class is exported as a type only.
   *
   * @param duplex - the connected duplex, now owned.
   * @param userOptions - {@link StreamConnectionOptions}.
   */
  constructor(duplex: Duplex, userOptions: StreamConnectionOptions) {
    const options = resolveOptions(userOptions);
    this.#duplex = duplex;
    this.#options = options;
    this.#decoder = new FrameDecoder({
      maxMessageBytes: options.maxMessageBytes,
      allocate: allocateBody,
    });
    this.#closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#inbox = new Inbox<Uint8Array, IpcezError>({
      // Empty messages weigh their header, so a flood of them still pauses reading.
      weigh: (item) => (item as Uint8Array).length + HEADER_BYTES,
      highWaterMark: options.receiveHighWaterMark,
      onPause: () => {
        this.#inboxPaused = true;
        this.#updateReading();
      },
      onResume: () => {
        this.#inboxPaused = false;
        this.#updateReading();
      },
      isCleanEnd: (error) => cleanEnds.has(error),
    });
    this.#listen('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    this.#listen('end', () => {
      this.#onEnd();
    });
    this.#listen('error', (error: Error) => {
      this.#onError(error);
    });
    this.#listen('close', () => {
      this.#onClose();
    });
    this.#listen('drain', () => {
      this.#needDrain = false;
      this.#flush();
    });
    if (duplex.destroyed) {
      // Already gone before we got it: report it now, and finalize (no 'close' may follow).
      this.#terminate(this.#lost('peer-closed', 'the stream was already destroyed'));
      if (duplex.closed) this.#finalize();
    }
  }

  /** Which transport carries this connection. */
  get transport(): TransportKind {
    return this.#options.transport;
  }

  /** The resolved endpoint. */
  get endpoint(): string {
    return this.#options.endpoint;
  }

  /** `'open'`, `'closing'` (graceful close in progress) or `'closed'`. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Frame bytes (headers included) accepted by `send` and not yet handed to the OS. */
  get bufferedAmount(): number {
    return (this.#open?.bytes ?? 0) + this.#inflightBytes;
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
   * Sends one message (see the class docs for queueing, coalescing and backpressure).
   *
   * @param message - 0 to `maxMessageBytes` bytes; not copied before it is written, so do
   *   not mutate it until the promise settles.
   * @param options - `signal` aborts a send waiting for room; `wait: false` rejects instead
   *   of waiting.
   * @returns resolves when the frame was handed to the OS.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, when `message` is not a
   *   `Uint8Array` or the options are malformed.
   * Rejects with `FrameTooLargeError` (`IPCEZ_ERR_FRAME_TOO_LARGE`, nothing written),
   * `SendBufferFullError` (`IPCEZ_ERR_SEND_BUFFER_FULL`, with `wait: false`),
   * `ConnectionLostError` (`IPCEZ_ERR_CONNECTION_LOST`) once closing or closed, or
   * `signal.reason`.
   */
  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    if (!(message instanceof Uint8Array)) {
      throw invalidArgError(`message must be a Uint8Array, got ${describe(message)}`);
    }
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw invalidArgError('options.signal must be an AbortSignal');
    }
    const wait = options?.wait ?? true;
    if (typeof wait !== 'boolean') throw invalidArgError('options.wait must be a boolean');
    if (this.#state !== 'open') return Promise.reject(this.#rejectionAfterClose());
    if (message.length > this.#options.maxMessageBytes) {
      return Promise.reject(new FrameTooLargeError(message.length, this.#options.maxMessageBytes, 'sent'));
    }
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const hasRoom = this.#waiting.length === 0 && this.bufferedAmount < this.#options.highWaterMark;
    if (!hasRoom && !wait) {
      return Promise.reject(new SendBufferFullError(this.bufferedAmount, this.#options.highWaterMark));
    }
    if (hasRoom) return this.#admit(message);
    return new Promise<void>((resolve, reject) => {
      const send: WaitingSend = { message, resolve, reject, abort: undefined };
      if (signal !== undefined) {
        send.abort = addAbortListener(signal, () => {
          const index = this.#waiting.indexOf(send);
          if (index === -1) return;
          this.#waiting.splice(index, 1);
          send.abort = undefined;
          reject(signal.reason as Error);
          // The head of the line may have left: let the next ones in if there is room.
          this.#admitWaiting();
        });
      }
      this.#waiting.push(send);
    });
  }

  /**
   * Sets the one message handler: buffered messages are delivered at once, then each new one
   * as it is read, then exactly one error result. Excludes async iteration.
   *
   * @param handler - called synchronously with each {@link MessageResult}; its throws propagate.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when not a function or a consumer is already set.
   */
  /**
   * Stops reading from the duplex until {@link StreamConnection.resumeReading} (for wrappers
   * that consume every message on read and keep their own buffer). A flag, not a count.
   */
  pauseReading(): void {
    this.#userPaused = true;
    this.#updateReading();
  }

  /** Undoes {@link StreamConnection.pauseReading}; reading resumes unless the inbox is full. */
  resumeReading(): void {
    this.#userPaused = false;
    this.#updateReading();
  }

  #updateReading(): void {
    // While closing, reading continues regardless (see close()); once closed, nothing.
    if (this.#state === 'open' && (this.#inboxPaused || this.#userPaused)) this.#duplex.pause();
    else if (this.#state !== 'closed' && this.#duplex.isPaused()) this.#duplex.resume();
  }

  messageHandler(handler: MessageHandler): void {
    if (typeof handler !== 'function') throw invalidArgError('handler must be a function');
    this.#inbox.setHandler((result) => {
      handler(result.ok ? { ok: true, message: result.value } : result);
    });
    // From now on, with nothing buffered, messages go straight to the handler (see #onData).
    this.#handler = handler;
  }

  /**
   * Iterates the messages (excludes `messageHandler`). Ends on a clean end, throws the
   * terminal error otherwise (see the class docs).
   *
   * @returns an async iterator of messages.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  // Graceful close:
  //
  //   open --close()--> closing: admit waiting sends, flush the queue, wait for every write
  //          callback, then end() (FIN) --peer ends too / duplex 'close'--> closed
  //   closing --closeTimeoutMs elapsed, error, reset--> closed (destroy)
  //
  // The terminal result (ConnectionLostError 'local-close') is delivered when the duplex is
  // gone, so messages the peer sent before its end are still delivered first.

  /**
   * Graceful close: queued (and waiting) sends are written first, then the write side is
   * ended and the connection waits for the duplex to close; after `closeTimeoutMs` it is
   * destroyed. Idempotent; returns the same promise every call; never rejects.
   *
   * @returns resolves once the duplex is closed and every listener released.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#closePromise = this.#closed;
    if (this.#state !== 'open') return this.#closePromise;
    this.#state = 'closing';
    for (const send of this.#waiting) this.#enqueueWaiting(send);
    this.#waiting = [];
    this.#closeTimer = setTimeout(() => {
      this.#terminate(
        this.#lost('local-close', `graceful close did not finish within ${this.#options.closeTimeoutMs} ms`),
      );
    }, this.#options.closeTimeoutMs);
    this.#closeTimer.unref();
    // The close completes when the peer's end is read: keep reading even past the receive
    // high-water mark (what arrives is buffered for the consumer, for at most
    // closeTimeoutMs), or a connection nobody reads would always wait for the timer.
    if (this.#duplex.isPaused()) this.#duplex.resume();
    this.#scheduleFlush();
    return this.#closePromise;
  }

  /**
   * Abortive close: queued sends reject, the duplex is destroyed now. Idempotent.
   *
   * @param error - the terminal error to report; default `ConnectionLostError('local-close')`.
   */
  destroy(error?: IpcezError): void {
    this.#terminate(error ?? this.#lost('local-close'));
  }

  /**
   * Same as `close()`, for `await using`.
   *
   * @returns the `close()` promise.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #listen(event: string, listener: DuplexListener): void {
    const duplex = this.#duplex;
    duplex.on(event, listener);
    this.#disposables.push(() => duplex.off(event, listener));
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #lost(reason: ConnectionLostReason, detail?: string, cause?: unknown): ConnectionLostError {
    const base = `connection to ${this.#options.endpoint} lost (${reason})`;
    const error = new ConnectionLostError(
      reason,
      detail === undefined ? base : `${base}: ${detail}`,
      cause === undefined ? {} : { cause },
    );
    return error;
  }

  #rejectionAfterClose(): ConnectionLostError {
    return this.#sendError ?? this.#lost('local-close', 'the connection is closing');
  }

  /** Queues a message into the open batch and returns the batch's promise. */
  #admit(message: Uint8Array): Promise<void> {
    if (this.#open === undefined && this.#inflight.length === 0 && this.#loneBytes === 0 && !this.#needDrain) {
      return this.#writeLone(message);
    }
    const batch = (this.#open ??= newBatch(this.#stagingPosition));
    this.#append(batch, message);
    const promise = batchPromise(batch);
    if (batch.bytes >= EAGER_WRITE_BYTES && !this.#needDrain) {
      // A full batch goes out now rather than at the end of the tick, so the OS (and the
      // reader on the other side) works while the sender keeps producing.
      this.#writeBatch();
    } else {
      this.#scheduleFlush();
    }
    return promise;
  }

  /**
   * Idle (nothing queued, nothing in flight, not waiting for 'drain'): writes this one now,
   * for the lowest latency, in its own exact-size buffer (measured: a lone small write from
   * a slice of the shared 64 KiB staging buffer made two-process ping-pong round trips
   * several times slower, ~70 µs instead of ~10 µs on Linux). Its write callback runs on a
   * later tick, so until then the line is not idle: the sends made in the rest of this tick
   * are queued and flushed together, and a burst costs two writes, not one per message.
   */
  #writeLone(message: Uint8Array): Promise<void> {
    const length = message.length;
    const small = length < COPY_THRESHOLD;
    const frame = Buffer.allocUnsafe(small ? length + HEADER_BYTES : HEADER_BYTES);
    frame[0] = length >>> 24;
    frame[1] = (length >>> 16) & 0xff;
    frame[2] = (length >>> 8) & 0xff;
    frame[3] = length & 0xff;
    const bytes = length + HEADER_BYTES;
    this.#loneBytes = bytes;
    this.#inflightBytes += bytes;
    const duplex = this.#duplex;
    let writable: boolean;
    if (small) {
      frame.set(message, HEADER_BYTES);
      writable = duplex.write(frame, this.#onLoneWritten);
    } else {
      duplex.cork();
      duplex.write(frame);
      writable = duplex.write(message, this.#onLoneWritten);
      duplex.uncork();
    }
    if (!writable) this.#needDrain = true;
    // Written synchronously, all of it (nothing left in the duplex's buffer): the bytes are
    // with the OS already and no earlier send is pending, so resolving now keeps the order.
    if (duplex.writableLength === 0) return HANDED_OVER;
    return new Promise<void>((resolve, reject) => {
      this.#loneResolve = resolve;
      this.#loneReject = reject;
    });
  }

  #settleLone(): void {
    this.#inflightBytes -= this.#loneBytes;
    this.#loneBytes = 0;
    const resolve = this.#loneResolve;
    this.#loneResolve = undefined;
    this.#loneReject = undefined;
    resolve?.();
  }

  /** Makes room for `need` more staging bytes, starting a new staging buffer if needed. */
  #reserve(batch: Batch, need: number): Buffer {
    const staging = this.#staging;
    if (staging !== undefined && this.#stagingPosition + need <= staging.length) return staging;
    if (staging !== undefined && this.#stagingPosition > batch.segmentStart) {
      batch.chunks.push(staging.subarray(batch.segmentStart, this.#stagingPosition));
    }
    const fresh = Buffer.allocUnsafe(Math.max(need, STAGING_BYTES));
    this.#staging = fresh;
    this.#stagingPosition = 0;
    batch.segmentStart = 0;
    return fresh;
  }

  /**
   * Appends one frame to a batch: a small payload is copied with its header into staging
   * (one copy, so hundreds of frames become one buffer); a large one is referenced.
   */
  #append(batch: Batch, message: Uint8Array): void {
    const length = message.length;
    const small = length < COPY_THRESHOLD;
    const staging = this.#reserve(batch, small ? length + HEADER_BYTES : HEADER_BYTES);
    let position = this.#stagingPosition;
    staging[position] = length >>> 24;
    staging[position + 1] = (length >>> 16) & 0xff;
    staging[position + 2] = (length >>> 8) & 0xff;
    staging[position + 3] = length & 0xff;
    position += HEADER_BYTES;
    if (small) {
      staging.set(message, position);
      position += length;
    } else {
      batch.chunks.push(staging.subarray(batch.segmentStart, position), message);
      batch.segmentStart = position;
    }
    this.#stagingPosition = position;
    batch.count++;
    batch.bytes += length + HEADER_BYTES;
  }

  #enqueueWaiting(send: WaitingSend): void {
    send.abort?.[Symbol.dispose]();
    send.abort = undefined;
    const batch = (this.#open ??= newBatch(this.#stagingPosition));
    this.#append(batch, send.message);
    (batch.waiters ??= []).push(send);
  }

  #admitWaiting(): void {
    const waiting = this.#waiting;
    let admitted = 0;
    while (admitted < waiting.length && this.bufferedAmount < this.#options.highWaterMark) {
      this.#enqueueWaiting(waiting[admitted]!);
      admitted++;
    }
    if (admitted === 0) return;
    // One splice per round, not a shift per send: thousands may wait behind a full queue.
    waiting.splice(0, admitted);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // One tick of delay gathers every send made in this turn (and in the promise jobs that
    // follow it) into one write.
    process.nextTick(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#state === 'closed' || this.#needDrain) return;
    if (this.#open) this.#writeBatch();
    if (
      this.#state === 'closing' &&
      !this.#open &&
      this.#inflight.length === 0 &&
      this.#loneBytes === 0 &&
      !this.#ended
    ) {
      this.#ended = true;
      this.#duplex.end();
    }
  }

  #writeBatch(): void {
    const batch = this.#open;
    if (!batch) return;
    this.#open = undefined;
    const { chunks } = batch;
    const staging = this.#staging;
    if (staging !== undefined && this.#stagingPosition > batch.segmentStart) {
      chunks.push(staging.subarray(batch.segmentStart, this.#stagingPosition));
    }
    this.#inflight.push(batch);
    this.#inflightBytes += batch.bytes;
    const duplex = this.#duplex;
    const last = chunks.length - 1;
    // Corked writes of several chunks reach the OS as one writev.
    if (last > 0) duplex.cork();
    for (let i = 0; i < last; i++) duplex.write(chunks[i]);
    const writable = duplex.write(chunks[last], (error) => {
      this.#onBatchWritten(batch, error);
    });
    if (last > 0) duplex.uncork();
    if (!writable) this.#needDrain = true;
  }

  #onBatchWritten(batch: Batch, error: Error | null | undefined): void {
    const index = this.#inflight.indexOf(batch);
    if (index === -1) return; // Already settled, or rejected by #terminate.
    if (error) {
      // #terminate rejects this batch's sends with the others.
      this.#terminate(this.#mapError(error));
      return;
    }
    // Bytes reach the duplex in order, so this batch being written means every earlier one
    // (and the lone write before them) was too. Writable may run callbacks out of order (a
    // synchronous completion's callback waits for the next tick, a later asynchronous one
    // can run first): settle in order.
    if (this.#loneBytes > 0) this.#settleLone();
    if (index === 0) {
      this.#inflight.shift();
      this.#inflightBytes -= batch.bytes;
      settleBatch(batch, undefined);
    } else {
      for (const done of this.#inflight.splice(0, index + 1)) {
        this.#inflightBytes -= done.bytes;
        settleBatch(done, undefined);
      }
    }
    if (this.#state === 'open') this.#admitWaiting();
    else if (this.#state === 'closing') this.#flush();
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    let messages: Uint8Array[];
    try {
      // The decoder hands out plain Uint8Array views of the chunk (no copy) for whole frames.
      messages = this.#decoder.push(chunk);
    } catch (error) {
      this.#terminate(error as FrameTooLargeError);
      return;
    }
    const inbox = this.#inbox;
    for (const message of messages) {
      // With a handler set and nothing buffered, the Inbox would call the handler at once:
      // do it directly and skip its intermediate result object.
      const handler = this.#handler;
      if (handler !== undefined && inbox.size === 0) handler({ ok: true, message });
      else inbox.push(message);
      // A handler may have destroyed the connection; nothing is delivered after its end.
      if (this.#isClosed()) return;
    }
    // Deferred protocol error: the whole messages before the bad header were delivered above.
    const protocolError = this.#decoder.error;
    if (protocolError) this.#terminate(protocolError);
  }

  #partialDetail(): string | undefined {
    const partial = this.#decoder.bufferedBytes;
    if (partial === 0) return undefined;
    return `the stream ended inside a frame: ${partial} bytes of the partial frame (header included) were received and discarded`;
  }

  #onEnd(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'closing' && this.#decoder.bufferedBytes === 0) {
      this.#terminate(this.#lost('local-close'));
      return;
    }
    const detail = this.#partialDetail();
    const error = this.#lost('peer-closed', detail ?? 'the peer ended the connection');
    if (detail === undefined) cleanEnds.add(error);
    this.#terminate(error);
  }

  #mapError(error: Error): ConnectionLostError {
    const partial = this.#partialDetail();
    const detail = `${error.message}${partial === undefined ? '' : `; ${partial}`}`;
    // Every failure of an established stream (reset, broken pipe, any other OS error) means
    // the OS tore the connection down under us: 'reset'.
    return this.#lost('reset', detail, error);
  }

  #onError(error: Error): void {
    if (this.#state === 'closed') return;
    this.#terminate(this.#mapError(error));
  }

  #onClose(): void {
    if (this.#state !== 'closed') {
      if (this.#state === 'closing' && this.#decoder.bufferedBytes === 0) {
        this.#terminate(this.#lost('local-close'));
      } else {
        const detail = this.#partialDetail();
        const error = this.#lost('peer-closed', detail ?? 'the stream closed');
        if (detail === undefined) cleanEnds.add(error);
        this.#terminate(error);
      }
    }
    this.#finalize();
  }

  /** Reports the end once: rejects pending sends, destroys the duplex, ends the inbox. */
  #terminate(error: IpcezError): void {
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
    if (isConnectionLost(terminal) && terminal.reason === 'local-close') cleanEnds.add(terminal);
    const sendError = isConnectionLost(error)
      ? error
      : this.#lost('local-close', `closed after an error: ${error.message}`, error);
    this.#sendError = sendError;

    const batches = this.#inflight.splice(0);
    if (this.#open) batches.push(this.#open);
    this.#open = undefined;
    this.#inflightBytes = 0;
    const loneReject = this.#loneReject;
    this.#loneBytes = 0;
    this.#loneResolve = undefined;
    this.#loneReject = undefined;
    loneReject?.(sendError);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const batch of batches) settleBatch(batch, sendError);
    for (const send of waiting) {
      send.abort?.[Symbol.dispose]();
      send.abort = undefined;
      send.reject(sendError);
    }
    if (!this.#duplex.destroyed) this.#duplex.destroy();
    this.#inbox.end(terminal);
  }

  /** After the duplex's 'close': release every listener, settle close(). */
  #finalize(): void {
    if (this.#finalized) return;
    this.#finalized = true;
    for (const dispose of this.#disposables.splice(0)) dispose();
    this.#resolveClosed();
  }
}

/**
 * Wraps a connected Node `Duplex` (e.g. a `net.Socket`) as a framed-message
 * {@link Connection}. Synchronous: the duplex must already be connected. The connection
 * takes ownership of the duplex (see {@link StreamConnection}).
 *
 * @param duplex - a connected byte duplex, not in object mode, emitting `'close'` last (every
 *   Node socket does). Chunks it emits must not be reused by it (Node's stream contract).
 * @param options - {@link StreamConnectionOptions}: `transport` and `endpoint` are required.
 * @returns the connection, already reading.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) for a missing duplex, a bad
 *   transport or endpoint, or a limit out of range.
 * @example
 * ```ts
 * import net from 'node:net';
 * import { createStreamConnection } from '@ipcez/core/stream';
 *
 * const socket = net.connect('/tmp/app.sock');
 * await once(socket, 'connect');
 * const connection = createStreamConnection(socket, { transport: 'unix', endpoint: '/tmp/app.sock' });
 * connection.messageHandler((r) => { if (r.ok) console.log(r.message); else console.log('end', r.error.code); });
 * await connection.send(new TextEncoder().encode('hello'));
 * await connection.close();
 * ```
 */
export function createStreamConnection(duplex: Duplex, options: StreamConnectionOptions): StreamConnection {
  if (
    typeof duplex !== 'object' ||
    (duplex as unknown) === null ||
    typeof duplex.write !== 'function' ||
    typeof duplex.on !== 'function'
  ) {
    throw invalidArgError('duplex must be a Node Duplex stream');
  }
  if (duplex.readableObjectMode || duplex.writableObjectMode) {
    throw invalidArgError('duplex must be a byte stream, not in object mode');
  }
  return new StreamConnection(duplex, options);
}

/**
 * The buffer of a payload split over reads. The decoder overwrites every byte before handing
 * it out, so large bodies skip the zero-fill of `new Uint8Array` (about 6% of a 4 MiB
 * transfer); small ones stay plain zeroed allocations (Buffer's unsafe pool would tie them
 * to a shared 8 KiB slab). A plain `Uint8Array` view either way, as everywhere else.
 */
function allocateBody(length: number): Uint8Array {
  if (length < 64 * 1024) return new Uint8Array(length);
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}
