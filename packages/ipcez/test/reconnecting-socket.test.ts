import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectReconnecting, listen } from 'ipcez';
import type { ReconnectingConnectOptions, ReconnectingSocket } from 'ipcez';
import { leftoverSemaphores } from './helpers/cli.js';
import { startEchoServer } from './helpers/peer-process.js';

const local = { target: 'local', os: 'linux' } as const;
let dir: string;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
  // A server killed with SIGKILL cannot unlink its signals (a listener restarted on the path
  // would reclaim them; the last one killed leaves them): remove what this test's path left.
  for (const name of leftoverSemaphores(dir.slice(tmpdir().length + 1))) unlinkSync(join('/dev/shm', name));
});
const text = (m: Uint8Array): string => new TextDecoder().decode(m);

/** Collects messages and resolves waiters as they arrive. */
function inbox(socket: ReconnectingSocket): {
  got: string[];
  until: (n: number) => Promise<void>;
  ended: Promise<Error>;
} {
  const got: string[] = [];
  let wake: (() => void) | undefined;
  let end: ((e: Error) => void) | undefined;
  const ended = new Promise<Error>((resolve) => (end = resolve));
  socket.messageHandler((r) => {
    if (r.ok) got.push(text(r.message));
    else end?.(r.error);
    wake?.();
  });
  return {
    got,
    ended,
    async until(n) {
      while (got.length < n) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}

/**
 * Kills the server (SIGKILL) and waits until the client lost it for good: reconnecting to a
 * path where nothing listens (or already given up). A reconnect may still have reached the listening socket in the instant
 * before the kernel closed it (then "back" and "lost" once more): that plays out first.
 */
async function killAndSettle(server: { kill: () => Promise<void> }, socket: ReconnectingSocket): Promise<void> {
  await server.kill();
  await new Promise((resolve) => setTimeout(resolve, 50));
  while (socket.state === 'open') await new Promise((resolve) => setTimeout(resolve, 5));
}

/** An echo server in a child process (acks off) and a reconnecting client of it. */
async function echoAndClient(
  options: ReconnectingConnectOptions,
): Promise<{ server: Awaited<ReturnType<typeof startEchoServer>>; socket: ReconnectingSocket }> {
  dir = mkdtempSync(join(tmpdir(), 'ipcez-reconnect-'));
  const path = join(dir, 's.sock');
  const server = await startEchoServer(path, ['--no-ack']);
  cleanups.push(() => server.kill());
  const socket = await connectReconnecting(path, { ...local, ack: false, ...options });
  return { server, socket };
}

describe.runIf(process.platform === 'linux')(
  'connectReconnecting against a server killed (SIGKILL) and restarted',
  { timeout: 20_000 },
  () => {
    for (const ack of [false, true]) {
      it(`waits while down, sends in order once back, reports loss and reconnect (acks ${ack ? 'on' : 'off'})`, async () => {
        dir = mkdtempSync(join(tmpdir(), 'ipcez-reconnect-'));
        const path = join(dir, 's.sock');
        const flags = ack ? [] : ['--no-ack'];
        let server = await startEchoServer(path, flags);
        cleanups.push(() => server.kill());
        const events: string[] = [];
        const socket = await connectReconnecting(path, {
          ...local,
          ack,
          reconnect: { attempts: 100, minDelayMs: 10, maxDelayMs: 100 },
          onDisconnect: (e) => events.push(`lost ${e.code}`),
          onReconnect: () => events.push('back'),
        });
        cleanups.push(() => socket.disconnect());
        const box = inbox(socket);
        await socket.sendMessage('one');
        await box.until(1);

        await killAndSettle(server, socket);
        expect(events.join(',')).toMatch(/^(lost IPCEZ_ERR_CONNECTION_LOST,back,)*lost IPCEZ_ERR_CONNECTION_LOST$/);
        const before = events.length;
        // Made while disconnected: they wait, then go out in order on the new connection.
        const waiting = ['two', 'three', 'four'].map((m) => socket.sendMessage(m));
        expect(socket.bufferedAmount).toBe(12);
        server = await startEchoServer(path, flags);
        await Promise.all(waiting);
        await box.until(4);
        expect(box.got).toEqual(['one', 'two', 'three', 'four']);
        expect(events.slice(before)).toEqual(['back']);
        expect(socket.reconnects).toBe(events.filter((e) => e === 'back').length);
        expect(socket.state).toBe('open');
      });
    }

    it('rejects sends in flight at the moment of loss with ConnectionLostError and never sends them again', async () => {
      dir = mkdtempSync(join(tmpdir(), 'ipcez-reconnect-'));
      const path = join(dir, 's.sock');
      // An in-process server that reads nothing: sends pile up in flight (written or queued).
      let server = await listen(path, { ...local, ack: false });
      const accepted: string[][] = [];
      const hold = (s: typeof server): void => {
        s.connectionHandler((socket) => {
          const seen: string[] = [];
          accepted.push(seen);
          socket.messageHandler((r) => {
            if (r.ok) seen.push(text(r.message));
          });
        });
      };
      hold(server);
      cleanups.push(() => server.close());
      const socket = await connectReconnecting(path, {
        ...local,
        ack: false,
        highWaterMark: 1024,
        reconnect: { attempts: 100, minDelayMs: 10, maxDelayMs: 50 },
      });
      cleanups.push(() => socket.disconnect());
      inbox(socket);
      const big = new Uint8Array(512 * 1024);
      // Large enough that most of these are still queued when the server goes away.
      const inFlight = Array.from({ length: 40 }, () =>
        socket.sendMessage(big).then(
          () => 'sent',
          (e: unknown) => e,
        ),
      );
      await server.close();
      const outcomes = await Promise.all(inFlight);
      const failed = outcomes.filter((o) => o !== 'sent');
      expect(failed.length).toBeGreaterThan(0);
      for (const e of failed) expect(e).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
      server = await listen(path, { ...local, ack: false });
      hold(server);
      await socket.sendMessage('after');
      while (accepted.length < 2 || accepted[1]!.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
      // The new connection got only what was sent after the reconnect: nothing twice.
      expect(accepted[1]).toEqual(['after']);
    });

    it('gives up after the configured attempts with one ReconnectFailedError; waiting and later sends reject with it', async () => {
      const { server, socket } = await echoAndClient({
        reconnect: { attempts: 3, minDelayMs: 5, maxDelayMs: 10, sendTimeoutMs: 10_000 },
      });
      const box = inbox(socket);
      await killAndSettle(server, socket);
      const waiting = socket.sendMessage('never').catch((e: unknown) => e);
      const terminal = await box.ended;
      expect(terminal).toMatchObject({ code: 'IPCEZ_ERR_RECONNECT_FAILED', attempts: 3 });
      expect(terminal.cause).toMatchObject({ code: 'IPCEZ_ERR_IO' });
      expect(await waiting).toBe(terminal);
      await expect(socket.sendMessage('later')).rejects.toBe(terminal);
      expect(socket.state).toBe('closed');
      await socket.disconnect();
    });

    it('rejects a waiting send with SendTimeoutError after sendTimeoutMs, and past the high-water mark at once', async () => {
      const { server, socket } = await echoAndClient({
        highWaterMark: 10,
        reconnect: { attempts: Infinity, minDelayMs: 5, maxDelayMs: 20, sendTimeoutMs: 100 },
      });
      cleanups.push(() => socket.disconnect());
      inbox(socket);
      await server.kill();
      while (socket.state !== 'reconnecting') await new Promise((resolve) => setTimeout(resolve, 5));
      const first = socket.sendMessage('12345678').catch((e: unknown) => e);
      await expect(socket.sendMessage('abcdef')).rejects.toMatchObject({ code: 'IPCEZ_ERR_SEND_BUFFER_FULL' });
      expect(await first).toMatchObject({ code: 'IPCEZ_ERR_SEND_TIMEOUT', timeoutMs: 100 });
      expect(socket.bufferedAmount).toBe(0);
      // disconnect() while reconnecting ends it with a local-close ConnectionLostError.
      await socket.disconnect();
      await expect(socket.sendMessage('x')).rejects.toMatchObject({
        code: 'IPCEZ_ERR_CONNECTION_LOST',
        reason: 'local-close',
      });
    });

    it('can be read with for await, across a restart, ending normally on disconnect()', async () => {
      const { server, socket } = await echoAndClient({ reconnect: { attempts: 100, minDelayMs: 5, maxDelayMs: 20 } });
      const seen: string[] = [];
      const reading = (async () => {
        for await (const message of socket) {
          seen.push(text(message));
          if (seen.length === 2) void socket.disconnect();
        }
      })();
      await socket.sendMessage('first');
      while (seen.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
      await killAndSettle(server, socket);
      const restarted = await startEchoServer(socket.endpoint, ['--no-ack']);
      cleanups.push(() => restarted.kill());
      await socket.sendMessage('second');
      await reading;
      expect(seen).toEqual(['first', 'second']);
      expect(socket.state).toBe('closed');
    });

    it('validates its options synchronously', async () => {
      dir = mkdtempSync(join(tmpdir(), 'ipcez-reconnect-'));
      const path = join(dir, 's.sock');
      for (const reconnect of [0, { attempts: 0 }, { sendTimeoutMs: 0 }, 'x']) {
        await expect(connectReconnecting(path, { ...local, reconnect: reconnect as never })).rejects.toMatchObject({
          code: 'IPCEZ_ERR_INVALID_ARG',
        });
      }
    });
  },
);
