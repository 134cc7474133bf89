import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameTooLargeError, IpcezError, MAX_MESSAGE_BYTES } from '@ipcez/framing';
import { concat, cutAt, header, patterned, recordAllocations, sameBytes, streamOf } from './helpers.js';

const RUNS = { numRuns: 1000 } as const;

// Message sizes: mostly small, some medium, some up to 70,000 (over the 64 KiB that socket
// reads typically deliver), with the edges called out.
const sizeArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 16 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 3, 4, 5, 65_535, 65_536, 70_000) },
);
const messagesArb = fc
  .array(fc.tuple(sizeArb, fc.nat()), { maxLength: 8 })
  .map((specs) => specs.map(([size, seed]) => patterned(size, seed)));

// A cut is either anywhere, or within 5 bytes of a frame start or a header end, where
// decoders break.
const cutArb: fc.Arbitrary<Cut> = fc.oneof<[fc.Arbitrary<Cut>, fc.Arbitrary<Cut>]>(
  fc.record({ anywhere: fc.nat() }),
  fc.record({ boundary: fc.nat(), delta: fc.integer({ min: -5, max: 5 }) }),
);
const cutsArb = fc.array(cutArb, { maxLength: 40 });

interface Layout {
  /** Payload start and end offsets in the stream, per message. */
  readonly payloads: readonly (readonly [number, number])[];
  /** Frame starts and header ends: where cuts near a boundary go. */
  readonly boundaries: readonly number[];
}

function layoutOf(messages: readonly Uint8Array[]): Layout {
  const payloads: [number, number][] = [];
  const boundaries: number[] = [0];
  let offset = 0;
  for (const m of messages) {
    payloads.push([offset + 4, offset + 4 + m.length]);
    boundaries.push(offset + 4, offset + 4 + m.length);
    offset += 4 + m.length;
  }
  return { payloads, boundaries };
}

type Cut = { readonly anywhere: number } | { readonly boundary: number; readonly delta: number };

function positions(cuts: readonly Cut[], length: number, layout: Layout): number[] {
  return cuts.map((c) =>
    'anywhere' in c ? c.anywhere % (length + 1) : layout.boundaries[c.boundary % layout.boundaries.length]! + c.delta,
  );
}

/**
 * Pushes `chunks` through a decoder and checks, as it goes: each message equals the next one
 * sent; a message whose payload lay inside one chunk is a view of it at the right offset,
 * any other is a fresh exact-size copy; the decoder never holds more than limit + 4 bytes.
 * After each push the chunk is overwritten, as a reader reusing its buffer would: copied
 * messages must not change and later messages must not be affected.
 */
function decodeAndCheck(messages: readonly Uint8Array[], chunks: readonly Uint8Array[]): void {
  // Plain checks rather than expect(): this runs hundreds of thousands of times per test.
  const check = (condition: boolean, what: () => string): void => {
    if (!condition) throw new Error(what());
  };
  const decoder = new FrameDecoder();
  const layout = layoutOf(messages);
  const copies: [Uint8Array, number][] = [];
  let next = 0;
  let chunkStart = 0;
  for (const chunk of chunks) {
    const chunkEnd = chunkStart + chunk.length;
    const out = decoder.push(chunk);
    for (const message of out) {
      const expected = messages[next];
      check(expected !== undefined, () => 'decoder returned more messages than were sent');
      check(sameBytes(message, expected!), () => `message ${next} differs from the one sent`);
      check(message.constructor === Uint8Array, () => `message ${next} is a ${message.constructor.name}`);
      const [start, end] = layout.payloads[next]!;
      if (start >= chunkStart && end <= chunkEnd) {
        check(message.buffer === chunk.buffer, () => `message ${next} lies in one chunk but is not a view of it`);
        check(
          message.byteOffset === chunk.byteOffset + start - chunkStart,
          () => `message ${next} views the wrong bytes`,
        );
      } else {
        check(message.buffer !== chunk.buffer, () => `split message ${next} aliases the last chunk`);
        check(
          message.byteOffset === 0 && message.buffer.byteLength === message.length,
          () => `split message ${next} is not a fresh exact-size copy`,
        );
        copies.push([message, next]);
      }
      next++;
    }
    check(decoder.bufferedBytes <= MAX_MESSAGE_BYTES + 4, () => `decoder holds ${decoder.bufferedBytes} bytes`);
    chunk.fill(0xee);
    chunkStart = chunkEnd;
  }
  check(next === messages.length, () => `decoded ${next} of ${messages.length} messages`);
  check(decoder.bufferedBytes === 0, () => `${decoder.bufferedBytes} bytes left buffered`);
  check(decoder.error === undefined, () => `decoder failed: ${String(decoder.error)}`);
  for (const [copy, index] of copies) {
    check(sameBytes(copy, messages[index]!), () => `copied message ${index} changed when its chunks were reused`);
  }
}

describe('FrameDecoder chunking', () => {
  it('decodes random message lists of 0 to 70,000 bytes under random chunkings to exactly the messages sent', () => {
    fc.assert(
      fc.property(messagesArb, cutsArb, (messages, cuts) => {
        const stream = streamOf(messages);
        decodeAndCheck(messages, cutAt(stream, positions(cuts, stream.length, layoutOf(messages))));
      }),
      RUNS,
    );
  }, 60_000); // 1,000 runs of up to 560 KB each, compared byte by byte: under 1 s idle, far slower on a busy 2-core machine.

  it('decodes random small message lists identically at every split point and in 1-byte chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 10 }), { maxLength: 5 }), (messages) => {
        const stream = streamOf(messages);
        for (let split = 0; split <= stream.length; split++) decodeAndCheck(messages, cutAt(stream, [split]));
        decodeAndCheck(
          messages,
          Array.from(stream, (_, i) => stream.slice(i, i + 1)),
        );
      }),
      RUNS,
    );
  }, 30_000);

  it('decodes a fixed frame sequence identically at every pair of split points', () => {
    const messages = [new Uint8Array(0), Uint8Array.of(0x2a), patterned(5, 1), patterned(13, 2), new Uint8Array(0)];
    const stream = streamOf(messages);
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) decodeAndCheck(messages, cutAt(stream, [i, j]));
    }
  });

  it('returns hundreds of frames from a single chunk in order, each a view of that chunk', () => {
    const messages = Array.from({ length: 500 }, (_, i) => patterned(i % 70, i));
    const stream = streamOf(messages);
    const out = new FrameDecoder().push(stream);
    expect(out).toHaveLength(500);
    out.forEach((m, i) => {
      expect(sameBytes(m, messages[i]!)).toBe(true);
      expect(m.buffer).toBe(stream.buffer);
    });
  });

  it.each([
    ['one chunk', (s: Uint8Array) => [s]],
    [
      '64 KiB chunks',
      (s: Uint8Array) =>
        cutAt(
          s,
          Array.from({ length: Math.ceil(s.length / 65_536) }, (_, i) => i * 65_536),
        ),
    ],
    ['the header split 1 | 3, then the rest in one chunk', (s: Uint8Array) => cutAt(s, [1, 4])],
    ['the header alone, then the payload alone', (s: Uint8Array) => cutAt(s, [4, 4 + MAX_MESSAGE_BYTES])],
    [
      'chunks of 1,000,003 bytes (cuts never on a frame boundary)',
      (s: Uint8Array) =>
        cutAt(
          s,
          Array.from({ length: 9 }, (_, i) => i * 1_000_003),
        ),
    ],
  ])(
    'decodes two 4 MiB messages and a small one arriving as %s',
    (_name, chunking) => {
      const messages = [patterned(MAX_MESSAGE_BYTES, 7), Uint8Array.of(1, 2, 3), patterned(MAX_MESSAGE_BYTES, 8)];
      decodeAndCheck(messages, chunking(streamOf(messages)));
    },
    30_000,
  ); // 8 MiB copied and compared byte by byte: well under a second idle, slower on a busy 2-core machine.

  it('returns a payload arriving whole after its header as a view, not a copy', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(header(3))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(4);
    const chunk = Uint8Array.of(9, 8, 7, 0, 0);
    const [message] = decoder.push(chunk);
    expect(message).toEqual(Uint8Array.of(9, 8, 7));
    expect(message!.buffer).toBe(chunk.buffer);
    expect(decoder.bufferedBytes).toBe(2);
  });

  it('returns a plain Uint8Array view even when the chunk is a Uint8Array subclass such as Buffer', () => {
    class ByteSubclass extends Uint8Array {}
    const chunk = new ByteSubclass(streamOf([Uint8Array.of(1, 2)]));
    const [message] = new FrameDecoder().push(chunk);
    expect(message!.constructor).toBe(Uint8Array);
    expect(message!.buffer).toBe(chunk.buffer);
  });

  it('reports bufferedBytes as header bytes plus payload bytes received, and 0 at a frame boundary', () => {
    const decoder = new FrameDecoder();
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(Uint8Array.of(0, 0));
    expect(decoder.bufferedBytes).toBe(2);
    decoder.push(Uint8Array.of(0, 10, 1, 2, 3));
    expect(decoder.bufferedBytes).toBe(7);
    expect(decoder.push(new Uint8Array(7))).toHaveLength(1);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.push(new Uint8Array(0))).toEqual([]);
  });
});

describe('FrameDecoder reservedBytes', () => {
  it('reports the partial payload buffer reserved, growing with the bytes received, and 0 once the frame completes or the decoder fails', () => {
    const decoder = new FrameDecoder();
    decoder.push(header(MAX_MESSAGE_BYTES));
    expect(decoder.reservedBytes).toBe(0); // a header alone reserves nothing
    decoder.push(new Uint8Array(10));
    expect(decoder.reservedBytes).toBe(64 * 1024);
    decoder.push(new Uint8Array(100_000));
    expect(decoder.reservedBytes).toBe(8 * 100_010);
    decoder.push(new Uint8Array(600_000));
    expect(decoder.reservedBytes).toBe(8 * 100_010); // still fits the interim buffer
    decoder.push(new Uint8Array(200_000)); // 900,010 received: past an eighth, the exact buffer
    expect(decoder.reservedBytes).toBe(MAX_MESSAGE_BYTES);
    expect(decoder.push(new Uint8Array(MAX_MESSAGE_BYTES - 900_010))).toHaveLength(1);
    expect(decoder.reservedBytes).toBe(0);
    decoder.push(concat([header(100), new Uint8Array(50)]));
    expect(decoder.reservedBytes).toBe(100);
    expect(() => decoder.push(concat([new Uint8Array(50), header(MAX_MESSAGE_BYTES + 1)]))).not.toThrow();
    expect(decoder.error).toBeInstanceOf(FrameTooLargeError);
    expect(decoder.reservedBytes).toBe(0);
  });
});

describe('FrameDecoder limits and hostile headers', () => {
  it('accepts a header announcing exactly the default limit of 4,194,304 bytes', () => {
    expect(MAX_MESSAGE_BYTES).toBe(4_194_304);
    const decoder = new FrameDecoder();
    expect(decoder.maxMessageBytes).toBe(MAX_MESSAGE_BYTES);
    const [message] = decoder.push(concat([header(MAX_MESSAGE_BYTES), new Uint8Array(MAX_MESSAGE_BYTES)]));
    expect(message!.length).toBe(MAX_MESSAGE_BYTES);
  });

  it.each([
    ['limit + 1 under the default limit', undefined, MAX_MESSAGE_BYTES + 1],
    ['0xFFFFFFFF under the default limit', undefined, 0xffffffff],
    ['0x80000000 (sign bit set) under the default limit', undefined, 0x80000000],
    ['limit + 1 under a 1,000-byte limit', 1_000, 1_001],
    ['0xFFFFFFFF under a 1,000-byte limit', 1_000, 0xffffffff],
    ['1 under a 0-byte limit', 0, 1],
  ])('throws FrameTooLargeError for a header announcing %s', (_name, maxMessageBytes, announced) => {
    const decoder = new FrameDecoder(maxMessageBytes === undefined ? {} : { maxMessageBytes });
    const limit = maxMessageBytes ?? MAX_MESSAGE_BYTES;
    const chunk = concat([header(announced), Uint8Array.of(1, 2, 3)]);
    const { result: thrown, sizes } = recordAllocations(() => {
      try {
        decoder.push(chunk);
      } catch (error) {
        return error;
      }
      return undefined;
    });
    expect(thrown).toBeInstanceOf(FrameTooLargeError);
    expect(thrown).toBe(decoder.error);
    expect(sizes.every((size) => size <= limit)).toBe(true);
    const error = decoder.error!;
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error).toBeInstanceOf(IpcezError);
    expect(error.code).toBe('IPCEZ_ERR_FRAME_TOO_LARGE');
    expect(error.size).toBe(announced);
    expect(error.limit).toBe(limit);
    expect(error.message).toContain(String(announced));
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('accepts exactly a custom limit and empty messages under a 0-byte limit', () => {
    expect(new FrameDecoder({ maxMessageBytes: 1_000 }).push(streamOf([new Uint8Array(1_000)]))[0]!.length).toBe(1_000);
    expect(
      new FrameDecoder({ maxMessageBytes: 0 }).push(streamOf([new Uint8Array(0), new Uint8Array(0)])),
    ).toHaveLength(2);
  });

  it('allocates at most the limit for a header announcing exactly the limit followed by a few bytes', () => {
    for (const limit of [MAX_MESSAGE_BYTES, 1_000]) {
      const decoder = new FrameDecoder({ maxMessageBytes: limit });
      const { result, sizes } = recordAllocations(() => [
        decoder.push(header(limit)),
        decoder.push(Uint8Array.of(1, 2, 3)),
      ]);
      expect(result).toEqual([[], []]);
      expect(sizes.length).toBeGreaterThan(0); // the payload buffer really was allocated here
      expect(Math.max(...sizes)).toBeLessThanOrEqual(limit);
      expect(decoder.bufferedBytes).toBe(7);
    }
  });

  it('reserves memory in proportion to the payload bytes received, not to the size announced (issue 9)', () => {
    // 200 peers announcing 4 MiB and sending 5 bytes each must not reserve 800 MiB.
    const { sizes } = recordAllocations(() => {
      for (let peer = 0; peer < 200; peer++) {
        const decoder = new FrameDecoder();
        decoder.push(header(MAX_MESSAGE_BYTES));
        decoder.push(Uint8Array.of(1, 2, 3, 4, 5));
        expect(decoder.bufferedBytes).toBe(9);
      }
    });
    const reserved = sizes.reduce((sum, size) => sum + size, 0);
    // 64 KiB of payload buffer per peer, plus small bookkeeping (header buffers).
    expect(reserved).toBeLessThanOrEqual(200 * (64 * 1024 + 256));
  });

  it('still delivers a large payload that arrives in many small pieces, byte for byte', () => {
    const payload = patterned(MAX_MESSAGE_BYTES, 5);
    const stream = streamOf([payload]);
    const decoder = new FrameDecoder();
    const out: Uint8Array[] = [];
    for (let offset = 0; offset < stream.length; offset += 65_536) {
      out.push(...decoder.push(stream.subarray(offset, offset + 65_536)));
    }
    expect(out).toHaveLength(1);
    expect(sameBytes(out[0]!, payload)).toBe(true);
  });

  it('allocates nothing for a header alone: the payload buffer waits for payload bytes', () => {
    const decoder = new FrameDecoder();
    const { sizes } = recordAllocations(() => decoder.push(header(MAX_MESSAGE_BYTES)));
    expect(sizes.filter((size) => size > 4)).toEqual([]);
    const split = new FrameDecoder();
    const parts = [Uint8Array.of(0x00, 0x40), Uint8Array.of(0x00, 0x00)];
    const { sizes: splitSizes } = recordAllocations(() => parts.map((part) => split.push(part)));
    expect(splitSizes.filter((size) => size > 4)).toEqual([]);
    expect(split.bufferedBytes).toBe(4);
  });

  it('rejects random over-limit headers after random valid messages, under random chunkings, never holding or allocating more than the limit', () => {
    const caseArb = fc.oneof(fc.constant(MAX_MESSAGE_BYTES), fc.integer({ min: 0, max: 100_000 })).chain((limit) =>
      fc.record({
        limit: fc.constant(limit),
        announced: fc.oneof(
          fc.constant(limit + 1),
          fc.constant(0xffffffff),
          fc.integer({ min: limit + 1, max: 0xffffffff }),
        ),
        before: fc.array(fc.uint8Array({ maxLength: Math.min(limit, 300) }), { maxLength: 5 }),
        junk: fc.uint8Array({ maxLength: 20 }),
        cuts: fc.array(fc.nat(), { maxLength: 10 }),
      }),
    );
    fc.assert(
      fc.property(caseArb, ({ limit, announced, before, junk, cuts }) => {
        const stream = concat([streamOf(before), header(announced), junk]);
        const decoder = new FrameDecoder({ maxMessageBytes: limit });
        const received: Uint8Array[] = [];
        let thrown: unknown;
        for (const chunk of cutAt(
          stream,
          cuts.map((c) => c % (stream.length + 1)),
        )) {
          const { result, sizes } = recordAllocations(() => {
            try {
              return decoder.push(chunk);
            } catch (error) {
              return error;
            }
          });
          if (Array.isArray(result)) received.push(...(result as Uint8Array[]));
          else {
            thrown ??= result;
            expect(result).toBe(decoder.error); // the same error object on every later push
          }
          expect(sizes.every((size) => size <= limit)).toBe(true);
          expect(decoder.bufferedBytes).toBeLessThanOrEqual(limit + 4);
        }
        // Thrown at once, or deferred (and then thrown by the push below).
        if (thrown !== undefined) expect(thrown).toBe(decoder.error);
        expect(received.length).toBe(before.length);
        received.forEach((m, i) => {
          expect(sameBytes(m, before[i]!)).toBe(true);
        });
        const error = decoder.error;
        expect(error).toBeInstanceOf(FrameTooLargeError);
        expect(error?.code).toBe('IPCEZ_ERR_FRAME_TOO_LARGE');
        expect(error?.size).toBe(announced);
        expect(error?.limit).toBe(limit);
        // The failed decoder stays failed, even for valid input.
        expect(() => decoder.push(streamOf([new Uint8Array(0)]))).toThrow(error);
      }),
      RUNS,
    );
  }, 30_000);
});

describe('FrameDecoder deferred errors', () => {
  it('returns the messages before a bad header in the same chunk, sets error, and throws on the next push', () => {
    const decoder = new FrameDecoder();
    const out = decoder.push(
      concat([
        streamOf([Uint8Array.of(0x61), Uint8Array.of(0x62)]),
        header(0xffffffff),
        streamOf([Uint8Array.of(0x63)]),
      ]),
    );
    expect(out).toEqual([Uint8Array.of(0x61), Uint8Array.of(0x62)]);
    const error = decoder.error;
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error?.size).toBe(0xffffffff);
    expect(() => decoder.push(new Uint8Array(0))).toThrow(error);
    expect(() => decoder.push(streamOf([Uint8Array.of(1)]))).toThrow(error);
    expect(decoder.error).toBe(error);
  });

  it('throws at once when the bad header completes in a chunk that completed no message', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(concat([streamOf([Uint8Array.of(1)]), Uint8Array.of(0xff, 0xff)]))).toEqual([Uint8Array.of(1)]);
    expect(decoder.error).toBeUndefined();
    expect(() => decoder.push(Uint8Array.of(0xff, 0xff, 0, 0))).toThrow(FrameTooLargeError);
    expect(decoder.error?.size).toBe(0xffffffff);
  });
});

describe('FrameDecoder argument errors', () => {
  it.each([
    ['an ArrayBuffer', new ArrayBuffer(4)],
    ['a string', '\u0000\u0000\u0000\u0000'],
    ['null', null],
    ['a plain array', [0, 0, 0, 0]],
    ['a DataView', new DataView(new ArrayBuffer(4))],
    ['a Uint16Array', new Uint16Array(2)],
  ])('throws a TypeError with code IPCEZ_ERR_INVALID_ARG when pushed %s, and keeps its state', (_name, chunk) => {
    const decoder = new FrameDecoder();
    decoder.push(Uint8Array.of(0, 0));
    expect(() => decoder.push(chunk as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
    expect(decoder.bufferedBytes).toBe(2);
    expect(decoder.error).toBeUndefined();
    expect(decoder.push(Uint8Array.of(0, 1, 9))).toEqual([Uint8Array.of(9)]);
  });

  it.each([
    ['-1', -1],
    ['limit + 1', MAX_MESSAGE_BYTES + 1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('throws a RangeError with code IPCEZ_ERR_INVALID_ARG for maxMessageBytes %s', (_name, maxMessageBytes) => {
    expect(() => new FrameDecoder({ maxMessageBytes })).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
  });

  it.each([
    ['maxMessageBytes as a string', { maxMessageBytes: '1000' }],
    ['options null', null],
    ['options a number', 1000],
  ])('throws a TypeError with code IPCEZ_ERR_INVALID_ARG for %s', (_name, options) => {
    expect(() => new FrameDecoder(options as never)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
  });
});

describe('FrameDecoder allocate option', () => {
  const frameOf = (payload: Uint8Array): Uint8Array => {
    const out = new Uint8Array(4 + payload.length);
    new DataView(out.buffer).setUint32(0, payload.length);
    out.set(payload, 4);
    return out;
  };

  it('allocates only the buffers of payloads that span chunks, with their exact length, and returns them filled', () => {
    const lengths: number[] = [];
    const decoder = new FrameDecoder({
      allocate: (length) => {
        lengths.push(length);
        return new Uint8Array(length).fill(0xee); // dirty on purpose: every byte must be overwritten
      },
    });
    const whole = frameOf(Uint8Array.from([1, 2, 3]));
    expect(decoder.push(whole)).toEqual([Uint8Array.from([1, 2, 3])]);
    expect(lengths).toEqual([]);
    const split = frameOf(Uint8Array.from({ length: 10 }, (_, i) => i));
    expect(decoder.push(split.subarray(0, 7))).toEqual([]);
    const [message] = decoder.push(split.subarray(7));
    expect(lengths).toEqual([10]);
    expect(Array.from(message!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('allocateInterim gets the interim buffers of a large split payload, which need not be zeroed', () => {
    const interims: number[] = [];
    const exact: number[] = [];
    const decoder = new FrameDecoder({
      allocate: (length) => {
        exact.push(length);
        return new Uint8Array(length).fill(0xee);
      },
      allocateInterim: (length) => {
        interims.push(length);
        return new Uint8Array(length).fill(0xaa); // garbage: only bytes the decoder wrote may be read
      },
    });
    const payload = Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7) % 251);
    const whole = frameOf(payload);
    const messages: Uint8Array[] = [];
    for (let offset = 0; offset < whole.length; offset += 4096) {
      messages.push(...decoder.push(whole.subarray(offset, offset + 4096)));
    }
    expect(interims.length).toBeGreaterThan(0);
    expect(interims.every((length) => length < payload.length)).toBe(true);
    expect(exact).toEqual([payload.length]);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.every((byte, i) => byte === payload[i])).toBe(true);
    const wrong = new FrameDecoder({ allocateInterim: (length) => new Uint8Array(length - 1) });
    expect(() => wrong.push(whole.subarray(0, 8192))).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
    expect(() => new FrameDecoder({ allocateInterim: 1 as unknown as () => Uint8Array })).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
  });

  it('never calls allocate for a header over the limit', () => {
    let calls = 0;
    const decoder = new FrameDecoder({
      maxMessageBytes: 8,
      allocate: (length) => {
        calls++;
        return new Uint8Array(length);
      },
    });
    expect(() => decoder.push(Uint8Array.from([0, 0, 0, 9, 1]))).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE' }) as Error,
    );
    expect(calls).toBe(0);
  });

  it('rejects an allocate that is not a function, or that returns the wrong length', () => {
    expect(() => new FrameDecoder({ allocate: 42 as unknown as () => Uint8Array })).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
    const decoder = new FrameDecoder({ allocate: (length) => new Uint8Array(length + 1) });
    expect(() => decoder.push(Uint8Array.from([0, 0, 0, 5, 1]))).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
  });
});

describe('FrameDecoder control headers', () => {
  it('hands top-bit headers to the control handler, whole or split across chunks, between data frames', () => {
    const controls: number[] = [];
    const decoder = new FrameDecoder({ maxMessageBytes: 16 });
    decoder.setControlHandler((h) => controls.push(h));
    const stream = concat([
      header(0x81000002),
      streamOf([Uint8Array.of(1, 2)]),
      header(0x83000007),
      streamOf([Uint8Array.of(3)]),
    ]);
    for (const cut of [0, 1, 2, 3, 4, 5, 9, 11, 13, stream.length]) {
      controls.length = 0;
      const d = new FrameDecoder({ maxMessageBytes: 16 });
      d.setControlHandler((h) => controls.push(h));
      const messages = cutAt(stream, [cut]).flatMap((chunk) => d.push(chunk));
      expect(messages.map((m) => Array.from(m))).toEqual([[1, 2], [3]]);
      expect(controls).toEqual([0x81000002, 0x83000007]);
    }
    expect(decoder.push(header(0x80000000))).toEqual([]);
    decoder.setControlHandler(undefined);
    expect(() => decoder.push(header(0x80000000))).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE' }) as Error,
    );
  });

  it('fails for good with what the control handler throws', () => {
    const decoder = new FrameDecoder();
    const failure = new Error('reserved control type');
    decoder.setControlHandler(() => {
      throw failure;
    });
    expect(() => decoder.push(header(0x8f000000))).toThrow(failure);
    expect(() => decoder.push(Uint8Array.of(0, 0, 0, 0))).toThrow(failure);
  });

  it('rejects a control handler that is not a function', () => {
    expect(() => {
      new FrameDecoder().setControlHandler(42 as unknown as () => void);
    }).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error);
  });
});
