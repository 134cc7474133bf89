// An in-memory pair of connected byte duplexes (after ws's test/duplex-pair.js):
// what one side writes, the other reads, with real backpressure (a write's callback waits
// until the reader has room) and socket-like ends (ending or destroying one side ends the
// other's readable side). `writes` counts the write calls that reached the "OS".
import { Duplex } from 'node:stream';

export interface DuplexPair {
  readonly a: Duplex;
  readonly b: Duplex;
  /** Write calls (single or vectored) each side performed, like syscalls. */
  readonly writes: { a: number; b: number };
}

export function duplexPair(highWaterMark: number = 16 * 1024): DuplexPair {
  const writes = { a: 0, b: 0 };
  const sides: Duplex[] = [];
  const blocked: ((() => void) | undefined)[] = [undefined, undefined];
  const make = (index: 0 | 1): Duplex => {
    const other = (): Duplex => sides[1 - index]!;
    const deliver = (chunk: Buffer, callback: (error?: Error | null) => void): void => {
      const peer = other();
      if (peer.destroyed || peer.readableEnded) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        return;
      }
      if (peer.push(chunk)) callback();
      else blocked[index] = callback;
    };
    return new Duplex({
      highWaterMark,
      read() {
        const release = blocked[1 - index];
        blocked[1 - index] = undefined;
        release?.();
      },
      write(chunk: Buffer, _encoding, callback) {
        writes[index === 0 ? 'a' : 'b']++;
        deliver(chunk, callback);
      },
      writev(chunks, callback) {
        writes[index === 0 ? 'a' : 'b']++;
        deliver(Buffer.concat(chunks.map((c) => c.chunk as Buffer)), callback);
      },
      final(callback) {
        const peer = other();
        if (!peer.destroyed) peer.push(null);
        callback();
      },
      destroy(error, callback) {
        const peer = other();
        if (!peer.destroyed && !peer.readableEnded) peer.push(null);
        callback(error);
      },
    });
  };
  sides.push(make(0), make(1));
  return { a: sides[0]!, b: sides[1]!, writes };
}
