import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FrameDecoder, HEADER_BYTES } from '@ipcez/framing';
import type { IpcezError } from '@ipcez/framing';
import { DEFAULT_FRAME_TIMEOUT_MS } from '../constants.js';
import { enqueueControl } from '../engine/link.js';
import type { Link, LinkSink } from '../engine/link.js';
import { ConnectionLostError, IoError, isIpcezError } from '../errors.js';
import type { ConnectionLostReason } from '../errors.js';
import { FrameTimeoutError, IdleTimeoutError, PartialFrameLimitError } from '../limit-errors.js';
import type { PartialFrameBudget } from './partial-frame-budget.js';

/**
 * Payloads shorter than this are copied into the batch's staging buffer (one copy, so that
 * hundreds of small frames become one write); longer ones are written by reference
 * (vectored write), so a 4 MiB message is never copied.
 */
const COPY_THRESHOLD = 16 * 1024;

/**
 * A batch that reaches this many bytes is written at once, inside `write`, instead of at the
 * end of the tick: big enough that small messages share one write, small enough that a
 * long synchronous run of sends keeps the socket busy.
 */
const EAGER_WRITE_BYTES = 64 * 1024;

/** Size of a staging buffer that collects small frames (one eager write's worth). */
const STAGING_BYTES = 64 * 1024;

/** Settings of a {@link StreamLink}. */
export interface StreamLinkSettings {
  /** The resolved endpoint, for error messages. */
  readonly endpoint: string;
  /** Payload limit in bytes (received frames). */
  readonly maxMessageBytes: number;
  /** How long a started frame may take to complete (reading not paused) before the link ends. */
  readonly frameTimeoutMs?: number;
  /** Ends the link after this long with no byte either way (reading not paused); default never. */
  readonly idleTimeoutMs?: number | undefined;
  /** The memory budget for partial frames this link shares with others (a listener's). */
  readonly partialFrameBudget?: PartialFrameBudget | undefined;
}

/**
 * Messages written together, settled together by one write callback. Every send admitted
 * straight into a batch returns the batch's one promise (a send costs no promise or closure
 * of its own, which matters at millions of small messages per second).
 */
interface Batch {
  /** Finished pieces, in wire order: staging segments and large payloads by reference. */
  readonly chunks: Uint8Array[];
  /** Start, in the link's current staging buffer, of this batch's open segment. */
  segmentStart: number;
  /** Frame bytes: headers + payloads. */
  bytes: number;
  /** The promise writes return, created when the first one asks for it. */
  promise: Promise<void> | undefined;
  resolve: (() => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
}

function newBatch(segmentStart: number): Batch {
  return { chunks: [], segmentStart, bytes: 0, promise: undefined, resolve: undefined, reject: undefined };
}

function batchPromise(batch: Batch): Promise<void> {
  // The closure is made in a function of its own: V8 allocates a function's closure context on
  // every call, and this one runs for every message of the batch.
  return batch.promise ?? newBatchPromise(batch);
}

function newBatchPromise(batch: Batch): Promise<void> {
  return (batch.promise = new Promise<void>((resolve, reject) => {
    batch.resolve = resolve;
    batch.reject = reject;
  }));
}

/** What a write whose bytes were handed to the OS before it returned resolves with. */
const HANDED_OVER: Promise<void> = Promise.resolve();

type DuplexListener = Parameters<Duplex['on']>[1];

/**
 * The byte-stream {@link Link}: length-prefixed frames (`@ipcez/framing`) over a Node
 * `Duplex` (a `net.Socket` on a Unix socket or a Windows named pipe). It **owns** the duplex.
 *
 * **Writing.** A lone write on an idle link goes out at once; the writes made in the rest of
 * that tick (or while the duplex drains) are coalesced into one vectored write, small
 * payloads copied with their headers into a shared staging buffer and large ones referenced,
 * a batch going out as soon as it holds 64 KiB. Queued control headers go out first.
 *
 * **Reading.** Each `'data'` chunk is one read batch: the frames it completes are reported
 * together. A frame not completed within `frameTimeoutMs` of reading (checked once per period,
 * so between one and two periods) ends the link (`FrameTimeoutError`); so does, with
 * `idleTimeoutMs`, a period with no byte read or written (`IdleTimeoutError`; time with
 * reading paused does not count). The decoder holds memory in proportion to the bytes
 * received, never the size a header announces, and with a `partialFrameBudget` that memory is
 * counted against the budget after every read: past it the link ends
 * (`PartialFrameLimitError`). An ended link drops its partial frame at once.
 *
 * **End.** The peer's end at a frame boundary is clean; an end or reset inside a frame says
 * how many bytes of the partial frame were received (they are discarded).
 */
export class StreamLink implements Link {
  readonly #duplex: Duplex;
  readonly #settings: StreamLinkSettings;
  /** Replaced by an empty one when the link ends, so a dropped partial frame's memory returns. */
  #decoder: FrameDecoder;
  readonly #frameTimeoutMs: number;
  readonly #budget: PartialFrameBudget | undefined;
  /** Bytes of the budget this link holds (its decoder's reservation at the last read). */
  #reserved = 0;
  readonly #disposables: (() => void)[] = [];
  #sink: LinkSink | undefined;
  #hasEnded = false;
  #isDestroyed = false;
  #isPaused = false;
  /** The batch collecting writes, not yet handed to the duplex. */
  #open: Batch | undefined;
  /**
   * Where small frames are copied (header + payload) as they are written, shared by
   * successive batches. Bytes handed to the duplex are never touched again, so readers of an
   * in-memory duplex that receive views of it stay valid.
   */
  #staging: Buffer | undefined;
  #stagingPosition = 0;
  /** The lone write in flight: its frame bytes (0 when none), and its promise's settlers. */
  #loneBytes = 0;
  #loneResolve: (() => void) | undefined;
  #loneReject: ((error: unknown) => void) | undefined;
  /** Batches handed to the duplex whose write callback has not run. */
  readonly #inflight: Batch[] = [];
  #inflightBytes = 0;
  #flushScheduled = false;
  #needDrain = false;
  #isEnding = false;
  #isWriteEnded = false;
  /** Control headers waiting to go out ahead of the next data frame. */
  #control: number[] = [];
  #frameTimer: NodeJS.Timeout | undefined;
  /** Frames (data or control) completed so far; the frame timer compares it across a period. */
  #framesDone = 0;
  #framesSeen = -1;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Reads so far; the idle timer compares it (and the duplex's `bytesWritten`) across a period. */
  #reads = 0;
  #readsSeen = 0;
  #writtenSeen = 0;

  /**
   * @param duplex - a connected byte duplex, now owned.
   * @param settings - {@link StreamLinkSettings}.
   */
  constructor(duplex: Duplex, settings: StreamLinkSettings) {
    this.#duplex = duplex;
    this.#settings = settings;
    this.#frameTimeoutMs = settings.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS;
    this.#budget = settings.partialFrameBudget;
    this.#decoder = this.#newDecoder();
  }

  #newDecoder(): FrameDecoder {
    return new FrameDecoder({
      maxMessageBytes: this.#settings.maxMessageBytes,
      allocate: allocateBody,
      allocateInterim: allocateBody,
    });
  }

  /** The lone write's callback, made once (no closure per write). */
  readonly #onLoneWritten = (error?: Error | null): void => {
    if (this.#loneBytes === 0) return; // Already settled, or rejected by destroy.
    if (error) {
      this.#report(this.#mapError(error), false);
      return;
    }
    this.#settleLone();
    this.#afterWrite();
  };

  open(sink: LinkSink): void {
    this.#sink = sink;
    this.#listen('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    this.#listen('end', () => {
      this.#onEnd('the peer ended the connection');
    });
    this.#listen('error', (error: Error) => {
      this.#report(this.#mapError(error), false);
    });
    this.#listen('close', () => {
      this.#onEnd('the stream closed');
      this.#finalize();
    });
    this.#listen('drain', () => {
      this.#needDrain = false;
      this.#flush();
    });
    if (this.#duplex.destroyed) {
      // Already gone before we got it: report it now (no event may follow).
      this.#report(this.#lost('peer-closed', 'the stream was already destroyed'), false);
      if (this.#duplex.closed) {
        queueMicrotask(() => {
          this.#finalize();
        });
      }
      return;
    }
    this.#startIdleTimer();
  }

  get bufferedAmount(): number {
    return (this.#open?.bytes ?? 0) + this.#inflightBytes;
  }

  write(message: Uint8Array): Promise<void> {
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

  pause(): void {
    if (this.#isDestroyed) return;
    this.#isPaused = true;
    this.#duplex.pause();
    // Time spent paused is ours, not the peer's: the partial-frame and idle clocks stop.
    this.#stopFrameTimer();
    this.#stopIdleTimer();
  }

  resume(): void {
    if (this.#isDestroyed) return;
    this.#isPaused = false;
    this.#duplex.resume();
    if (this.#decoder.bufferedBytes > 0) this.#startFrameTimer();
    if (!this.#hasEnded) this.#startIdleTimer();
  }

  end(): void {
    this.#isEnding = true;
    this.#scheduleFlush();
  }

  destroy(error: IpcezError): void {
    if (this.#isDestroyed) return;
    this.#isDestroyed = true;
    this.#stopFrameTimer();
    this.#stopIdleTimer();
    this.#dropPartialFrame();
    const batches = this.#inflight.splice(0);
    if (this.#open) batches.push(this.#open);
    this.#open = undefined;
    this.#inflightBytes = 0;
    const loneReject = this.#loneReject;
    this.#loneBytes = 0;
    this.#loneResolve = undefined;
    this.#loneReject = undefined;
    loneReject?.(error);
    for (const batch of batches) batch.reject?.(error);
    this.#control = [];
    if (!this.#duplex.destroyed) this.#duplex.destroy();
  }

  queueControl(header: number, merge?: (queued: number) => number | undefined): void {
    if (this.#isDestroyed || this.#isWriteEnded) return;
    if (enqueueControl(this.#control, header, merge)) this.#scheduleFlush();
  }

  setControlHandler(handler: ((header: number, precedingMessages: number) => void) | undefined): void {
    // A control header completes a frame too (the frame timer's progress).
    this.#decoder.setControlHandler(
      handler === undefined
        ? undefined
        : (header, precedingMessages) => {
            this.#framesDone++;
            handler(header, precedingMessages);
          },
    );
  }

  #listen(event: string, listener: DuplexListener): void {
    const duplex = this.#duplex;
    duplex.on(event, listener);
    this.#disposables.push(() => duplex.off(event, listener));
  }

  #report(error: IpcezError, isClean: boolean): void {
    if (this.#hasEnded) return;
    this.#hasEnded = true;
    this.#stopFrameTimer();
    this.#stopIdleTimer();
    this.#dropPartialFrame();
    this.#sink?.ended(error, isClean);
  }

  /** Gives the partial frame's memory back (to the budget, and to the GC): nothing more is read. */
  #dropPartialFrame(): void {
    if (this.#reserved > 0) this.#budget?.resize(this.#reserved, 0);
    this.#reserved = 0;
    if (this.#decoder.bufferedBytes > 0) this.#decoder = this.#newDecoder();
  }

  #finalize(): void {
    if (this.#disposables.length === 0 && this.#sink === undefined) return;
    for (const dispose of this.#disposables.splice(0)) dispose();
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.closed();
  }

  #lost(reason: ConnectionLostReason, detail: string, cause?: unknown): ConnectionLostError {
    return new ConnectionLostError(
      reason,
      `connection to ${this.#settings.endpoint} lost (${reason}): ${detail}`,
      cause === undefined ? {} : { cause },
    );
  }

  #partialDetail(): string | undefined {
    const partial = this.#decoder.bufferedBytes;
    if (partial === 0) return undefined;
    return `the stream ended inside a frame: ${partial} bytes of the partial frame (header included) were received and discarded`;
  }

  #onEnd(detail: string): void {
    if (this.#hasEnded) return;
    const partial = this.#partialDetail();
    this.#report(this.#lost('peer-closed', partial ?? detail), partial === undefined);
  }

  #mapError(error: Error): ConnectionLostError {
    const partial = this.#partialDetail();
    // Every failure of an established stream (reset, broken pipe, any other OS error) means
    // the OS tore the connection down under us: 'reset'.
    return this.#lost('reset', `${error.message}${partial === undefined ? '' : `; ${partial}`}`, error);
  }

  #onData(chunk: Buffer): void {
    if (this.#hasEnded) return;
    this.#reads++;
    const decoder = this.#decoder;
    let messages: Uint8Array[];
    try {
      // The decoder hands out plain Uint8Array views of the chunk (no copy) for whole frames.
      messages = decoder.push(chunk);
    } catch (error) {
      this.#report(this.#decodeFailure(error), false);
      return;
    }
    if (messages.length > 0) this.#framesDone++;
    let overBudget: PartialFrameLimitError | undefined;
    const budget = this.#budget;
    if (budget !== undefined) {
      const reserved = decoder.reservedBytes;
      if (reserved !== this.#reserved) {
        if (budget.resize(this.#reserved, reserved)) this.#reserved = reserved;
        else {
          overBudget = new PartialFrameLimitError(
            this.#settings.endpoint,
            reserved,
            budget.heldBytes - this.#reserved,
            budget.limit,
          );
        }
      }
    }
    if (decoder.bufferedBytes > 0 && this.#frameTimer === undefined && !this.#isPaused) this.#startFrameTimer();
    if (messages.length > 0) this.#sink?.receive(messages);
    // Deferred errors: the whole messages before them were delivered above.
    if (overBudget !== undefined) {
      this.#report(overBudget, false);
      return;
    }
    const protocolError = decoder.error;
    if (protocolError) this.#report(protocolError, false);
  }

  /** What the decoder threw: its protocol errors as they are, anything else as an I/O failure. */
  #decodeFailure(error: unknown): IpcezError {
    if (isIpcezError(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new IoError(`reading from ${this.#settings.endpoint} failed: ${message}`, { cause: error });
  }

  #startFrameTimer(): void {
    if (this.#frameTimer !== undefined || this.#isDestroyed) return;
    this.#framesSeen = this.#framesDone;
    this.#frameTimer = setTimeout(this.#onFrameTimer, this.#frameTimeoutMs);
    this.#frameTimer.unref();
  }

  #stopFrameTimer(): void {
    if (this.#frameTimer === undefined) return;
    clearTimeout(this.#frameTimer);
    this.#frameTimer = undefined;
  }

  // Armed when a read leaves a partial frame; each firing checks whether a frame completed
  // since the previous one (a counter, so the hot path never touches the timer). If none did,
  // the partial frame there now was there at the previous firing too: it has had a whole
  // period. A peer that trickles one byte at a time (slowloris) is therefore dropped as
  // surely as one that stops.
  readonly #onFrameTimer = (): void => {
    this.#frameTimer = undefined;
    if (this.#decoder.bufferedBytes === 0 || this.#hasEnded) return;
    if (this.#framesDone !== this.#framesSeen) {
      this.#startFrameTimer();
      return;
    }
    this.#report(
      new FrameTimeoutError(this.#settings.endpoint, this.#frameTimeoutMs, this.#decoder.bufferedBytes),
      false,
    );
  };

  #startIdleTimer(): void {
    const idleTimeoutMs = this.#settings.idleTimeoutMs;
    if (idleTimeoutMs === undefined || this.#idleTimer !== undefined || this.#isDestroyed) return;
    this.#readsSeen = this.#reads;
    this.#writtenSeen = this.#bytesWritten();
    this.#idleTimer = setTimeout(this.#onIdleTimer, idleTimeoutMs);
    this.#idleTimer.unref();
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer === undefined) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** What the duplex has written so far (`net.Socket#bytesWritten`; 0 for duplexes without it). */
  #bytesWritten(): number {
    const written = (this.#duplex as Partial<Pick<Socket, 'bytesWritten'>>).bytesWritten;
    return typeof written === 'number' ? written : 0;
  }

  // A period with no read and nothing written (control headers such as acks count) ends the
  // link; counters again, so reads and writes never touch the timer.
  readonly #onIdleTimer = (): void => {
    this.#idleTimer = undefined;
    if (this.#hasEnded || this.#isPaused) return;
    if (this.#reads !== this.#readsSeen || this.#bytesWritten() !== this.#writtenSeen) {
      this.#startIdleTimer();
      return;
    }
    this.#report(new IdleTimeoutError(this.#settings.endpoint, this.#settings.idleTimeoutMs ?? 0), false);
  };

  /**
   * Idle (nothing queued, nothing in flight, not waiting for 'drain'): writes this one now,
   * for the lowest latency, in its own exact-size buffer (measured: a lone small write from
   * a slice of the shared 64 KiB staging buffer made two-process ping-pong round trips
   * several times slower, ~70 µs instead of ~10 µs on Linux). Its write callback runs on a
   * later tick, so until then the line is not idle: the writes made in the rest of this
   * tick are queued and flushed together, and a burst costs two writes, not one per message.
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
    const control = this.#control.length > 0 ? this.#takeControl() : undefined;
    let writable: boolean;
    if (small && control === undefined) {
      frame.set(message, HEADER_BYTES);
      writable = duplex.write(frame, this.#onLoneWritten);
    } else {
      duplex.cork();
      if (control !== undefined) duplex.write(control);
      if (small) {
        frame.set(message, HEADER_BYTES);
        writable = duplex.write(frame, this.#onLoneWritten);
      } else {
        duplex.write(frame);
        writable = duplex.write(message, this.#onLoneWritten);
      }
      duplex.uncork();
    }
    this.#noteWritable(writable);
    // Written synchronously, all of it (nothing left in the duplex's buffer): the bytes are
    // with the OS already and no earlier write is pending, so resolving now keeps the order.
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

  /** The queued control headers as one buffer (emptying the queue). */
  #takeControl(): Buffer {
    const control = this.#control;
    this.#control = [];
    const out = Buffer.allocUnsafe(control.length * HEADER_BYTES);
    for (let i = 0; i < control.length; i++) out.writeUInt32BE(control[i]!, i * HEADER_BYTES);
    return out;
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
    batch.bytes += length + HEADER_BYTES;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // One tick of delay gathers every write made in this turn (and in the promise jobs that
    // follow it) into one write.
    process.nextTick(this.#onFlushTick);
  }

  /** Made once: a closure made in #scheduleFlush would cost a context on every write. */
  readonly #onFlushTick = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#isDestroyed || this.#needDrain) return;
    if (this.#open) this.#writeBatch();
    else if (this.#control.length > 0 && !this.#isWriteEnded) {
      // Control headers alone (nothing else to write): they need no callback; a failure
      // shows as the duplex's 'error'.
      this.#noteWritable(this.#duplex.write(this.#takeControl()));
    }
    if (this.#isEnding && !this.#open && this.#inflight.length === 0 && this.#loneBytes === 0 && !this.#isWriteEnded) {
      this.#isWriteEnded = true;
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
    if (this.#control.length > 0) chunks.unshift(this.#takeControl());
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
    this.#noteWritable(writable);
  }

  /**
   * After a write: wait for 'drain' only if the OS did not take every byte. A corked write (a
   * batch of several buffers) returns false once its buffers together reach the stream's
   * high-water mark (16 KiB on a socket), even when `uncork()` then hands them all to the OS
   * at once; waiting for 'drain' then (emitted on the next tick) would stop every eager write
   * until the sender yields, and a sender running ahead to its own high-water mark would
   * starve the reader meanwhile.
   */
  #noteWritable(writable: boolean): void {
    if (!writable && this.#duplex.writableLength > 0) this.#needDrain = true;
  }

  #onBatchWritten(batch: Batch, error: Error | null | undefined): void {
    const index = this.#inflight.indexOf(batch);
    if (index === -1) return; // Already settled, or rejected by destroy.
    if (error) {
      this.#report(this.#mapError(error), false);
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
      batch.resolve?.();
    } else {
      for (const done of this.#inflight.splice(0, index + 1)) {
        this.#inflightBytes -= done.bytes;
        done.resolve?.();
      }
    }
    this.#afterWrite();
  }

  #afterWrite(): void {
    if (this.#isDestroyed) return;
    this.#sink?.drained();
    if (this.#isEnding || this.#control.length > 0) this.#flush();
  }
}

/**
 * The buffer of a payload split over reads, and the interim buffers a large one is first
 * collected in. The decoder overwrites every byte before handing it out (and reads only bytes
 * it wrote), so large bodies skip the zero-fill of `new Uint8Array`, fresh pages from the OS
 * each time (the main cost of a 4 MiB transfer); small ones stay plain zeroed allocations (Buffer's unsafe pool would tie them
 * to a shared 8 KiB slab). A plain `Uint8Array` view either way, as everywhere else.
 */
function allocateBody(length: number): Uint8Array {
  if (length < 64 * 1024) return new Uint8Array(length);
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}
