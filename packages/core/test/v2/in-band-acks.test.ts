// Protocol v2's receiving side over a real Unix socket pair: at most one ACK header per read
// batch of the recipient, counting exactly the data frames of the batches (docs/PROTOCOL.md §5).
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HELLO_REPLY_V2, HELLO_V2, negotiateClient, negotiateServer } from '@ipcez/core';
import { createStreamConnection } from '@ipcez/core/stream';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function word(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

/**
 * A real Unix socket pair: `raw` (the connecting end, a plain `net.Socket`) and `socket` (the
 * accepted end), in a fresh temp directory; everything is released after the test.
 */
async function socketPair(): Promise<{ path: string; raw: net.Socket; socket: net.Socket }> {
  const dir = mkdtempSync(join(tmpdir(), 'ipcez-v2pair-'));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 's.sock');
  const server = net.createServer();
  server.listen(path);
  await once(server, 'listening');
  cleanups.push(() => server.close());
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const raw = net.connect(path);
  cleanups.push(() => raw.destroy());
  await once(raw, 'connect');
  const [socket] = await accepted;
  return { path, raw, socket };
}

describe.runIf(process.platform !== 'win32')('in-band ACKs of a recipient', () => {
  it('writes at most one ACK per read batch, and the ACKs count every data frame once', async () => {
    // The peer is a raw socket: it says HELLO, sends data frames in many writes, and counts
    // the ACK headers that come back.
    const { path, raw, socket } = await socketPair();
    const connection = createStreamConnection(socket, { transport: 'unix', endpoint: path });
    cleanups.push(() => {
      connection.destroy();
    });
    let batches = 0;
    let frames = 0;
    connection.observeReads((messages) => {
      batches++;
      frames += messages.length;
    });
    connection.messageHandler(() => undefined);
    const negotiated = negotiateServer(connection, 5_000, 5_000);
    let received = Buffer.alloc(0);
    raw.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    raw.write(word(HELLO_V2));
    expect((await negotiated).mode).toBe('v2');
    const total = 2000;
    for (let i = 0; i < total; i += 100) {
      raw.write(Buffer.concat(Array.from({ length: 100 }, (_, j) => Buffer.concat([word(4), word(i + j)]))));
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await expect.poll(() => frames, { timeout: 4000 }).toBe(total);
    // Let the last ACKs reach the raw peer.
    await expect
      .poll(
        () => {
          const headers = [];
          for (let offset = 4; offset + 4 <= received.length; offset += 4) headers.push(received.readUInt32BE(offset));
          return headers.reduce((sum, h) => sum + (h & 0xff_ffff), 0);
        },
        { timeout: 4000 },
      )
      .toBe(total);
    expect(received.readUInt32BE(0)).toBe(HELLO_REPLY_V2);
    const acks: number[] = [];
    for (let offset = 4; offset < received.length; offset += 4) acks.push(received.readUInt32BE(offset));
    expect(acks.every((h) => h >>> 24 === 0x83)).toBe(true);
    expect(acks.length).toBeGreaterThanOrEqual(1);
    expect(acks.length).toBeLessThanOrEqual(batches);
  });
});

describe.runIf(process.platform !== 'win32')('in-band ACKs of a sender', () => {
  it('a send the connection refuses at once (bad options) takes no place in the ACK line, so the next send still resolves with its own ACK', async () => {
    const { path, raw, socket } = await socketPair();
    const serverSide = createStreamConnection(socket, { transport: 'unix', endpoint: path });
    const clientSide = createStreamConnection(raw, { transport: 'unix', endpoint: path });
    cleanups.push(() => {
      serverSide.destroy();
      clientSide.destroy();
    });
    const read: string[] = [];
    serverSide.messageHandler((result) => {
      if (result.ok) read.push(Buffer.from(result.message).toString());
    });
    const [client, serverOutcome] = await Promise.all([
      negotiateClient(clientSide, 5_000),
      negotiateServer(serverSide, 5_000, 5_000),
    ]);
    expect(serverOutcome.mode).toBe('v2');
    if (client.mode !== 'v2') throw new Error(`expected v2, got ${client.mode}`);
    const acks = client.acks;
    expect(() => acks.send(Buffer.from('bad'), { wait: 'no' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
    await expect(acks.send(Buffer.from('bad'), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(acks.outstanding).toBe(0);
    // Its own ACK settles it: a refused send left no slot in front of it.
    await acks.send(Buffer.from('good'));
    expect(read).toEqual(['good']);
    expect(acks.outstanding).toBe(0);
  });
});

describe.runIf(process.platform !== 'win32')('server negotiation on a busy event loop', () => {
  it('a HELLO that arrived before the pending time ran out still wins when the loop was too busy to read it in time', async () => {
    const { path, raw, socket } = await socketPair();
    const connection = createStreamConnection(socket, { transport: 'unix', endpoint: path });
    cleanups.push(() => {
      connection.destroy();
    });
    const negotiated = negotiateServer(connection, 20, 5_000);
    // The client's HELLO reaches the kernel now, well within the 20 ms...
    raw.write(word(HELLO_V2));
    // ...but this process is busy past the pending time, so when its loop runs again the timer
    // has expired and the HELLO is still unread.
    const until = performance.now() + 100;
    while (performance.now() < until) {
      // busy
    }
    expect((await negotiated).mode).toBe('v2');
  });
});
