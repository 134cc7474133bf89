import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  encodeHeader,
  FrameDecoder,
  FrameTooLargeError,
  HEADER_BYTES,
  MAX_MESSAGE_BYTES,
  resolveMaxMessageBytes,
  writeHeader,
} from '@ipcez/framing';
import { concat, cutAt, header, sameBytes, toHex } from './helpers.js';

const RUNS = { numRuns: 1000 } as const;
const invalidArg = (name: 'TypeError' | 'RangeError'): unknown =>
  expect.objectContaining({ name, code: 'IPCEZ_ERR_INVALID_ARG' });

describe('encodeHeader and writeHeader', () => {
  it('encodes a header as the length in 4 big-endian bytes', () => {
    expect(HEADER_BYTES).toBe(4);
    expect(toHex(encodeHeader(0))).toBe('00000000');
    expect(toHex(encodeHeader(5))).toBe('00000005');
    expect(toHex(encodeHeader(0x0102))).toBe('00000102');
    expect(toHex(encodeHeader(MAX_MESSAGE_BYTES))).toBe('00400000');
  });

  it('encodes every length from 0 to the limit as its unsigned 32-bit big-endian value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MESSAGE_BYTES }), (length) => {
        const bytes = encodeHeader(length);
        expect(bytes.length).toBe(4);
        expect(new DataView(bytes.buffer).getUint32(0, false)).toBe(length);
        expect(sameBytes(bytes, header(length))).toBe(true);
      }),
      RUNS,
    );
  });

  it('writes a header at any offset of a staging buffer and touches no other byte', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_MESSAGE_BYTES }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 8 }),
        (length, offset, slack) => {
          const target = new Uint8Array(offset + HEADER_BYTES + slack).fill(0xcc);
          writeHeader(target, offset, length);
          expect(new DataView(target.buffer).getUint32(offset, false)).toBe(length);
          expect(target.subarray(0, offset).every((b) => b === 0xcc)).toBe(true);
          expect(target.subarray(offset + HEADER_BYTES).every((b) => b === 0xcc)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it.each([
    ['encodeHeader', (length: number, limit?: number) => encodeHeader(length, limit)],
    [
      'writeHeader',
      (length: number, limit?: number) => {
        writeHeader(new Uint8Array(4), 0, length, limit);
      },
    ],
  ])('%s accepts exactly the limit and throws FrameTooLargeError for limit + 1, default or custom', (_name, encode) => {
    expect(() => {
      encode(MAX_MESSAGE_BYTES);
    }).not.toThrow();
    expect(() => {
      encode(10, 10);
    }).not.toThrow();
    expect(() => {
      encode(0, 0);
    }).not.toThrow();
    for (const [length, limit] of [
      [MAX_MESSAGE_BYTES + 1, undefined],
      [0xffffffff, undefined],
      [2 ** 40, undefined],
      [11, 10],
      [1, 0],
    ] as const) {
      let caught: unknown;
      try {
        encode(length, limit);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(FrameTooLargeError);
      expect(caught).toMatchObject({
        code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
        size: length,
        limit: limit ?? MAX_MESSAGE_BYTES,
      });
    }
  });

  it.each([
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('encodeHeader throws a RangeError with code IPCEZ_ERR_INVALID_ARG for length %s', (_name, length) => {
    expect(() => encodeHeader(length)).toThrow(invalidArg('RangeError'));
  });

  it.each([
    ['-1', -1],
    ['limit + 1', MAX_MESSAGE_BYTES + 1],
    ['NaN', Number.NaN],
    ['0.5', 0.5],
  ])(
    'encodeHeader and writeHeader throw a RangeError with code IPCEZ_ERR_INVALID_ARG for maxMessageBytes %s',
    (_name, limit) => {
      expect(() => encodeHeader(0, limit)).toThrow(invalidArg('RangeError'));
      expect(() => {
        writeHeader(new Uint8Array(4), 0, 0, limit);
      }).toThrow(invalidArg('RangeError'));
    },
  );

  it('writeHeader throws a RangeError with code IPCEZ_ERR_INVALID_ARG when the header does not fit at the offset', () => {
    expect(() => {
      writeHeader(new Uint8Array(3), 0, 1);
    }).toThrow(invalidArg('RangeError'));
    expect(() => {
      writeHeader(new Uint8Array(8), 5, 1);
    }).toThrow(invalidArg('RangeError'));
    expect(() => {
      writeHeader(new Uint8Array(8), -1, 1);
    }).toThrow(invalidArg('RangeError'));
    expect(() => {
      writeHeader(new Uint8Array(8), 1.5, 1);
    }).toThrow(invalidArg('RangeError'));
  });

  it('writeHeader throws a TypeError with code IPCEZ_ERR_INVALID_ARG when the target is not a Uint8Array', () => {
    expect(() => {
      writeHeader(new ArrayBuffer(4) as unknown as Uint8Array, 0, 1);
    }).toThrow(invalidArg('TypeError'));
    expect(() => {
      writeHeader([0, 0, 0, 0] as unknown as Uint8Array, 0, 1);
    }).toThrow(invalidArg('TypeError'));
  });
});

describe('encodeFrame', () => {
  it('returns a new header and the very payload passed in, without copying it', () => {
    const payload = Uint8Array.of(0x68, 0x65, 0x6c, 0x6c, 0x6f);
    const [head, body] = encodeFrame(payload);
    expect(body).toBe(payload);
    expect(toHex(head)).toBe('00000005');
    expect(head.buffer).not.toBe(payload.buffer);
  });

  it('round-trips random messages through encodeFrame and FrameDecoder, header and payload pushed as separate chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (messages) => {
        const decoder = new FrameDecoder();
        const received: Uint8Array[] = [];
        for (const m of messages) for (const part of encodeFrame(m)) received.push(...decoder.push(part));
        expect(received.length).toBe(messages.length);
        received.forEach((m, i) => {
          expect(sameBytes(m, messages[i]!)).toBe(true);
        });
        expect(decoder.bufferedBytes).toBe(0);
      }),
      RUNS,
    );
  });

  it('round-trips random messages through encodeFrame, concatenated and cut anywhere, then FrameDecoder', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 3_000 }), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (messages, cuts) => {
          const stream = concat(messages.flatMap((m) => [...encodeFrame(m)]));
          const decoder = new FrameDecoder();
          const received = cutAt(
            stream,
            cuts.map((c) => c % (stream.length + 1)),
          ).flatMap((chunk) => decoder.push(chunk));
          expect(received.length).toBe(messages.length);
          received.forEach((m, i) => {
            expect(sameBytes(m, messages[i]!)).toBe(true);
          });
        },
      ),
      RUNS,
    );
  });

  it('encodes a message of exactly the limit, and throws FrameTooLargeError for limit + 1, producing nothing', () => {
    expect(encodeFrame(new Uint8Array(MAX_MESSAGE_BYTES))[1].length).toBe(MAX_MESSAGE_BYTES);
    expect(() => encodeFrame(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toThrow(
      expect.objectContaining({
        code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
        size: MAX_MESSAGE_BYTES + 1,
        limit: MAX_MESSAGE_BYTES,
      }),
    );
    expect(encodeFrame(new Uint8Array(3), 3)[1].length).toBe(3);
    const tooLarge = (): unknown => encodeFrame(new Uint8Array(4), 3);
    expect(tooLarge).toThrow(FrameTooLargeError);
    expect(tooLarge).toThrow(expect.objectContaining({ size: 4, limit: 3 }));
    expect(tooLarge).toThrow('message of 4 bytes exceeds the limit of 3 bytes');
  });

  it.each([
    ['an ArrayBuffer', new ArrayBuffer(1)],
    ['a string', 'hello'],
    ['a plain array', [1, 2]],
    ['undefined', undefined],
    ['a Uint16Array', new Uint16Array(1)],
  ])('throws a TypeError with code IPCEZ_ERR_INVALID_ARG for a payload that is %s', (_name, payload) => {
    expect(() => encodeFrame(payload as unknown as Uint8Array)).toThrow(invalidArg('TypeError'));
  });

  it('throws a RangeError with code IPCEZ_ERR_INVALID_ARG for an invalid maxMessageBytes', () => {
    expect(() => encodeFrame(new Uint8Array(1), MAX_MESSAGE_BYTES + 1)).toThrow(invalidArg('RangeError'));
    expect(() => encodeFrame(new Uint8Array(1), -1)).toThrow(invalidArg('RangeError'));
  });
});

describe('resolveMaxMessageBytes', () => {
  it('defaults to 4 MiB and accepts every integer from 0 to 4 MiB unchanged', () => {
    expect(resolveMaxMessageBytes(undefined)).toBe(MAX_MESSAGE_BYTES);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MESSAGE_BYTES }), (value) => resolveMaxMessageBytes(value) === value),
      RUNS,
    );
  });

  it('throws a RangeError with code IPCEZ_ERR_INVALID_ARG for any number outside 0 to 4 MiB or not an integer', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: MAX_MESSAGE_BYTES + 1 }),
          fc.integer({ max: -1 }),
          fc.double().filter((d) => !Number.isInteger(d) || d < 0 || d > MAX_MESSAGE_BYTES),
        ),
        (value) => {
          expect(() => resolveMaxMessageBytes(value)).toThrow(invalidArg('RangeError'));
        },
      ),
      RUNS,
    );
  });

  it('throws a TypeError with code IPCEZ_ERR_INVALID_ARG for a value that is not a number, without coercing it', () => {
    for (const value of ['1000', null, {}, 10n]) {
      expect(() => resolveMaxMessageBytes(value as unknown as number)).toThrow(invalidArg('TypeError'));
    }
  });
});
