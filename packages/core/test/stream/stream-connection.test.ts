import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_HIGH_WATER_MARK, FrameTooLargeError } from '@ipcez/core';
import { MAX_MESSAGE_BYTES as MAX_MESSAGE_BYTES_FOR_TEST } from '@ipcez/framing';
import { createStreamConnection } from '@ipcez/core/stream';
import type { StreamConnection, StreamConnectionOptions } from '@ipcez/core/stream';
import { duplexPair } from './duplex-pair.js';
import type { DuplexPair } from './duplex-pair.js';
import { Collector, bytes, frame, pattern, str, text } from './helpers.js';

const opened: StreamConnection[] = [];
const pairs: DuplexPair[] = [];

afterEach(() => {
  for (const connection of opened.splice(0)) connection.destroy();
  for (const pair of pairs.splice(0)) {
    pair.a.destroy();
    pair.b.destroy();
  }
});

function connect(duplex: DuplexPair['a'], options: Partial<StreamConnectionOptions> = {}): StreamConnection {
  const connection = createStreamConnection(duplex, {
    transport: 'unix',
    endpoint: '/test.sock',
    ...options,
  });
  opened.push(connection);
  return connection;
}

function pair(highWaterMark?: number): DuplexPair {
  const p = duplexPair(highWaterMark);
  pairs.push(p);
  return p;
}

function connectedPair(
  options: Partial<StreamConnectionOptions> = {},
): [StreamConnection, StreamConnection, DuplexPair] {
  const p = pair();
  return [connect(p.a, options), connect(p.b, options), p];
}

describe('createStreamConnection: arguments', () => {
  it('throws IPCEZ_ERR_INVALID_ARG synchronously for a missing duplex, bad transport or bad limits', () => {
    const p = pair();
    expect(() =>
      createStreamConnection(null as never, {
        transport: 'unix',
        endpoint: 'x',
      }),
    ).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
    expect(() => createStreamConnection(p.a, { transport: 'tcp' as never, endpoint: 'x' })).toThrow(TypeError);
    expect(() =>
      createStreamConnection(p.a, {
        transport: 'unix',
        endpoint: 'x',
        highWaterMark: 0,
      }),
    ).toThrow(RangeError);
    expect(() =>
      createStreamConnection(p.a, {
        transport: 'unix',
        endpoint: 'x',
        maxMessageBytes: MAX_MESSAGE_BYTES_FOR_TEST + 1,
      }),
    ).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
  });

  it('reports its transport, endpoint, limits and an open state', () => {
    const [a] = connectedPair({
      transport: 'pipe',
      endpoint: '\\\\.\\pipe\\x',
      maxMessageBytes: 10,
    });
    expect(a.transport).toBe('pipe');
    expect(a.endpoint).toBe('\\\\.\\pipe\\x');
    expect(a.maxMessageBytes).toBe(10);
    expect(a.highWaterMark).toBe(DEFAULT_HIGH_WATER_MARK);
    expect(a.state).toBe('open');
    expect(a.bufferedAmount).toBe(0);
  });

  it('throws IPCEZ_ERR_INVALID_ARG synchronously when send gets something other than a Uint8Array', () => {
    const [a] = connectedPair();
    expect(() => a.send('hello' as never)).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
  });
});

describe('StreamConnection: messages', () => {
  it('delivers messages whole and in order in both directions, including 0 bytes and exactly 4 MiB', async () => {
    const [a, b] = connectedPair();
    const atB = new Collector(b);
    const atA = new Collector(a);
    const big = pattern(MAX_MESSAGE_BYTES_FOR_TEST, 7);
    await Promise.all([a.send(text('one')), a.send(new Uint8Array(0)), a.send(big), a.send(text('last'))]);
    await b.send(text('back'));
    await atB.until(4);
    await atA.until(1);
    expect(atB.messages.map((m) => m.length)).toEqual([3, 0, MAX_MESSAGE_BYTES_FOR_TEST, 4]);
    expect(Buffer.from(atB.messages[2]!).equals(Buffer.from(big))).toBe(true);
    expect(str(atB.messages[3]!)).toBe('last');
    expect(str(atA.messages[0]!)).toBe('back');
  });

  it('never hands over a partial or merged message, whether bytes come one at a time or many frames at once', async () => {
    const p = pair();
    const b = connect(p.b);
    const atB = new Collector(b);
    const payloads = [text('alpha'), new Uint8Array(0), pattern(300, 1), text('omega')];
    const wire = Buffer.concat(payloads.map(frame));
    for (const byte of wire.subarray(0, 40)) p.a.write(Buffer.of(byte));
    p.a.write(wire.subarray(40));
    p.a.write(Buffer.concat([frame(text('x')), frame(text('y'))]));
    await atB.until(6);
    expect(atB.messages.map((m) => Buffer.from(m).toString('hex'))).toEqual(
      [...payloads, text('x'), text('y')].map((m) => Buffer.from(m).toString('hex')),
    );
  });

  it('keeps messages that arrive before a handler is set and delivers them first, in order', async () => {
    const [a, b] = connectedPair();
    await a.send(text('1'));
    await a.send(text('2'));
    await new Promise((resolve) => setImmediate(resolve));
    const atB = new Collector(b);
    expect(atB.messages.map(str)).toEqual(['1', '2']);
    await a.send(text('3'));
    await atB.until(3);
    expect(atB.messages.map(str)).toEqual(['1', '2', '3']);
  });

  it('supports async iteration that ends normally when the peer closes at a frame boundary', async () => {
    const [a, b] = connectedPair();
    void a.send(text('x'));
    void a.send(text('y'));
    const closed = a.close();
    const received: string[] = [];
    for await (const message of b) received.push(str(message));
    await closed;
    expect(received).toEqual(['x', 'y']);
  });

  it('refuses a second consumer', () => {
    const [a] = connectedPair();
    a.messageHandler(() => undefined);
    expect(() => {
      a.messageHandler(() => undefined);
    }).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
  });
});

describe('StreamConnection: sending', () => {
  it('coalesces many sends made in one tick into a few writes', async () => {
    const p = pair(1024 * 1024);
    const a = connect(p.a);
    const b = connect(p.b);
    const atB = new Collector(b);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) sends.push(a.send(text(`m${i}`)));
    await Promise.all(sends);
    await atB.until(1000);
    expect(atB.messages.map(str)).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
    expect(p.writes.a).toBeLessThanOrEqual(2);
  });

  it('writes the first send of an idle tick at once, then large payloads by reference beside the rest in one vectored write', async () => {
    const p = pair(8 * 1024 * 1024);
    const a = connect(p.a);
    const atB = new Collector(connect(p.b));
    await Promise.all([
      a.send(text('first')),
      a.send(pattern(30_000, 1)),
      a.send(text('small')),
      a.send(pattern(20_000, 2)),
    ]);
    await atB.until(4);
    expect(p.writes.a).toBe(2);
    expect(atB.messages.map((m) => m.length)).toEqual([5, 30_000, 5, 20_000]);
    expect(Buffer.from(atB.messages[3]!).equals(Buffer.from(pattern(20_000, 2)))).toBe(true);
  });

  it('keeps handing full batches to a stream that takes them at once, also batches of two buffers written corked (16 KiB high-water mark, like a socket)', async () => {
    let taken = 0;
    const sink = new Duplex({
      writableHighWaterMark: 16 * 1024,
      read() {
        // Nothing to read.
      },
      write(chunk: Buffer, _encoding, callback) {
        taken += chunk.length;
        callback();
      },
      writev(chunks, callback) {
        for (const { chunk } of chunks) taken += (chunk as Buffer).length;
        callback();
      },
    });
    const a = connect(sink);
    // 68-byte frames: a 64 KiB batch ends in one staging buffer and starts in the next, so it
    // goes out as two buffers, corked, whose write() returns false at the high-water mark.
    const message = new Uint8Array(64);
    const total = 8192 * 68;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 8192; i++) sends.push(a.send(message));
    // Before yielding once: every full batch already went to the stream (a sender that runs
    // ahead must not starve the reader until it yields).
    expect(taken).toBeGreaterThanOrEqual(total - 64 * 1024 - 68);
    await Promise.all(sends);
    expect(taken).toBe(total);
  });

  it('writes one lone send at once, without waiting for the next tick', (): Promise<void> => {
    const p = pair();
    const a = connect(p.a);
    const sent = a.send(text('now'));
    expect(p.writes.a).toBe(1);
    return sent;
  });

  it('rejects an oversized send with FrameTooLargeError, writes nothing, and stays usable', async () => {
    const p = pair();
    const a = connect(p.a, { maxMessageBytes: 8 });
    const atB = new Collector(connect(p.b));
    await expect(a.send(new Uint8Array(9))).rejects.toMatchObject({
      code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
      size: 9,
      limit: 8,
    });
    expect(p.writes.a).toBe(0);
    expect(a.bufferedAmount).toBe(0);
    await a.send(text('fine'));
    await atB.until(1);
    expect(str(atB.messages[0]!)).toBe('fine');
    expect(a.state).toBe('open');
  });

  it('counts queued bytes in bufferedAmount, makes sends past the high-water mark wait, and lets them through once the peer reads', async () => {
    const p = pair(64);
    const a = connect(p.a, { highWaterMark: 100 });
    const first = a.send(new Uint8Array(96)); // 100 frame bytes: at the mark
    expect(a.bufferedAmount).toBe(100);
    let secondDone = false;
    const second = a.send(new Uint8Array(10)).then(() => {
      secondDone = true;
    });
    await expect(a.send(new Uint8Array(1), { wait: false })).rejects.toMatchObject({
      code: 'IPCEZ_ERR_SEND_BUFFER_FULL',
      bufferedAmount: 100,
      highWaterMark: 100,
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondDone).toBe(false);
    // Nobody reads b: its buffer is full, so the first write cannot complete. Reading it does.
    const atB = new Collector(connect(p.b));
    await Promise.all([first, second]);
    await atB.until(2);
    expect(atB.messages.map((m) => m.length)).toEqual([96, 10]);
    expect(a.bufferedAmount).toBe(0);
  });

  it('rejects a send waiting for room with the abort reason when its signal aborts, and keeps order for the rest', async () => {
    const p = pair(64);
    const a = connect(p.a, { highWaterMark: 10 });
    const first = a.send(new Uint8Array(20));
    const controller = new AbortController();
    const aborted = a.send(text('dropped'), { signal: controller.signal });
    const third = a.send(text('kept'));
    const reason = new Error('changed my mind');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    const atB = new Collector(connect(p.b));
    await Promise.all([first, third]);
    await atB.until(2);
    expect(atB.messages.map((m) => m.length)).toEqual([20, 4]);
    expect(str(atB.messages[1]!)).toBe('kept');
  });

  it('rejects at once when the signal is already aborted', async () => {
    const [a] = connectedPair();
    await expect(a.send(text('x'), { signal: AbortSignal.abort(new Error('no')) })).rejects.toThrow('no');
  });
});

describe('StreamConnection: the end', () => {
  it('closes on an oversized incoming header: earlier messages, then exactly one FrameTooLargeError', async () => {
    const p = pair();
    const b = connect(p.b, { maxMessageBytes: 16 });
    const atB = new Collector(b);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(17, 0);
    p.a.write(Buffer.concat([frame(text('ok')), header]));
    const error = await atB.ended;
    expect(error).toMatchObject({
      code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
      size: 17,
      limit: 16,
    });
    expect(atB.messages.map(str)).toEqual(['ok']);
    expect(atB.errors).toHaveLength(1);
    expect(b.state).toBe('closed');
    // Sends after the end reject with the error the handler got (the one rule of the engine).
    await expect(b.send(text('late'))).rejects.toBe(error);
    await b.close();
    expect(atB.errors).toHaveLength(1);
  });

  it('reports a peer ending mid-frame as peer-closed, naming the bytes of the partial frame, and delivers nothing partial', async () => {
    const p = pair();
    const b = connect(p.b);
    const atB = new Collector(b);
    const partial = frame(pattern(100, 3)).subarray(0, 54);
    p.a.end(Buffer.concat([frame(text('whole')), partial]));
    const error = await atB.ended;
    expect(error).toMatchObject({
      code: 'IPCEZ_ERR_CONNECTION_LOST',
      reason: 'peer-closed',
    });
    expect(error.message).toContain('54 bytes');
    expect(atB.messages.map(str)).toEqual(['whole']);
  });

  it('throws the mid-frame loss from async iteration instead of ending normally', async () => {
    const p = pair();
    const b = connect(p.b);
    p.a.end(frame(text('abc')).subarray(0, 5));
    const iterate = async (): Promise<void> => {
      for await (const message of b) expect(message).toBeUndefined();
    };
    await expect(iterate()).rejects.toMatchObject({ reason: 'peer-closed' });
  });

  it('reports a stream error as ConnectionLostError reset with the OS error as cause', async () => {
    const p = pair();
    const b = connect(p.b);
    const atB = new Collector(b);
    const os = Object.assign(new Error('read ECONNRESET'), {
      code: 'ECONNRESET',
      errno: -104,
      syscall: 'read',
    });
    p.b.destroy(os);
    const error = await atB.ended;
    expect(error).toMatchObject({
      code: 'IPCEZ_ERR_CONNECTION_LOST',
      reason: 'reset',
      osCode: 'ECONNRESET',
      syscall: 'read',
    });
    expect(error.cause).toBe(os);
  });

  it('close() flushes queued sends, ends, reports local-close once, and returns the same promise', async () => {
    const [a, b] = connectedPair();
    const atA = new Collector(a);
    const atB = new Collector(b);
    const sends = [a.send(text('1')), a.send(text('2')), a.send(pattern(50_000, 5))];
    const closing = a.close();
    expect(a.close()).toBe(closing);
    expect(a.state).toBe('closing');
    await expect(a.send(text('late'))).rejects.toMatchObject({
      code: 'IPCEZ_ERR_CONNECTION_LOST',
      reason: 'local-close',
    });
    await Promise.all(sends);
    await closing;
    expect(a.state).toBe('closed');
    expect(await atA.ended).toMatchObject({
      code: 'IPCEZ_ERR_CONNECTION_LOST',
      reason: 'local-close',
    });
    expect(await atB.ended).toMatchObject({
      code: 'IPCEZ_ERR_CONNECTION_LOST',
      reason: 'peer-closed',
    });
    expect(atB.messages.map((m) => m.length)).toEqual([1, 1, 50_000]);
    expect(atA.errors).toHaveLength(1);
    expect(a.close()).toBe(closing);
    a.destroy();
    expect(atA.errors).toHaveLength(1);
  });

  it('destroy() rejects pending sends with ConnectionLostError and reports the end once', async () => {
    const p = pair(64);
    const a = connect(p.a, { highWaterMark: 10 });
    const atA = new Collector(a);
    const inflight = a.send(new Uint8Array(1000));
    const waiting = a.send(new Uint8Array(5));
    a.destroy();
    a.destroy();
    await expect(inflight).rejects.toMatchObject({
      code: 'IPCEZ_ERR_CONNECTION_LOST',
      reason: 'local-close',
    });
    await expect(waiting).rejects.toMatchObject({
      code: 'IPCEZ_ERR_CONNECTION_LOST',
      reason: 'local-close',
    });
    expect(atA.errors).toHaveLength(1);
    expect(a.bufferedAmount).toBe(0);
  });

  it('destroy(error) reports that error and rejects pending sends with it', async () => {
    const p = pair(64);
    const a = connect(p.a);
    const atA = new Collector(a);
    const pending = a.send(new Uint8Array(100_000));
    const reason = new FrameTooLargeError(1, 0);
    a.destroy(reason);
    expect(await atA.ended).toBe(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('releases every listener it added to the duplex once closed', async () => {
    const p = pair();
    const before = ['data', 'end', 'error', 'close', 'drain'].map((e) => p.a.listenerCount(e));
    const a = connect(p.a);
    connect(p.b);
    await a.close();
    expect(['data', 'end', 'error', 'close', 'drain'].map((e) => p.a.listenerCount(e))).toEqual(before);
  });

  it('pauses reading past the receive high-water mark while no consumer takes messages, and resumes when one does', async () => {
    const p = pair(1024);
    const b = connect(p.b, { receiveHighWaterMark: 4096 });
    const chunk = Buffer.concat(Array.from({ length: 64 }, (_, i) => frame(pattern(252, i)))); // 64 x 256 bytes
    let done = false;
    p.a.write(chunk, () => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(p.b.isPaused()).toBe(true);
    const atB = new Collector(b);
    await atB.until(64);
    expect(p.b.isPaused()).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(true);
    expect(atB.messages[63]).toEqual(pattern(252, 63));
  });

  it('reports peer-closed and rejects later sends when the peer ends at a frame boundary', async () => {
    const p = pair();
    const b = connect(p.b);
    const atB = new Collector(b);
    p.a.end(frame(bytes(1, 2, 3)));
    expect(await atB.ended).toMatchObject({ reason: 'peer-closed' });
    expect(atB.messages).toEqual([bytes(1, 2, 3)]);
    await expect(b.send(bytes(1))).rejects.toMatchObject({
      code: 'IPCEZ_ERR_CONNECTION_LOST',
      reason: 'peer-closed',
    });
  });
});

describe('StreamConnection: closing a connection nobody reads', () => {
  it('keeps the receive limit while closing: reading stays paused, the close timer ends it, and what was read is still delivered', async () => {
    const p = duplexPair(1024);
    pairs.push(p);
    const a = connect(p.a, { receiveHighWaterMark: 1024, closeTimeoutMs: 200 });
    const b = connect(p.b);
    // One chunk per message (a read batch is delivered whole, so one big chunk would pass).
    for (let i = 0; i < 16; i++) {
      void b.send(pattern(500, i)).catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(p.a.isPaused()).toBe(true);
    await a.close();
    expect(a.state).toBe('closed');
    const received: Uint8Array[] = [];
    for await (const message of a) received.push(message);
    // Only what was read before the limit; the rest never left the peer's side.
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(16);
  });
});
