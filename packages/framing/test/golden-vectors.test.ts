import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FrameDecoder,
  FrameTooLargeError,
  HEADER_BYTES,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
} from '@ipcez/framing';
// Read through the package's own export, as another project (or a peer's test generator)
// would: this also proves `@ipcez/framing/golden-vectors.json` resolves.
import vectors from '@ipcez/framing/golden-vectors.json' with { type: 'json' };
import { concat, cutAt, fromHex, sameBytes, toHex } from './helpers.js';

/** A byte string in the vectors' notation (SPEC.md "Golden vectors"). */
type Part = string | { readonly repeat: string; readonly length: number };
type Bytes = Part | readonly Part[];

function bytesOf(spec: Bytes): Uint8Array {
  if (Array.isArray(spec)) return concat((spec as readonly Part[]).map((part) => bytesOf(part)));
  const part = spec as Part;
  if (typeof part === 'string') return fromHex(part);
  const pattern = fromHex(part.repeat);
  if (pattern.length === 0) throw new Error('an empty repeat pattern');
  const out = new Uint8Array(part.length);
  for (let i = 0; i < out.length; i++) out[i] = pattern[i % pattern.length]!;
  return out;
}

function encodeAll(messages: readonly Uint8Array[]): Uint8Array {
  return concat(messages.flatMap((m) => [...encodeFrame(m)]));
}

describe('golden vectors', () => {
  it('describe the protocol version, header size and limit this package implements', () => {
    expect(vectors.format).toBe('ipcez-framing-golden-vectors');
    expect(vectors.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(vectors.headerBytes).toBe(HEADER_BYTES);
    expect(vectors.maxMessageBytes).toBe(MAX_MESSAGE_BYTES);
  });

  it('cover the cases SPEC.md lists', () => {
    expect(vectors.cases.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'empty-message',
        'one-byte',
        'hello',
        'several-back-to-back',
        '256-bytes',
        '65536-bytes',
        'exactly-the-limit',
      ]),
    );
    expect(vectors.errorCases.map((c) => c.name)).toEqual(
      expect.arrayContaining(['limit-plus-one-header', 'max-u32-header']),
    );
  });

  describe.each(vectors.cases)('case $name', (vector) => {
    const messages = vector.messages.map((m) => bytesOf(m as Bytes));
    const stream = bytesOf(vector.stream);

    it('decodes its stream to exactly its messages, leaving pendingBytes buffered, in one chunk and in 1,000-byte chunks', () => {
      for (const chunks of [
        [stream.slice()],
        cutAt(
          stream,
          Array.from({ length: Math.ceil(stream.length / 1_000) }, (_, i) => i * 1_000),
        ),
      ]) {
        const decoder = new FrameDecoder();
        const received = chunks.flatMap((chunk) => decoder.push(chunk));
        expect(received.map((m) => m.length)).toEqual(messages.map((m) => m.length));
        received.forEach((m, i) => {
          expect(sameBytes(m, messages[i]!)).toBe(true);
        });
        expect(decoder.bufferedBytes).toBe(vector.pendingBytes);
      }
    });

    it('encodes its messages to exactly its stream (complete streams only)', () => {
      const encoded = encodeAll(messages);
      if (vector.pendingBytes === 0) {
        expect(encoded.length).toBe(stream.length);
        expect(sameBytes(encoded, stream)).toBe(true);
      } else {
        // An incomplete stream is its messages' encoding plus the pending bytes.
        expect(toHex(stream.subarray(0, encoded.length))).toBe(toHex(encoded));
        expect(stream.length - encoded.length).toBe(vector.pendingBytes);
      }
    });
  });

  describe.each(vectors.errorCases)('error case $name', (vector) => {
    it('delivers its messages, then fails with its error code, announced size and limit, in one chunk and byte by byte', () => {
      const stream = bytesOf(vector.stream);
      const messages = vector.messages.map((m) => fromHex(m));
      for (const chunks of [[stream], Array.from(stream, (_, i) => stream.slice(i, i + 1))]) {
        const decoder = new FrameDecoder();
        const received: Uint8Array[] = [];
        for (const chunk of chunks) {
          try {
            received.push(...decoder.push(chunk));
          } catch {
            break;
          }
        }
        expect(received.map(toHex)).toEqual(vector.messages);
        expect(decoder.error).toBeInstanceOf(FrameTooLargeError);
        expect(decoder.error).toMatchObject(vector.error);
        expect(sameBytes(encodeAll(messages), stream.subarray(0, encodeAll(messages).length))).toBe(true);
      }
    });
  });

  describe.each(vectors.oversizedSends)('oversized send $name', (vector) => {
    it('is refused by encodeFrame with its error code, size and limit', () => {
      expect(() => encodeFrame(bytesOf(vector.message))).toThrow(expect.objectContaining(vector.error));
    });
  });
});
