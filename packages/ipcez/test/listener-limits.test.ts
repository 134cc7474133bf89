// Per-listener limits (issue 14, row 2), through the public API, against raw clients
// (`net.connect` writing frame headers and partial frames by hand). No wall-clock thresholds:
// small option values, and waits bounded only to stop a hang.
// Linux (Unix sockets). The named-pipe listener shares the core code but has no limit test of its own.
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectionLimitError,
  IdleTimeoutError,
  PartialFrameLimitError,
  FrameTimeoutError,
  connect,
  listen,
} from 'ipcez';
import type { IpcezError, ListenOptions, Server, Socket } from 'ipcez';

const local = { target: 'local', os: 'linux' } as const;
let dir: string;
const cleanup: (() => void | Promise<void>)[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ipcez-limits-'));
});

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
});

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
}

/** A server whose accepted sockets report their one terminal error. */
async function serve(
  options: ListenOptions,
): Promise<{ server: Server; ends: IpcezError[]; accepted: Socket[]; received: number[][] }> {
  const server = await listen(path.join(dir, 's.sock'), { ...local, ack: false, ...options });
  cleanup.push(() => server.close());
  const ends: IpcezError[] = [];
  const accepted: Socket[] = [];
  const received: number[][] = [];
  server.connectionHandler((socket) => {
    const lengths: number[] = [];
    accepted.push(socket);
    received.push(lengths);
    socket.messageHandler((r) => {
      if (r.ok) lengths.push(r.message.length);
      else ends.push(r.error);
    });
  });
  return { server, ends, accepted, received };
}

/** A raw client: connected, its 'close' awaited by `closed`. */
async function raw(endpoint: string): Promise<{ socket: net.Socket; closed: Promise<unknown> }> {
  const socket = net.connect(endpoint);
  socket.on('error', () => undefined);
  cleanup.push(() => {
    socket.destroy();
  });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await once(socket, 'connect');
  return { socket, closed };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.runIf(process.platform === 'linux')('maxConnections', () => {
  it('closes connections past the cap unread, tells onRefused, and serves again once one ended', async () => {
    const refused: IpcezError[] = [];
    const { server, accepted } = await serve({ maxConnections: 2, onRefused: (e) => refused.push(e) });
    const a = await raw(server.endpoint);
    const b = await raw(server.endpoint);
    await until(() => accepted.length === 2, 'two accepted');
    const c = await raw(server.endpoint);
    c.socket.write(header(2)); // never read: the socket is closed first
    await c.closed;
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(ConnectionLimitError);
    expect(refused[0]).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LIMIT', limit: 2 });
    expect(accepted).toHaveLength(2);
    a.socket.destroy();
    await until(() => accepted[0]!.state === 'closed', 'the first to end');
    const d = await raw(server.endpoint);
    await until(() => accepted.length === 3, 'a third accepted');
    expect(refused).toHaveLength(1);
    b.socket.destroy();
    d.socket.destroy();
  });

  it('answers a WebSocket upgrade past the cap with HTTP 503 and tells onRefused', async () => {
    const refused: IpcezError[] = [];
    const server = await listen('ws://127.0.0.1:0/limits', { maxConnections: 1, onRefused: (e) => refused.push(e) });
    cleanup.push(() => server.close());
    const first = await connect(server.endpoint);
    cleanup.push(() => first.disconnect());
    await expect(connect(server.endpoint)).rejects.toMatchObject({ code: 'IPCEZ_ERR_WS', status: 503 });
    expect(refused[0]).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LIMIT', limit: 1 });
  });
});

describe.runIf(process.platform === 'linux')('maxPartialBytes', () => {
  it('closes the connection whose partial frame would pass the cap, keeps the others, and takes memory back when frames complete or connections end', async () => {
    // Each client announces a 100,000-byte frame and sends 10 bytes of it: its decoder
    // reserves 64 KiB. Three fit under 200,000 bytes; a fourth does not.
    const { server, ends, accepted, received } = await serve({ maxPartialBytes: 200_000 });
    const clients = [];
    for (let i = 0; i < 3; i++) {
      const client = await raw(server.endpoint);
      client.socket.write(Buffer.concat([header(100_000), Buffer.alloc(10)]));
      clients.push(client);
      await until(() => accepted.length === i + 1, 'accepted');
    }
    const fourth = await raw(server.endpoint);
    fourth.socket.write(Buffer.concat([header(100_000), Buffer.alloc(10)]));
    await fourth.closed;
    expect(ends).toHaveLength(1);
    expect(ends[0]).toBeInstanceOf(PartialFrameLimitError);
    expect(ends[0]).toMatchObject({
      code: 'IPCEZ_ERR_PARTIAL_FRAME_LIMIT',
      limit: 200_000,
      requestedBytes: 65_536,
      heldBytes: 3 * 65_536,
    });
    // One leaves, one completes its frame: both give their memory back (the completion needs
    // its exact 100,000-byte buffer for a moment, which fits only once the first has left).
    clients[1]!.socket.destroy();
    await until(() => ends.length === 2, 'the second end');
    clients[0]!.socket.write(Buffer.alloc(100_000 - 10));
    await until(() => received[0]!.length === 1, 'the completed frame');
    expect(received[0]).toEqual([100_000]);
    // So a new connection's frame, which would not have fit before, now arrives whole.
    const late = await raw(server.endpoint);
    late.socket.write(Buffer.concat([header(100_000), Buffer.alloc(10)]));
    await until(() => accepted.length === 5, 'one more accepted');
    late.socket.write(Buffer.alloc(100_000 - 10));
    await until(() => received[4]!.length === 1, 'the late frame');
    expect(ends.map((e) => e.code)).toEqual(['IPCEZ_ERR_PARTIAL_FRAME_LIMIT', 'IPCEZ_ERR_CONNECTION_LOST']);
  });
});

describe.runIf(process.platform === 'linux')('frameTimeoutMs and idleTimeoutMs', () => {
  it('closes a connection whose peer stalls inside a frame with FrameTimeoutError, delivered to its handler', async () => {
    const { server, ends } = await serve({ frameTimeoutMs: 50 });
    const client = await raw(server.endpoint);
    client.socket.write(Buffer.concat([header(10), Buffer.from('abc')]));
    await client.closed;
    await until(() => ends.length === 1, 'the end');
    expect(ends[0]).toBeInstanceOf(FrameTimeoutError);
    expect(ends[0]).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TIMEOUT', timeoutMs: 50, receivedBytes: 7 });
  });

  it('closes a silent connection with IdleTimeoutError, delivered to its handler; a v2 client sees the connection lost', async () => {
    const { server, ends } = await serve({ idleTimeoutMs: 50 });
    const client = await connect(server.endpoint, local);
    cleanup.push(() => client.disconnect());
    const clientEnd = new Promise<IpcezError>((resolve) => {
      client.messageHandler((r) => {
        if (!r.ok) resolve(r.error);
      });
    });
    await until(() => ends.length === 1, 'the end');
    expect(ends[0]).toBeInstanceOf(IdleTimeoutError);
    expect(ends[0]).toMatchObject({ code: 'IPCEZ_ERR_IDLE_TIMEOUT', timeoutMs: 50 });
    expect((await clientEnd).code).toBe('IPCEZ_ERR_CONNECTION_LOST');
  });
});

describe.runIf(process.platform === 'linux')('limit options', () => {
  it('rejects bad values with IPCEZ_ERR_INVALID_ARG before touching anything, and byte-stream limits on a WebSocket endpoint', async () => {
    const endpoint = path.join(dir, 'x.sock');
    for (const bad of [
      { maxConnections: 0 },
      { maxConnections: 1.5 },
      { maxPartialBytes: -1 },
      { frameTimeoutMs: 0 },
      { idleTimeoutMs: '5' },
      { onRefused: 'log' },
    ]) {
      await expect(
        listen(endpoint, { ...local, ...(bad as ListenOptions) }),
        JSON.stringify(bad),
      ).rejects.toMatchObject({
        code: 'IPCEZ_ERR_INVALID_ARG',
      });
    }
    expect(readdirSync(dir)).toEqual([]);
    for (const streamOnly of [{ maxPartialBytes: 1024 }, { frameTimeoutMs: 10 }, { idleTimeoutMs: 10 }]) {
      await expect(listen('ws://127.0.0.1:0/x', streamOnly), JSON.stringify(streamOnly)).rejects.toMatchObject({
        code: 'IPCEZ_ERR_INVALID_ARG',
      });
    }
    // Infinity turns a cap off.
    const server = await listen(endpoint, {
      ...local,
      maxConnections: Number.POSITIVE_INFINITY,
      maxPartialBytes: Number.POSITIVE_INFINITY,
    });
    await server.close();
  });
});
