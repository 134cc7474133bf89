import { HEADER_BYTES, MAX_MESSAGE_BYTES } from './constants.js';
import { FrameTooLargeError, invalidArgument, invalidType } from './errors.js';

function checkLength(length: number, maxMessageBytes: number): void {
  // The limit is checked on every call (a few comparisons): an unchecked NaN or 2**40 limit
  // would let through frames that every conforming peer rejects.
  if (maxMessageBytes !== MAX_MESSAGE_BYTES) resolveMaxMessageBytes(maxMessageBytes);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw invalidArgument(`message length must be a non-negative integer, got ${String(length)}`);
  }
  if (length > maxMessageBytes) throw new FrameTooLargeError(length, maxMessageBytes, 'sent');
}

/**
 * Checks a `maxMessageBytes` option: an integer from 0 to {@link MAX_MESSAGE_BYTES}.
 *
 * @param value - the option value, or `undefined` for the default.
 * @returns the value, or {@link MAX_MESSAGE_BYTES} when `undefined`.
 * @throws RangeError with `code: 'IPCEZ_ERR_INVALID_ARG'` when out of range or not an integer;
 *   TypeError with the same code when not a number (a numeric string is not coerced).
 * @example
 * ```ts
 * resolveMaxMessageBytes(undefined); // 4194304
 * ```
 */
export function resolveMaxMessageBytes(value: number | undefined): number {
  if (value === undefined) return MAX_MESSAGE_BYTES;
  if (typeof value !== 'number') {
    throw Object.assign(new TypeError(`maxMessageBytes must be a number, got ${typeof value}`), {
      code: 'IPCEZ_ERR_INVALID_ARG' as const,
    });
  }
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_MESSAGE_BYTES) {
    throw invalidArgument(`maxMessageBytes must be an integer from 0 to ${MAX_MESSAGE_BYTES}, got ${String(value)}`);
  }
  return value;
}

/**
 * Writes a frame header (the payload length, unsigned 32-bit big-endian) into `target` at
 * `offset`. For writers that coalesce many frames into one staging buffer.
 *
 * @param target - the buffer to write into; needs {@link HEADER_BYTES} bytes from `offset`.
 * @param offset - where the header starts.
 * @param length - the payload length.
 * @param maxMessageBytes - the limit to enforce (default {@link MAX_MESSAGE_BYTES}).
 * @throws FrameTooLargeError (`IPCEZ_ERR_FRAME_TOO_LARGE`) when `length` exceeds the limit.
 * @throws RangeError (`IPCEZ_ERR_INVALID_ARG`) for a negative or fractional length, a target
 *   too small, or a `maxMessageBytes` that is not an integer from 0 to 4 MiB.
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `target` is not a `Uint8Array`.
 * @example
 * ```ts
 * const staging = new Uint8Array(HEADER_BYTES + payload.length);
 * writeHeader(staging, 0, payload.length);
 * staging.set(payload, HEADER_BYTES);
 * ```
 */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  length: number,
  maxMessageBytes: number = MAX_MESSAGE_BYTES,
): void {
  if (!(target instanceof Uint8Array)) throw invalidType('target', target);
  checkLength(length, maxMessageBytes);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + HEADER_BYTES > target.length) {
    throw invalidArgument(
      `a header needs ${HEADER_BYTES} bytes at offset ${String(offset)} of a ${target.length}-byte target`,
    );
  }
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
}

/**
 * Encodes the 4-byte header of a frame whose payload is `length` bytes.
 *
 * @param length - the payload length in bytes.
 * @param maxMessageBytes - the limit to enforce (default {@link MAX_MESSAGE_BYTES}).
 * @returns a new 4-byte array: the length as unsigned 32-bit big-endian.
 * @throws FrameTooLargeError (`IPCEZ_ERR_FRAME_TOO_LARGE`) when `length` exceeds the limit.
 * @throws RangeError (`IPCEZ_ERR_INVALID_ARG`) for a negative or fractional length, or a
 *   `maxMessageBytes` that is not an integer from 0 to 4 MiB.
 * @example
 * ```ts
 * encodeHeader(5); // Uint8Array [0, 0, 0, 5]
 * ```
 */
export function encodeHeader(length: number, maxMessageBytes: number = MAX_MESSAGE_BYTES): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  writeHeader(header, 0, length, maxMessageBytes);
  return header;
}

/**
 * Encodes one message as a frame. The payload is **not copied**: the result is the new
 * header and the very `payload` passed in, ready for a vectored write (`writev`, cork).
 * Concatenate them only if your sink needs one buffer.
 *
 * @param payload - the message bytes (0 to `maxMessageBytes` long).
 * @param maxMessageBytes - the limit to enforce (default {@link MAX_MESSAGE_BYTES}).
 * @returns `[header, payload]`.
 * @throws FrameTooLargeError (`IPCEZ_ERR_FRAME_TOO_LARGE`) when the payload exceeds the limit;
 *   nothing is produced, so nothing is written.
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `payload` is not a `Uint8Array`.
 * @throws RangeError (`IPCEZ_ERR_INVALID_ARG`) for a `maxMessageBytes` that is not an integer
 *   from 0 to 4 MiB.
 * @example
 * ```ts
 * const [header, body] = encodeFrame(new TextEncoder().encode('hello'));
 * socket.write(header); socket.write(body); // 00 00 00 05 68 65 6c 6c 6f
 * ```
 */
export function encodeFrame(
  payload: Uint8Array,
  maxMessageBytes: number = MAX_MESSAGE_BYTES,
): readonly [header: Uint8Array, payload: Uint8Array] {
  if (!(payload instanceof Uint8Array)) throw invalidType('payload', payload);
  // Inlined encodeHeader: a typed array's length is always a valid length, so only the limit
  // needs checking, and this runs once per message sent.
  if (maxMessageBytes !== MAX_MESSAGE_BYTES) resolveMaxMessageBytes(maxMessageBytes);
  const length = payload.length;
  if (length > maxMessageBytes) throw new FrameTooLargeError(length, maxMessageBytes, 'sent');
  const header = new Uint8Array(HEADER_BYTES);
  header[0] = length >>> 24;
  header[1] = (length >>> 16) & 0xff;
  header[2] = (length >>> 8) & 0xff;
  header[3] = length & 0xff;
  return [header, payload];
}
