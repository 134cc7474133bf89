import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createFrameDecoderStream,
  createFrameEncoderStream,
  FrameTooLargeError,
  MAX_MESSAGE_BYTES,
} from '@ipcez/framing';
import { concat, cutAt, header, patterned, sameBytes, streamOf, toHex } from './helpers.js';

const RUNS = { numRuns: 1000 } as const;

/** A readable stream of `chunks` (any values, so bad chunk types can be fed too). */
function source(chunks: readonly unknown[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(chunks[next++] as Uint8Array);
      else controller.close();
    },
  });
}

/** Reads everything; returns the chunks read and the error that ended the stream, if any. */
async function drain<T>(readable: ReadableStream<T>): Promise<{ chunks: T[]; error: unknown }> {
  const reader = readable.getReader();
  const chunks: T[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { chunks, error: undefined };
      chunks.push(value);
    }
  } catch (error) {
    return { chunks, error };
  } finally {
    reader.releaseLock();
  }
}

/** Like `drain`, but waits a macrotask before each read: a consumer slower than the producer. */
async function drainSlowly<T>(readable: ReadableStream<T>): Promise<{ chunks: T[]; error: unknown }> {
  const reader = readable.getReader();
  const chunks: T[] = [];
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const { done, value } = await reader.read();
      if (done) return { chunks, error: undefined };
      chunks.push(value);
    }
  } catch (error) {
    return { chunks, error };
  } finally {
    reader.releaseLock();
  }
}

describe('createFrameDecoderStream', () => {
  it('decodes random message lists under random chunkings to exactly the messages sent, one per chunk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2_000 }), fc.nat()), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (specs, cuts) => {
          const messages = specs.map(([size, seed]) => patterned(size, seed));
          const stream = streamOf(messages);
          const chunks = cutAt(
            stream,
            cuts.map((c) => c % (stream.length + 1)),
          );
          const { chunks: received, error } = await drain(source(chunks).pipeThrough(createFrameDecoderStream()));
          expect(error).toBeUndefined();
          expect(received.length).toBe(messages.length);
          received.forEach((m, i) => {
            expect(sameBytes(m, messages[i]!)).toBe(true);
          });
        },
      ),
      RUNS,
    );
  }, 30_000);

  it('delivers every message before a too-large header, even to a slow reader, then errors with FrameTooLargeError', async () => {
    const chunk = concat([
      streamOf([Uint8Array.of(0x61), Uint8Array.of(0x62), Uint8Array.of(0x63)]),
      header(0xffffffff),
      Uint8Array.of(1, 2),
    ]);
    for (const read of [drain, drainSlowly]) {
      const { chunks, error } = await read(source([chunk.slice()]).pipeThrough(createFrameDecoderStream()));
      expect(chunks.map(toHex)).toEqual(['61', '62', '63']);
      expect(error).toBeInstanceOf(FrameTooLargeError);
      expect(error).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE', size: 0xffffffff, limit: MAX_MESSAGE_BYTES });
    }
  });

  it('errors with FrameTooLargeError for limit + 1 under a custom maxMessageBytes, after the messages before it', async () => {
    const chunks = [streamOf([new Uint8Array(10)]), header(11)];
    const { chunks: received, error } = await drain(
      source(chunks).pipeThrough(createFrameDecoderStream({ maxMessageBytes: 10 })),
    );
    expect(received.map((m) => m.length)).toEqual([10]);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE', size: 11, limit: 10 });
  });

  it('errors with a TypeError naming the bytes left over when the input ends inside a frame, after the whole messages', async () => {
    for (const read of [drain, drainSlowly]) {
      const chunk = concat([streamOf([Uint8Array.of(1), Uint8Array.of(2)]), header(5), Uint8Array.of(9, 9)]);
      const { chunks, error } = await read(source([chunk]).pipeThrough(createFrameDecoderStream()));
      expect(chunks.map(toHex)).toEqual(['01', '02']);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain('6 bytes');
    }
  });

  it('ends cleanly when the input ends at a frame boundary', async () => {
    const { chunks, error } = await drain(
      source([streamOf([Uint8Array.of(7)])]).pipeThrough(createFrameDecoderStream()),
    );
    expect(chunks.map(toHex)).toEqual(['07']);
    expect(error).toBeUndefined();
  });

  it('errors with a TypeError with code IPCEZ_ERR_INVALID_ARG for a chunk that is not a Uint8Array', async () => {
    const { chunks, error } = await drain(
      source([streamOf([Uint8Array.of(7)]), 'text']).pipeThrough(createFrameDecoderStream()),
    );
    expect(chunks.map(toHex)).toEqual(['07']);
    expect(error).toMatchObject({ name: 'TypeError', code: 'IPCEZ_ERR_INVALID_ARG' });
  });

  it('rejects further writes once errored, and cancels the writable side when the reader cancels', async () => {
    const pair = createFrameDecoderStream();
    const writer = pair.writable.getWriter();
    const reader = pair.readable.getReader();
    const write = writer.write(header(0xffffffff));
    await expect(reader.read()).rejects.toBeInstanceOf(FrameTooLargeError);
    await write;
    await expect(writer.closed).rejects.toBeInstanceOf(FrameTooLargeError);

    const other = createFrameDecoderStream();
    const otherWriter = other.writable.getWriter();
    await other.readable.cancel(new Error('not interested'));
    await expect(otherWriter.closed).rejects.toThrow('not interested');
  });

  it('throws a RangeError with code IPCEZ_ERR_INVALID_ARG for an invalid maxMessageBytes', () => {
    expect(() => createFrameDecoderStream({ maxMessageBytes: MAX_MESSAGE_BYTES + 1 })).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
  });
});

describe('createFrameEncoderStream', () => {
  it('encodes random messages to a header chunk and the very payload chunk each, which decode back', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 500 }), { maxLength: 8 }), async (messages) => {
        const { chunks, error } = await drain(source(messages).pipeThrough(createFrameEncoderStream()));
        expect(error).toBeUndefined();
        expect(chunks.length).toBe(2 * messages.length);
        messages.forEach((m, i) => {
          expect(toHex(chunks[2 * i]!)).toBe(toHex(header(m.length)));
          expect(chunks[2 * i + 1]).toBe(m);
        });
        const { chunks: decoded } = await drain(source(chunks).pipeThrough(createFrameDecoderStream()));
        expect(decoded.map(toHex)).toEqual(messages.map(toHex));
      }),
      RUNS,
    );
  }, 30_000);

  it('errors with FrameTooLargeError for a message over its limit, after the frames before it and with nothing of it', async () => {
    const { chunks, error } = await drain(
      source([Uint8Array.of(1), new Uint8Array(4)]).pipeThrough(createFrameEncoderStream(3)),
    );
    expect(chunks.map(toHex)).toEqual(['00000001', '01']);
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE', size: 4, limit: 3 });
  });

  it('errors with a TypeError with code IPCEZ_ERR_INVALID_ARG for a message that is not a Uint8Array', async () => {
    const { error } = await drain(source(['hello']).pipeThrough(createFrameEncoderStream()));
    expect(error).toMatchObject({ name: 'TypeError', code: 'IPCEZ_ERR_INVALID_ARG' });
  });

  it('throws a RangeError with code IPCEZ_ERR_INVALID_ARG at creation for an invalid maxMessageBytes', () => {
    expect(() => createFrameEncoderStream(-1)).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
    expect(() => createFrameEncoderStream(MAX_MESSAGE_BYTES + 1)).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
  });
});
