// A graceful disconnect()/close() with acks on (RELIABILITY.md, "Guaranteed"): it stops new
// sends, flushes what was accepted, waits (bounded) for the acks still pending, and rejects
// only what the peer did not confirm. A caller that retries rejected sends must never send
// twice what the peer had read. Linux (POSIX semaphores; seed mode is forced by removing the
// endpoint's v2 marker before the client connects).
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveSignalNames } from '@ipcez/ack';
import { connect, listen } from 'ipcez';
import type { Server, Socket } from 'ipcez';
import { leftoverSemaphores } from './helpers/cli.js';
import { startRawServer } from './helpers/raw-server.js';

const local = { target: 'local', os: 'linux' } as const;
const COUNT = 2000;
const HELLO = 0x8100_0002;
const REPLY_V2 = 0x8200_0002;
const ack = (n: number): number => (0x8300_0000 | n) >>> 0;

function word(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

let dir = '';
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcez-close-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  const prefix = dir.slice(tmpdir().length + 1);
  rmSync(dir, { recursive: true, force: true });
  expect(leftoverSemaphores(prefix)).toEqual([]);
});

async function server(path: string, options: Parameters<typeof listen>[1] = {}): Promise<Server> {
  const started = await listen(path, { ...local, ...options });
  cleanups.push(() => started.close());
  return started;
}

async function client(path: string, options: Parameters<typeof connect>[1] = {}): Promise<Socket> {
  const socket = await connect(path, { ...local, ...options });
  cleanups.push(() => socket.disconnect());
  return socket;
}

/** Every message a socket reads, as text, in order. */
function collect(socket: Socket): string[] {
  const read: string[] = [];
  socket.messageHandler((result) => {
    if (result.ok) read.push(Buffer.from(result.message).toString());
  });
  return read;
}

/** Removes the endpoint's protocol v2 marker, so that clients connecting now use seed mode. */
function hideV2Marker(path: string): void {
  const marker = deriveSignalNames(path, 'linux').marker;
  unlinkSync(`/dev/shm/sem.${marker.slice(1)}`);
}

/**
 * Sends COUNT messages without waiting, then closes at once. Returns what happened to each
 * send: 'ok', or the error code it rejected with.
 */
async function sendThenClose(sender: Socket, close: () => Promise<void>): Promise<string[]> {
  const sends = Array.from({ length: COUNT }, (_, i) => sender.sendMessage(`m${i}`));
  const closed = close();
  const outcomes = await Promise.all(
    sends.map((send) =>
      send.then(
        () => 'ok',
        (error: unknown) => (error as { code?: string }).code ?? String(error),
      ),
    ),
  );
  await closed;
  return outcomes;
}

/** Waits until `read` holds `count` messages or the socket closed, bounded. */
async function settle(read: string[], count: number, socket: Socket): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (read.length < count && socket.state !== 'closed' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.runIf(process.platform === 'linux')('graceful close with acks on: nothing the peer read is rejected', () => {
  for (const mode of ['v2', 'seed'] as const) {
    it(`${mode}: disconnect() right after ${COUNT} sends resolves every send the server read`, async () => {
      const path = join(dir, 's.sock');
      const listener = await server(path);
      if (mode === 'seed') hideV2Marker(path);
      const accepted = new Promise<string[]>((resolve) => {
        listener.connectionHandler((socket) => {
          resolve(collect(socket));
        });
      });
      const sender = await client(path);
      expect(sender.ackMode).toBe(mode);
      const outcomes = await sendThenClose(sender, () => sender.disconnect());
      const read = await accepted;
      expect(read.length).toBe(COUNT);
      // Every send was read, so every send must have resolved: none rejected with local-close.
      expect(outcomes.filter((outcome) => outcome !== 'ok')).toEqual([]);
      expect(read).toEqual(Array.from({ length: COUNT }, (_, i) => `m${i}`));
    });

    it(`${mode}: server.close() right after ${COUNT} sends resolves every send the client read`, async () => {
      const path = join(dir, 's.sock');
      const listener = await server(path);
      if (mode === 'seed') hideV2Marker(path);
      const serverSide = new Promise<Socket>((resolve) => {
        listener.connectionHandler(resolve);
      });
      const receiver = await client(path);
      expect(receiver.ackMode).toBe(mode);
      const read = collect(receiver);
      const sender = await serverSide;
      const outcomes = await sendThenClose(sender, () => listener.close());
      await settle(read, COUNT, receiver);
      expect(read.length).toBe(COUNT);
      expect(outcomes.filter((outcome) => outcome !== 'ok')).toEqual([]);
    });
  }
});

describe.runIf(process.platform === 'linux')(
  'graceful close against a peer that acks only some frames (raw v2 server)',
  () => {
    it('the acked sends resolve, the rest reject with RecipientAckTimeoutError once their ack time runs out, and the close finishes', async () => {
      const path = join(dir, 'raw.sock');
      let bytesRead = 0;
      cleanups.push(
        await startRawServer(path, true, (socket: net.Socket) => {
          let isHelloDone = false;
          let isAcked = false;
          socket.on('data', (chunk: Buffer) => {
            bytesRead += chunk.length;
            if (!isHelloDone && bytesRead >= 4) {
              expect(chunk.readUInt32BE(0)).toBe(HELLO);
              isHelloDone = true;
              socket.write(word(REPLY_V2));
            }
            // HELLO (4 bytes) + frames "a" and "b" (5 bytes each): ack those two, never the third.
            if (!isAcked && bytesRead >= 14) {
              isAcked = true;
              socket.write(word(ack(2)));
            }
          });
          socket.on('end', () => socket.end());
        }),
      );
      const sender = await client(path, { ackTimeoutMs: 300 });
      expect(sender.ackMode).toBe('v2');
      const first = sender.sendMessage('a');
      const second = sender.sendMessage('b');
      await Promise.all([first, second]);
      const third = sender.sendMessage('c');
      const thirdOutcome = third.then(
        () => 'ok',
        (error: unknown) => (error as { code?: string }).code,
      );
      await sender.disconnect();
      expect(await thirdOutcome).toBe('IPCEZ_ERR_ACK_TIMEOUT');
      // New sends are refused once the close began.
      await expect(sender.sendMessage('d')).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
    });
  },
);
