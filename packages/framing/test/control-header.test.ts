import { describe, expect, test } from 'vitest';
import {
  CONTROL_FLAG,
  CONTROL_TYPES,
  MAX_CONTROL_VALUE,
  V2_PROTOCOL_VERSION,
  encodeControlHeader,
  parseControlHeader,
  writeControlHeader,
} from '@ipcez/framing';
import { toHex as hex } from './helpers.js';

describe('control headers (protocol v2)', () => {
  test('encodes HELLO 2, HELLO_REPLY 2 and 0, and ACK n as in docs/PROTOCOL.md', () => {
    expect(hex(encodeControlHeader(CONTROL_TYPES.HELLO, V2_PROTOCOL_VERSION))).toBe('81000002');
    expect(hex(encodeControlHeader(CONTROL_TYPES.HELLO_REPLY, 2))).toBe('82000002');
    expect(hex(encodeControlHeader(CONTROL_TYPES.HELLO_REPLY, 0))).toBe('82000000');
    expect(hex(encodeControlHeader(CONTROL_TYPES.ACK, 1))).toBe('83000001');
    expect(hex(encodeControlHeader(CONTROL_TYPES.ACK, 0x012345))).toBe('83012345');
    expect(hex(encodeControlHeader(CONTROL_TYPES.ACK, MAX_CONTROL_VALUE))).toBe('83ffffff');
  });

  test('writes at an offset and returns the next offset', () => {
    const out = new Uint8Array(10).fill(0xee);
    expect(writeControlHeader(out, 3, CONTROL_TYPES.ACK, 7)).toBe(7);
    expect(hex(out)).toBe('eeeeee83000007eeeeee');
  });

  test('parses a header with the top bit set into type and value, and a length into undefined', () => {
    expect(parseControlHeader(0x8100_0002)).toEqual({ type: 1, value: 2 });
    expect(parseControlHeader(0x83ff_ffff)).toEqual({ type: 3, value: MAX_CONTROL_VALUE });
    // A reserved type is reported as it is: the caller decides it is a protocol error.
    expect(parseControlHeader(0xff00_0001)).toEqual({ type: 0x7f, value: 1 });
    expect(parseControlHeader(CONTROL_FLAG)).toEqual({ type: 0, value: 0 });
    expect(parseControlHeader(0)).toBeUndefined();
    expect(parseControlHeader(4 * 1024 * 1024)).toBeUndefined();
    expect(parseControlHeader(0x7fff_ffff)).toBeUndefined();
  });

  test('round-trips every type at the value limits', () => {
    for (const type of Object.values(CONTROL_TYPES)) {
      for (const value of [0, 1, 255, 65536, MAX_CONTROL_VALUE]) {
        const bytes = encodeControlHeader(type, value);
        const header = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
        expect(parseControlHeader(header)).toEqual({ type, value });
      }
    }
  });

  test('refuses a reserved type, a value out of range and a short target with IPCEZ_ERR_INVALID_ARG', () => {
    const invalid: unknown = expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' });
    expect(() => encodeControlHeader(0x04 as never, 1)).toThrow(invalid);
    expect(() => encodeControlHeader(CONTROL_TYPES.ACK, MAX_CONTROL_VALUE + 1)).toThrow(RangeError);
    expect(() => encodeControlHeader(CONTROL_TYPES.ACK, -1)).toThrow(invalid);
    expect(() => encodeControlHeader(CONTROL_TYPES.ACK, 1.5)).toThrow(invalid);
    expect(() => writeControlHeader(new Uint8Array(5), 2, CONTROL_TYPES.ACK, 1)).toThrow(invalid);
    expect(() => writeControlHeader([] as never, 0, CONTROL_TYPES.ACK, 1)).toThrow(TypeError);
    expect(() => parseControlHeader(2 ** 32)).toThrow(invalid);
    expect(() => parseControlHeader(-1)).toThrow(invalid);
  });
});
