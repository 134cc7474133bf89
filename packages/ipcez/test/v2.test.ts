// Protocol v2 (docs/PROTOCOL.md §5) through the facade, against ipcez peers and against raw
// peers written byte by byte here: every rule of the negotiation and of in-band acks,
// including the unhappy ones.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, listen } from 'ipcez';
import type { MessageResult, Server, Socket } from 'ipcez';
import { leftoverSemaphores } from './helpers/cli.js';
import { startRawServer } from './helpers/raw-server.js';

const local = { target: 'local', os: 'linux' } as const;
const HELLO = 0x8100_0002;
const REPLY_V2 = 0x8200_0002;
const REPLY_SEED = 0x8200_0000;
const ack = (n: number): number => (0x8300_0000 | n) >>> 0;

let dir = '';
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcez-v2-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  const prefix = dir.slice(tmpdir().length + 1);
  rmSync(dir, { recursive: true, force: true });
  expect(leftoverSemaphores(prefix)).toEqual([]);
});

function word(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

function frame(text: string): Buffer {
  const body = Buffer.from(text);
  return Buffer.concat([word(body.length), body]);
}

/** Reads a byte stream as 4-byte headers and frames, on demand. */
class RawReader {
  #buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #isEnded = false;
  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#isEnded = true;
      this.#wake?.();
    });
  }
  async #need(n: number): Promise<void> {
    while (this.#buffer.length < n) {
      if (this.#isEnded) throw new Error(`stream ended with ${this.#buffer.length} of ${n} bytes`);
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
  /** The next header, as an unsigned integer. */
  async header(): Promise<number> {
    await this.#need(4);
    const value = this.#buffer.readUInt32BE(0);
    this.#buffer = this.#buffer.subarray(4);
    return value;
  }
  /** The next data frame's payload as text (its header must be a length). */
  async frame(): Promise<string> {
    const length = await this.header();
    if (length >= 0x8000_0000) throw new Error(`expected a data frame, got control header 0x${length.toString(16)}`);
    await this.#need(length);
    const body = this.#buffer.subarray(0, length).toString();
    this.#buffer = this.#buffer.subarray(length);
    return body;
  }
  get isEnded(): boolean {
    return this.#isEnded;
  }
}

/** A raw server on `path`; with `advertise`, it creates the endpoint's pair and v2 marker. */
async function rawServer(
  path: string,
  advertise: boolean,
  onSocket: (socket: net.Socket, reader: RawReader) => void | Promise<void>,
): Promise<void> {
  cleanups.push(
    await startRawServer(path, advertise, (socket) => {
      void onSocket(socket, new RawReader(socket));
    }),
  );
}

async function ipcezServer(options: Record<string, unknown> = {}): Promise<Server> {
  const server = await listen(join(dir, 's.sock'), { ...local, ...options });
  cleanups.push(() => server.close());
  return server;
}

async function client(path: string, options: Record<string, unknown> = {}): Promise<Socket> {
  const socket = await connect(path, { ...local, ...options });
  cleanups.push(() => socket.disconnect());
  return socket;
}

async function rawClient(path: string): Promise<{ socket: net.Socket; reader: RawReader }> {
  const socket = net.connect(path);
  await once(socket, 'connect');
  cleanups.push(() => {
    socket.destroy();
  });
  return { socket, reader: new RawReader(socket) };
}

function results(socket: Socket): MessageResult[] {
  const out: MessageResult[] = [];
  socket.messageHandler((r) => out.push(r));
  return out;
}

describe.runIf(process.platform === 'linux')('protocol v2 between ipcez peers', () => {
  it('is chosen by both ends, and an ack means that connection read that message', async () => {
    const server = await ipcezServer();
    const accepted: Socket[] = [];
    server.connectionHandler((socket) => accepted.push(socket));
    const socket = await client(server.endpoint);
    expect(socket.ackMode).toBe('v2');
    await socket.sendMessage('one');
    expect(accepted.map((s) => s.ackMode)).toEqual(['v2']);
    // The acks-off side still acks what it reads; its own sends do not wait.
    const quiet = await client(server.endpoint, { ack: false });
    expect([quiet.ackMode, quiet.isAcked]).toEqual(['v2', false]);
  });

  it('acks exactly per connection: a socket whose server side stopped reading holds back only its own sends', async () => {
    const server = await ipcezServer();
    const accepted: Socket[] = [];
    server.connectionHandler((socket) => {
      // The second connection gets no handler for now: its inbox fills (1 MiB), then its reading
      // stops, and what stays in the OS buffer is not read, so not acked.
      if (accepted.length !== 1) socket.messageHandler(() => undefined);
      accepted.push(socket);
    });
    // One at a time, so that accepted[i] is clients[i]'s peer (connects made at once may reach
    // the listener in any order).
    const clients: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      clients.push(await client(server.endpoint, { ackTimeoutMs: 60_000 }));
      while (accepted.length < i + 1) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const big = new Uint8Array(64 * 1024);
    let resolved = 0;
    const held = Array.from({ length: 200 }, () => clients[1]!.sendMessage(big).then(() => resolved++));
    // Everyone else's sends resolve, many times over, while most of the second client's wait.
    for (let round = 0; round < 100; round++) {
      await Promise.all([clients[0]!.sendMessage(`a ${round}`), clients[2]!.sendMessage(`c ${round}`)]);
    }
    const beforeReading = resolved;
    expect(beforeReading).toBeLessThan(200);
    // What the server side read (its 1 MiB inbox, at most) was acked; nothing beyond it.
    expect(beforeReading * big.length).toBeLessThanOrEqual(2 * 1024 * 1024);
    accepted[1]!.messageHandler(() => undefined);
    await Promise.all(held);
    expect(resolved).toBe(200);
  });
});

describe.runIf(process.platform === 'linux')('protocol v2 against raw peers', () => {
  it('a client says HELLO first and sends ACK n, at most one per read batch of the server', async () => {
    const path = join(dir, 'raw.sock');
    const acks: number[] = [];
    let readBatches = 0;
    await rawServer(path, true, async (socket, reader) => {
      expect(await reader.header()).toBe(HELLO);
      socket.write(word(REPLY_V2));
      // 30 frames in one write: the client reads them in one or a few batches.
      socket.write(Buffer.concat(Array.from({ length: 30 }, (_, i) => frame(`f${i}`))));
      socket.once('data', () => readBatches++);
      for (;;) {
        const header = await reader.header().catch(() => undefined);
        if (header === undefined) return;
        acks.push(header);
      }
    });
    const socket = await client(path);
    expect(socket.ackMode).toBe('v2');
    const got = results(socket);
    while (got.length < 30) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Only ACK headers came back, counting every frame exactly once, and fewer headers than frames.
    expect(acks.every((h) => h >>> 24 === 0x83)).toBe(true);
    expect(acks.reduce((sum, h) => sum + (h & 0xff_ffff), 0)).toBe(30);
    expect(acks.length).toBeLessThan(30);
    expect(readBatches).toBeGreaterThanOrEqual(1);
  });

  it('a send the peer never acks rejects with RecipientAckTimeoutError; the connection stays open', async () => {
    const path = join(dir, 'mute.sock');
    await rawServer(path, true, async (socket, reader) => {
      expect(await reader.header()).toBe(HELLO);
      socket.write(word(REPLY_V2));
    });
    const socket = await client(path, { ackTimeoutMs: 100 });
    await expect(socket.sendMessage('unheard')).rejects.toMatchObject({
      code: 'IPCEZ_ERR_ACK_TIMEOUT',
      timeoutMs: 100,
    });
    expect(socket.state).toBe('open');
  });

  it('sends waiting for their ACK reject at once with the connection error when the peer goes away', async () => {
    const path = join(dir, 'gone.sock');
    await rawServer(path, true, async (socket, reader) => {
      expect(await reader.header()).toBe(HELLO);
      socket.write(word(REPLY_V2));
      await reader.frame();
      socket.destroy();
    });
    const socket = await client(path, { ackTimeoutMs: 120_000 });
    const outcome = await Promise.allSettled([socket.sendMessage('a'), socket.sendMessage('b')]);
    // Long before the 120 s ack timeout (the test's own 5 s bound would stop a wait for it).
    expect(outcome.map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'ok'))).toEqual([
      'IPCEZ_ERR_CONNECTION_LOST',
      'IPCEZ_ERR_CONNECTION_LOST',
    ]);
  });

  it.each([
    ['an ACK for more frames than were sent', ack(2)],
    ['ACK 0', ack(0)],
    ['a reserved control type', 0x8500_0001],
    ['a HELLO_REPLY after the protocol was agreed', REPLY_V2],
  ])('%s is a protocol error: one terminal ProtocolError, the connection closed', async (_name, bad) => {
    const path = join(dir, 'bad.sock');
    await rawServer(path, true, async (socket, reader) => {
      expect(await reader.header()).toBe(HELLO);
      socket.write(word(REPLY_V2));
      await reader.frame();
      socket.write(word(bad));
    });
    const socket = await client(path, { ackTimeoutMs: 60_000 });
    const got = results(socket);
    // The send waiting for its ACK rejects at once with the connection's terminal error.
    await expect(socket.sendMessage('x')).rejects.toMatchObject({ code: 'IPCEZ_ERR_PROTOCOL' });
    while (got.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_PROTOCOL' } });
    expect(socket.state).toBe('closed');
  });

  it('a HELLO_REPLY other than 0 or 2 fails connect with a ProtocolError', async () => {
    const path = join(dir, 'v3.sock');
    await rawServer(path, true, async (socket, reader) => {
      expect(await reader.header()).toBe(HELLO);
      socket.write(word(0x8200_0003));
    });
    await expect(connect(path, local)).rejects.toMatchObject({ code: 'IPCEZ_ERR_PROTOCOL' });
  });

  it('a data frame before any reply means seed mode; the HELLO_REPLY 0 that follows is consumed silently', async () => {
    const path = join(dir, 'datafirst.sock');
    await rawServer(path, true, async (socket, reader) => {
      socket.write(frame('greeting'));
      expect(await reader.header()).toBe(HELLO);
      socket.write(word(REPLY_SEED));
      socket.write(frame('after'));
    });
    const socket = await client(path, { ack: false });
    expect(socket.ackMode).toBe('off');
    const got = results(socket);
    while (got.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(got.map((r) => (r.ok ? Buffer.from(r.message).toString() : `${r.error.code} ${r.error.message}`))).toEqual([
      'greeting',
      'after',
    ]);
  });

  it('a stale marker before a seed-only server: the server closes on HELLO, the client connects again without it', async () => {
    const path = join(dir, 'stale.sock');
    let connections = 0;
    await rawServer(path, true, async (socket, reader) => {
      connections++;
      const first = await reader.header();
      // A seed-only peer reads HELLO as a length over the limit and closes.
      if (first >= 0x8000_0000) {
        socket.destroy();
        return;
      }
      socket.write(frame(`echo after ${connections} connections`));
    });
    const socket = await client(path, { ack: false });
    expect(socket.ackMode).toBe('off');
    const got = results(socket);
    await socket.sendMessage('plain');
    while (got.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(got[0]!.ok && Buffer.from(got[0]!.message).toString()).toBe('echo after 2 connections');
  });

  it('a listener answers HELLO with HELLO_REPLY 2, and a HELLO after the pending time with HELLO_REPLY 0', async () => {
    const server = await ipcezServer({ negotiationTimeoutMs: 30 });
    const modes: string[] = [];
    server.connectionHandler((socket) => {
      modes.push(socket.ackMode);
      socket.sendMessage('welcome').catch(() => undefined);
    });
    const prompt = await rawClient(server.endpoint);
    prompt.socket.write(word(HELLO));
    expect(await prompt.reader.header()).toBe(REPLY_V2);
    expect(await prompt.reader.frame()).toBe('welcome');
    // Late: the server chose seed mode and wrote first; the HELLO still gets HELLO_REPLY 0.
    const late = await rawClient(server.endpoint);
    expect(await late.reader.frame()).toBe('welcome');
    late.socket.write(word(HELLO));
    expect(await late.reader.header()).toBe(REPLY_SEED);
    expect(modes).toEqual(['v2', 'seed']);
  });

  it('a listener takes a control header other than HELLO first as a protocol error and closes', async () => {
    const server = await ipcezServer();
    const ended: string[] = [];
    server.connectionHandler((socket) => {
      socket.messageHandler((r) => {
        if (!r.ok) ended.push(r.error.code);
      });
    });
    const raw = await rawClient(server.endpoint);
    raw.socket.write(word(ack(1)));
    while (!raw.reader.isEnded) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(raw.reader.isEnded).toBe(true);
  });
});

describe.runIf(process.platform === 'linux')('protocol v2 timeouts of sends written at different times', () => {
  it('every unacked send times out, whether written alone or with others, in one tick or the next', async () => {
    const path = join(dir, 'late.sock');
    await rawServer(path, true, async (socket, reader) => {
      expect(await reader.header()).toBe(HELLO);
      socket.write(word(REPLY_V2));
    });
    const socket = await client(path, { ackTimeoutMs: 80 });
    const first = [socket.sendMessage('a'), socket.sendMessage('b')];
    await new Promise((resolve) => setImmediate(resolve));
    const second = [socket.sendMessage('c')];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const third = [socket.sendMessage('d'), socket.sendMessage('e')];
    const outcomes = await Promise.allSettled([...first, ...second, ...third]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'ok'))).toEqual(
      Array.from({ length: 5 }, () => 'IPCEZ_ERR_ACK_TIMEOUT'),
    );
  });
});
