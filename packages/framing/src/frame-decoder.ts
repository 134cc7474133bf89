import { HEADER_BYTES } from './constants.js';
import { resolveMaxMessageBytes } from './encode.js';
import { FrameTooLargeError, invalidType } from './errors.js';

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * The largest payload accepted, in bytes; a header announcing more is a protocol error.
   * From 0 to `MAX_MESSAGE_BYTES` (the default, 4 MiB).
   */
  readonly maxMessageBytes?: number;
  /**
   * Allocates the buffer of a payload that spans several chunks (the one copy such a payload
   * gets), given its exact length; default `new Uint8Array(length)`. Every byte of it is
   * overwritten before the message is returned, so it need not be zeroed: Node callers can
   * skip the zero-fill of large bodies (e.g. `Buffer.allocUnsafeSlow`). It must return a
   * `Uint8Array` of exactly `length` bytes that nothing else uses.
   */
  readonly allocate?: (length: number) => Uint8Array;
  /**
   * Allocates an interim buffer: a payload over 64 KiB that spans chunks is first collected
   * in buffers that grow with the bytes received (so a header alone reserves little), then
   * moved to the one from `allocate`. Given the interim size; default `new Uint8Array(length)`.
   * The decoder reads only bytes it wrote into it, so it need not be zeroed: each zero-filled
   * interim buffer is fresh pages from the OS, the main cost of large payloads (e.g.
   * `Buffer.allocUnsafeSlow` in Node). It must return a `Uint8Array` of exactly `length`
   * bytes that nothing else uses.
   */
  readonly allocateInterim?: (length: number) => Uint8Array;
}

// States of the decoder (named states; return as soon as too few bytes are buffered):
//
//   header --(4 header bytes, length <= limit)--> body --(length bytes)--> header
//      \--(length > limit)--> failed (sticky)
//
// In `header`, `#headerFill` bytes of a split header sit in `#header`. In `body`, `#body` is
// the payload buffer being filled (allocated when the first body bytes of a payload that does
// not lie inside one chunk arrive, never larger than the limit), `#bodyFill` bytes of it done.
type DecoderState = 'header' | 'body' | 'failed';

/**
 * Turns a byte stream, in chunks of any size, back into whole messages.
 *
 * Pure and synchronous: no I/O, no timers, no `Buffer`. Feed it every chunk read from the
 * transport, in order; each call returns the messages that chunk completed.
 *
 * **Aliasing.** Every message is a plain `Uint8Array` (never a `Buffer`, even when you push
 * `Buffer`s), so its type does not depend on the chunking. A message whose payload lies
 * entirely inside one pushed chunk (wherever its header was) is a **view of that chunk**
 * (same `buffer`, no copy): do not reuse or mutate a chunk after pushing it
 * if you keep the messages. A message whose payload is spread over several chunks is copied
 * into a new buffer that the decoder does not touch again (once for payloads up to 64 KiB;
 * the first eighth of a larger one is copied again when its exact buffer is allocated, see
 * "Memory"). The decoder never keeps a reference to a pushed chunk
 * after `push` returns: a split frame's bytes are copied out before it does.
 *
 * **Memory.** Besides the input chunks it returns views of, the decoder holds at most one
 * partial payload (at most `maxMessageBytes`) plus 4 header bytes. The payload buffer of a
 * split frame is allocated only after its header has been checked against the limit and once
 * payload bytes have arrived, in proportion to them: at most 64 KiB or 8 times the bytes
 * received, whichever is larger (a payload over 64 KiB passes through interim buffers before
 * its exact one; `allocate` is called only for the exact one). So a peer that sends a header
 * and a few bytes makes the decoder reserve at most 64 KiB, whatever the size announced.
 *
 * **Errors.** A header announcing more than `maxMessageBytes` makes the decoder *failed*:
 * nothing of that size is allocated and `error` holds a {@link FrameTooLargeError}
 * (`IPCEZ_ERR_FRAME_TOO_LARGE`, `size` = the announced length, `limit`). If whole messages
 * preceded the bad header in the same chunk, that `push` returns them (nothing valid is
 * lost) and the error is reported by `error` and thrown by the next `push`; otherwise `push`
 * throws at once. A failed decoder stays failed: every later `push` throws the same error.
 * Transports therefore check `error` after delivering what `push` returned.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder();
 * socket.on('data', (chunk) => {
 *   for (const message of decoder.push(chunk)) handle(message);
 *   if (decoder.error) socket.destroy(decoder.error);
 * });
 * ```
 */
export class FrameDecoder {
  readonly #limit: number;
  #state: DecoderState = 'header';
  readonly #header = new Uint8Array(HEADER_BYTES);
  readonly #allocate: (length: number) => Uint8Array;
  readonly #allocateInterim: (length: number) => Uint8Array;
  #headerFill = 0;
  #length = 0;
  #body: Uint8Array | undefined;
  /** Whether `#body` is an interim buffer smaller than the payload (see #grow). */
  #isInterim = false;
  #bodyFill = 0;
  #error: FrameTooLargeError | undefined;
  /** What a control handler threw: the decoder failed with it, for good. */
  #failure: unknown;
  #hasFailure = false;
  #onControl: ((header: number, precedingMessages: number) => void) | undefined;

  /**
   * @param options - {@link FrameDecoderOptions}.
   * @throws RangeError (`IPCEZ_ERR_INVALID_ARG`) when `maxMessageBytes` is not an integer from 0 to 4 MiB.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `options` is not an object, or
   *   `maxMessageBytes` not a number.
   */
  constructor(options: FrameDecoderOptions = {}) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JS callers can pass anything
    if (typeof options !== 'object' || options === null) {
      throw Object.assign(new TypeError(`options must be an object, got ${String(options)}`), {
        code: 'IPCEZ_ERR_INVALID_ARG' as const,
      });
    }
    this.#limit = resolveMaxMessageBytes(options.maxMessageBytes);
    if (options.allocate !== undefined && typeof options.allocate !== 'function') {
      throw Object.assign(new TypeError(`allocate must be a function, got ${typeof options.allocate}`), {
        code: 'IPCEZ_ERR_INVALID_ARG' as const,
      });
    }
    if (options.allocateInterim !== undefined && typeof options.allocateInterim !== 'function') {
      throw Object.assign(new TypeError(`allocateInterim must be a function, got ${typeof options.allocateInterim}`), {
        code: 'IPCEZ_ERR_INVALID_ARG' as const,
      });
    }
    this.#allocate = options.allocate ?? allocateZeroed;
    this.#allocateInterim = options.allocateInterim ?? allocateZeroed;
  }

  /** The payload limit in force, in bytes. */
  get maxMessageBytes(): number {
    return this.#limit;
  }

  /** The protocol error that failed the decoder, if any (see the class docs). */
  get error(): FrameTooLargeError | undefined {
    return this.#error;
  }

  /**
   * Bytes of an incomplete frame held right now (header bytes plus payload bytes received).
   * `0` means the stream is at a frame boundary: ending here loses nothing.
   */
  get bufferedBytes(): number {
    if (this.#state === 'body') return HEADER_BYTES + this.#bodyFill;
    if (this.#state === 'header') return this.#headerFill;
    return 0;
  }

  /**
   * Bytes of memory reserved right now for the incomplete frame's payload: the size of the
   * buffer it is being copied into (an interim one, or its exact one), `0` at a frame
   * boundary, while only header bytes have arrived, or once failed. Memory a caller counts
   * against a budget shared by many decoders (see "Memory" in the class docs); a completed
   * payload is the caller's from then on and no longer counted.
   */
  get reservedBytes(): number {
    return this.#state === 'body' ? (this.#body?.length ?? 0) : 0;
  }

  #take(length: number): Uint8Array {
    const body = this.#allocate(length);
    if (!(body instanceof Uint8Array) || body.length !== length) {
      throw Object.assign(new TypeError(`allocate(${length}) must return a Uint8Array of exactly ${length} bytes`), {
        code: 'IPCEZ_ERR_INVALID_ARG' as const,
      });
    }
    return body;
  }

  /**
   * Decodes one chunk.
   *
   * @param chunk - the next bytes of the stream (any length, including 0).
   * @returns the messages this chunk completed, in order; empty when none. See the class
   *   docs for which ones alias `chunk`.
   * @throws FrameTooLargeError (`IPCEZ_ERR_FRAME_TOO_LARGE`) when a header announces more than
   *   the limit (see the class docs for the exact rule), and on every push once failed.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `chunk` is not a `Uint8Array`; the
   *   decoder's state is unchanged.
   * @example
   * ```ts
   * const decoder = new FrameDecoder();
   * decoder.push(Uint8Array.of(0, 0, 0, 2, 0x68)); // [] (1 of 2 payload bytes so far)
   * decoder.push(Uint8Array.of(0x69));             // [Uint8Array [0x68, 0x69]]
   * ```
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#error) throw this.#error;
    if (this.#hasFailure) throw this.#failure;
    // Without this check an ArrayBuffer or a string (no numeric `length` bytes) would be
    // silently read as nothing or as garbage.
    if (!(chunk instanceof Uint8Array)) throw invalidType('chunk', chunk);
    const messages: Uint8Array[] = [];
    const end = chunk.length;
    // 1. Finish the frame that earlier chunks left incomplete, if any.
    let offset = this.#state === 'body' || this.#headerFill > 0 ? this.#resume(chunk, messages) : 0;
    // 2. Whole frames inside this chunk: views only. This loop is the hot path for small
    //    messages, so it reads the chunk's fields once and touches no decoder state.
    const buffer = chunk.buffer;
    const base = chunk.byteOffset;
    const limit = this.#limit;
    // After step 1 either the chunk is used up or the decoder is at a frame boundary.
    while (end - offset >= HEADER_BYTES) {
      const length =
        ((chunk[offset]! << 24) | (chunk[offset + 1]! << 16) | (chunk[offset + 2]! << 8) | chunk[offset + 3]!) >>> 0;
      if (length > limit) {
        // A limit is at most 4 MiB, so every control header (top bit set) lands here: the
        // check costs nothing on the hot path.
        if (length >= CONTROL_BIT && this.#onControl !== undefined) {
          this.#control(length, messages.length);
          offset += HEADER_BYTES;
          continue;
        }
        const error = this.#fail(length);
        if (messages.length === 0) throw error;
        return messages; // the error is reported by `error` and thrown by the next push
      }
      const start = offset + HEADER_BYTES;
      if (end - start < length) {
        // The payload continues in later chunks.
        this.#state = 'body';
        this.#length = length;
        this.#bodyFill = 0;
        this.#body = undefined;
        offset = start;
        break;
      }
      // Built on the chunk's ArrayBuffer rather than with `subarray`, so a Buffer chunk still
      // yields a plain Uint8Array (the type a copied message has) and no species lookup runs.
      messages.push(new Uint8Array(buffer, base + start, length));
      offset = start + length;
    }
    // 3. Keep the incomplete rest: the start of a payload, or fewer than 4 header bytes.
    if (offset < end) {
      if (this.#state === 'body') {
        // Allocated only now that payload bytes are here, in proportion to them.
        const body = this.#grow(end - offset);
        body.set(chunk.subarray(offset, end), 0);
        this.#bodyFill = end - offset;
      } else {
        this.#header.set(chunk.subarray(offset, end), 0);
        this.#headerFill = end - offset;
      }
    }
    return messages;
  }

  /**
   * Continues a frame split over earlier chunks with the start of `chunk`; returns how many
   * bytes of `chunk` it used (all of them while the frame is still incomplete).
   */
  #resume(chunk: Uint8Array, messages: Uint8Array[]): number {
    const end = chunk.length;
    let offset = 0;
    if (this.#state === 'header') {
      const fill = this.#headerFill;
      const take = Math.min(HEADER_BYTES - fill, end);
      this.#header.set(chunk.subarray(0, take), fill);
      offset = take;
      if (fill + take < HEADER_BYTES) {
        this.#headerFill = fill + take;
        return offset;
      }
      this.#headerFill = 0;
      const h = this.#header;
      const length = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
      if (length >= CONTROL_BIT && this.#onControl !== undefined) {
        this.#control(length, messages.length);
        return offset;
      }
      // Nothing was completed yet in this push, so the error is thrown at once.
      if (length > this.#limit) throw this.#fail(length);
      this.#state = 'body';
      this.#length = length;
      this.#bodyFill = 0;
      this.#body = undefined;
    }
    const length = this.#length;
    const fill = this.#bodyFill;
    if (fill === 0 && end - offset >= length) {
      // The header ended exactly at the end of an earlier chunk (common when a sender
      // writes header and payload separately) and this chunk holds the whole payload.
      messages.push(new Uint8Array(chunk.buffer, chunk.byteOffset + offset, length));
      this.#state = 'header';
      return offset + length;
    }
    // The header may have used up the chunk; then nothing is allocated yet.
    if (offset === end) return end;
    // The payload spans chunks: copy it into its own buffer, allocated only now that
    // payload bytes are here, and grown with them.
    const take = Math.min(length - fill, end - offset);
    const body = this.#grow(fill + take);
    body.set(chunk.subarray(offset, offset + take), fill);
    if (fill + take < length) {
      this.#bodyFill = fill + take;
      return end;
    }
    messages.push(body);
    this.#body = undefined;
    this.#isInterim = false;
    this.#bodyFill = 0;
    this.#state = 'header';
    return offset + take;
  }

  /**
   * The body buffer, able to hold `need` bytes of the current payload. Memory follows the
   * bytes received, not the size announced: a payload up to 64 KiB gets its exact buffer at
   * once; a larger one starts in an interim buffer (8 times what arrived, at least 64 KiB)
   * that grows 8-fold, and gets its exact buffer (from `allocate`) once an eighth of it has
   * arrived. So a header plus a few bytes reserves at most 64 KiB, at most 8 times what
   * arrived is ever reserved, and a 4 MiB payload is copied about 14% more than once.
   */
  #grow(need: number): Uint8Array {
    const length = this.#length;
    const current = this.#body;
    if (current !== undefined && (!this.#isInterim || current.length >= need)) return current;
    let next: Uint8Array;
    const interim = Math.max(EXACT_BODY_BYTES, need * 8, (current?.length ?? 0) * 8);
    if (length <= EXACT_BODY_BYTES || need * 8 >= length || interim >= length) {
      next = this.#take(length);
      this.#isInterim = false;
    } else {
      next = this.#allocateInterim(interim);
      if (!(next instanceof Uint8Array) || next.length !== interim) {
        throw Object.assign(
          new TypeError(`allocateInterim(${interim}) must return a Uint8Array of exactly ${interim} bytes`),
          { code: 'IPCEZ_ERR_INVALID_ARG' as const },
        );
      }
      this.#isInterim = true;
    }
    if (current !== undefined && this.#bodyFill > 0) next.set(current.subarray(0, this.#bodyFill), 0);
    this.#body = next;
    return next;
  }

  /**
   * Switches control headers on (`handler` given) or off for this stream: with a handler,
   * every header whose top bit is set is a control header, handed to `handler` as an
   * unsigned 32-bit integer (no payload follows it), instead of a length over the limit.
   * Headers are handed over synchronously, during `push`, in stream order, before `push`
   * returns the messages it completed: the handler's second argument says how many of those
   * came before the header (so a caller can tell data-then-control from control-then-data
   * within one chunk). What the handler throws fails the decoder for good and is thrown by this
   * and every later `push`.
   *
   * @param handler - receives each control header and the count of messages this `push`
   *   completed before it; `undefined` switches control headers off.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `handler` is neither a function nor `undefined`.
   * @example
   * ```ts
   * decoder.setControlHandler((header) => console.log('control', header.toString(16)));
   * ```
   */
  setControlHandler(handler: ((header: number, precedingMessages: number) => void) | undefined): void {
    if (handler !== undefined && typeof handler !== 'function') throw invalidType('handler', handler);
    this.#onControl = handler;
  }

  #control(header: number, precedingMessages: number): void {
    try {
      this.#onControl!(header, precedingMessages);
    } catch (error) {
      this.#state = 'failed';
      this.#body = undefined;
      this.#hasFailure = true;
      this.#failure = error;
      throw error;
    }
  }

  /** Fails the decoder, for good, on a header announcing `length` bytes. */
  #fail(length: number): FrameTooLargeError {
    this.#state = 'failed';
    this.#body = undefined;
    return (this.#error = new FrameTooLargeError(length, this.#limit, 'announced'));
  }
}

/** Headers with this bit set are control headers when a control handler is set. */
const CONTROL_BIT = 0x80000000;

/** Payloads up to this size get their exact buffer on their first bytes: 64 KiB. */
const EXACT_BODY_BYTES = 64 * 1024;

function allocateZeroed(length: number): Uint8Array {
  return new Uint8Array(length);
}
