// StreamConnection over real sockets (Unix domain sockets on POSIX, named pipes on Windows).
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrameTimeoutError, IdleTimeoutError } from '@ipcez/core';
import { createStreamConnection } from '@ipcez/core/stream';
import type { StreamConnection } from '@ipcez/core/stream';
import { Collector, frame, pattern, str, text } from './helpers.js';

let dir: string;
let endpoint: string;
let server: net.Server | undefined;
const cleanup: (() => void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ipcez-'));
  endpoint =
    process.platform === 'win32'
      ? `\\\\.\\pipe\\ipcez-core-${process.pid}-${Math.random().toString(36).slice(2)}`
      : path.join(dir, 's.sock');
});

afterEach(async () => {
  for (const fn of cleanup.splice(0)) fn();
  if (server) {
    server.close();
    await once(server, 'close');
    server = undefined;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A server whose accepted sockets are handed out in order, and a connected client socket. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const s = net.createServer();
  server = s;
  s.listen(endpoint);
  await once(s, 'listening');
  const accepted = once(s, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(endpoint);
  await once(client, 'connect');
  const [serverSide] = await accepted;
  cleanup.push(() => {
    client.destroy();
    serverSide.destroy();
  });
  return [client, serverSide];
}

function wrap(socket: net.Socket): StreamConnection {
  const connection = createStreamConnection(socket, {
    transport: 'unix',
    endpoint,
  });
  cleanup.push(() => {
    connection.destroy();
  });
  return connection;
}

describe('StreamConnection over real sockets', () => {
  it('carries 20,000 messages each way, whole and in order, with every send in flight at once', async () => {
    const [c, s] = await socketPair();
    const client = wrap(c);
    const srv = wrap(s);
    const atServer = new Collector(srv);
    const atClient = new Collector(client);
    const count = 20_000;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      sends.push(client.send(text(String(i))), srv.send(pattern(i % 200, i)));
    }
    await Promise.all(sends);
    await Promise.all([atServer.until(count), atClient.until(count)]);
    for (let i = 0; i < count; i++) {
      expect(str(atServer.messages[i]!)).toBe(String(i));
    }
    expect(atClient.messages.every((m, i) => Buffer.from(m).equals(Buffer.from(pattern(i % 200, i))))).toBe(true);
  });

  it('reports a peer socket that dies mid-frame once, naming the partial bytes, with nothing partial delivered', async () => {
    const [c, s] = await socketPair();
    const srv = wrap(s);
    const atServer = new Collector(srv);
    c.write(frame(text('whole')));
    c.write(frame(pattern(1000, 1)).subarray(0, 300));
    await atServer.until(1);
    c.destroy();
    const error = await atServer.ended;
    expect(error.code).toBe('IPCEZ_ERR_CONNECTION_LOST');
    expect(['peer-closed', 'reset']).toContain((error as { reason?: string }).reason);
    expect(error.message).toContain('300 bytes');
    expect(atServer.messages.map(str)).toEqual(['whole']);
    expect(atServer.errors).toHaveLength(1);
  });

  it('closes gracefully on both sides: the closer sees local-close, the peer peer-closed, and the sockets are released', async () => {
    const [c, s] = await socketPair();
    const client = wrap(c);
    const srv = wrap(s);
    const atServer = new Collector(srv);
    const atClient = new Collector(client);
    void client.send(pattern(300_000, 9));
    await client.close();
    expect(await atClient.ended).toMatchObject({ reason: 'local-close' });
    expect(await atServer.ended).toMatchObject({ reason: 'peer-closed' });
    expect(atServer.messages.map((m) => m.length)).toEqual([300_000]);
    await srv.close();
    expect(c.destroyed && s.destroyed).toBe(true);
    expect(c.listenerCount('data') + s.listenerCount('data')).toBe(0);
  });
});

describe('pauseReading / resumeReading', () => {
  it('stops delivering while paused (frames stay unread in the OS) and delivers them in order on resume', async () => {
    const [a, b] = await socketPair();
    const sender = createStreamConnection(a, { transport: 'unix', endpoint });
    const reader = createStreamConnection(b, { transport: 'unix', endpoint });
    cleanup.push(() => {
      sender.destroy();
      reader.destroy();
    });
    const got = new Collector(reader);
    await sender.send(text('before'));
    await got.until(1);
    reader.pauseReading();
    reader.pauseReading(); // a flag, not a count
    for (let i = 0; i < 5; i++) await sender.send(text(`while paused ${i}`));
    // Give the bytes time to arrive: nothing may be read while paused.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(got.messages.map(str)).toEqual(['before']);
    reader.resumeReading();
    await got.until(6);
    expect(got.messages.map(str)).toEqual(['before', ...Array.from({ length: 5 }, (_, i) => `while paused ${i}`)]);
  });
});

describe('limits hold while closing (issue 9)', () => {
  it('close() does not lift the receive limit: a peer that ignores the end cannot make the connection buffer without bound', async () => {
    const [client, serverSide] = await socketPair();
    // The peer keeps its side open after our end (it ignores FIN) and floods us.
    serverSide.allowHalfOpen = true;
    serverSide.on('end', () => undefined);
    const connection = createStreamConnection(client, {
      transport: 'unix',
      endpoint,
      receiveHighWaterMark: 64 * 1024,
      closeTimeoutMs: 60_000,
    });
    void connection.close();
    const chunk = frame(pattern(60 * 1024, 1));
    let handedToOs = 0;
    // Write until the OS refuses more for a while (our reader stopped) or 64 MiB went out.
    for (let i = 0; i < 1024 && handedToOs < 64 * 1024 * 1024; i++) {
      if (serverSide.write(chunk)) {
        handedToOs += chunk.length;
        continue;
      }
      handedToOs += chunk.length;
      const drained = await Promise.race([
        once(serverSide, 'drain').then(() => true),
        new Promise<boolean>((resolve) => {
          setTimeout(() => {
            resolve(false);
          }, 200);
        }),
      ]);
      if (!drained) break;
    }
    // Whatever the OS buffers hold (a few hundred KiB on Linux), far less than 64 MiB got in.
    expect(handedToOs).toBeLessThan(16 * 1024 * 1024);
    connection.destroy();
  }, 20_000);

  it('ends a connection whose partial frame stalls longer than frameTimeoutMs with FrameTimeoutError', async () => {
    const [client, serverSide] = await socketPair();
    const connection = createStreamConnection(client, { transport: 'unix', endpoint, frameTimeoutMs: 100 });
    const collector = new Collector(connection);
    serverSide.write(Buffer.concat([frame(text('whole')), Buffer.from([0, 0x40, 0, 0, 1, 2, 3, 4, 5])]));
    const error = await collector.ended;
    expect(collector.messages.map(str)).toEqual(['whole']);
    expect(error).toBeInstanceOf(FrameTimeoutError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TIMEOUT', timeoutMs: 100, receivedBytes: 9 });
  });

  it('ends a connection whose peer trickles a frame one byte at a time (slowloris) with FrameTimeoutError', async () => {
    const [client, serverSide] = await socketPair();
    const connection = createStreamConnection(client, { transport: 'unix', endpoint, frameTimeoutMs: 100 });
    const collector = new Collector(connection);
    serverSide.write(Buffer.from([0, 0, 0x10, 0])); // a 4096-byte frame, then a byte every 10 ms
    let sent = 0;
    const trickle = setInterval(() => {
      if (!serverSide.destroyed) serverSide.write(Buffer.from([sent++ & 0xff]));
    }, 10);
    try {
      const error = await collector.ended;
      expect(error).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TIMEOUT', timeoutMs: 100 });
      // Bytes kept coming the whole time: it was the frame's age, not a silence, that ended it.
      expect(sent).toBeGreaterThan(0);
      expect(sent).toBeLessThan(4096);
    } finally {
      clearInterval(trickle);
    }
  });

  it('keeps a connection that only writes, and ends it with IdleTimeoutError once no byte goes either way for idleTimeoutMs', async () => {
    const [client, serverSide] = await socketPair();
    const connection = createStreamConnection(client, { transport: 'unix', endpoint, idleTimeoutMs: 50 });
    const collector = new Collector(connection);
    // Only writes (the peer never answers): writes count as activity too.
    const ping = setInterval(() => {
      void connection.send(text('ping')).catch(() => undefined);
    }, 10);
    await new Promise((resolve) => setTimeout(resolve, 250)); // five idle periods
    clearInterval(ping);
    expect(connection.state).toBe('open');
    expect(collector.errors).toEqual([]);
    const error = await collector.ended;
    expect(error).toBeInstanceOf(IdleTimeoutError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_IDLE_TIMEOUT', timeoutMs: 50 });
    serverSide.destroy();
  });
});
