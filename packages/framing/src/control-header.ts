import { HEADER_BYTES } from './constants.js';
import { invalidArgument, invalidType } from './errors.js';

/**
 * The top bit of a frame header. Once protocol v2 is agreed on a connection, a header with it
 * set is a **control header** (no payload): bits 30–24 the type, bits 23–0 the value. A data
 * frame's length never has it set (lengths are at most 4 MiB). See docs/PROTOCOL.md.
 */
export const CONTROL_FLAG = 0x8000_0000;

/**
 * The control header types of protocol v2 (bits 30–24): `HELLO` (client → server, first 4
 * bytes of the connection, value = the version the client speaks), `HELLO_REPLY` (server →
 * client, value = the version the connection uses: 2, or 0 for seed mode) and `ACK` (both
 * ways, value = how many more of the peer's data frames were read, 1 to 2^24 − 1). Every other
 * type is reserved: receiving one is a protocol error.
 */
export const CONTROL_TYPES = {
  /** Client → server, the first 4 bytes of the connection: the version the client speaks. */
  HELLO: 0x01,
  /** Server → client: the version the connection uses (2, or 0 for seed mode). */
  HELLO_REPLY: 0x02,
  /** Both ways: how many more of the peer's data frames were read since the previous ACK. */
  ACK: 0x03,
} as const;

/** One of {@link CONTROL_TYPES}' values. */
export type ControlType = (typeof CONTROL_TYPES)[keyof typeof CONTROL_TYPES];

/** The largest value a control header carries: 2^24 − 1. */
export const MAX_CONTROL_VALUE = 0xff_ffff;

/** The protocol version a v2 peer puts in HELLO and HELLO_REPLY. */
export const V2_PROTOCOL_VERSION = 2;

/** A decoded control header: its type (0–127, not necessarily a known one) and value. */
export interface ControlHeader {
  /** Bits 30–24: the type (0–127; see {@link CONTROL_TYPES}, the others are reserved). */
  readonly type: number;
  /** Bits 23–0: the value (0 to {@link MAX_CONTROL_VALUE}). */
  readonly value: number;
}

function checkControl(type: unknown, value: unknown): void {
  if (type !== CONTROL_TYPES.HELLO && type !== CONTROL_TYPES.HELLO_REPLY && type !== CONTROL_TYPES.ACK) {
    throw invalidArgument(`control type must be HELLO (1), HELLO_REPLY (2) or ACK (3), got ${String(type)}`);
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_CONTROL_VALUE) {
    throw invalidArgument(`control value must be an integer from 0 to ${MAX_CONTROL_VALUE}, got ${String(value)}`);
  }
}

/**
 * Writes a control header (4 bytes, big-endian) into `target` at `offset`.
 *
 * @param target - the buffer; needs {@link HEADER_BYTES} bytes from `offset`.
 * @param offset - where the header starts.
 * @param type - one of {@link CONTROL_TYPES}.
 * @param value - 0 to {@link MAX_CONTROL_VALUE}.
 * @returns `offset + 4`.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) for a bad buffer, offset, type or value.
 * @example
 * ```ts
 * import { CONTROL_TYPES, writeControlHeader } from '@ipcez/framing';
 *
 * const out = new Uint8Array(4);
 * writeControlHeader(out, 0, CONTROL_TYPES.ACK, 3); // 83 00 00 03
 * ```
 */
export function writeControlHeader(target: Uint8Array, offset: number, type: ControlType, value: number): number {
  if (!(target instanceof Uint8Array)) throw invalidType('target', target);
  checkControl(type, value);
  if (!Number.isInteger(offset) || offset < 0 || offset + HEADER_BYTES > target.length) {
    throw invalidArgument(
      `offset must leave ${HEADER_BYTES} bytes in a ${target.length}-byte target, got ${String(offset)}`,
    );
  }
  target[offset] = 0x80 | type;
  target[offset + 1] = value >>> 16;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
  return offset + HEADER_BYTES;
}

/**
 * Encodes one control header as a new 4-byte array.
 *
 * @param type - one of {@link CONTROL_TYPES}.
 * @param value - 0 to {@link MAX_CONTROL_VALUE}.
 * @returns the 4 bytes.
 * @throws RangeError (`IPCEZ_ERR_INVALID_ARG`) for a bad type or value.
 * @example
 * ```ts
 * import { CONTROL_TYPES, V2_PROTOCOL_VERSION, encodeControlHeader } from '@ipcez/framing';
 *
 * encodeControlHeader(CONTROL_TYPES.HELLO, V2_PROTOCOL_VERSION); // 81 00 00 02
 * ```
 */
export function encodeControlHeader(type: ControlType, value: number): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  writeControlHeader(header, 0, type, value);
  return header;
}

/**
 * Splits a 32-bit header (as read big-endian, an unsigned number) into a control header's
 * type and value, or returns `undefined` when its top bit is clear (a data frame's length).
 * The type is not checked against {@link CONTROL_TYPES}: a reserved type is the caller's
 * protocol error to report.
 *
 * @param header - the header as an unsigned 32-bit integer.
 * @returns `{ type, value }`, or `undefined` for a length.
 * @throws RangeError (`IPCEZ_ERR_INVALID_ARG`) when `header` is not an integer from 0 to 2^32 − 1.
 * @example
 * ```ts
 * import { parseControlHeader } from '@ipcez/framing';
 *
 * parseControlHeader(0x8300_0005); // { type: 3, value: 5 }
 * parseControlHeader(5); // undefined: a 5-byte data frame
 * ```
 */
export function parseControlHeader(header: number): ControlHeader | undefined {
  if (!Number.isInteger(header) || header < 0 || header > 0xffff_ffff) {
    throw invalidArgument(`header must be an integer from 0 to 4294967295, got ${String(header)}`);
  }
  if (header < CONTROL_FLAG) return undefined;
  return { type: (header >>> 24) & 0x7f, value: header & MAX_CONTROL_VALUE };
}
