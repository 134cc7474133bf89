import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, listen } from 'ipcez';
import type { Server, Socket } from 'ipcez';

// examples/python-peer: a command-line peer built on the Python binding (bindings/python).
const PEER = fileURLToPath(new URL('../../../examples/python-peer/ipcez_peer.py', import.meta.url));
const local = { target: 'local', os: 'linux' } as const;
const hasPython = process.platform === 'linux' && spawnSync('python3', ['--version']).status === 0;
const text = (m: Uint8Array): string => new TextDecoder().decode(m);
/**
 * An interpreter whose Python has the websockets package (the binding's WebSocket support):
 * scripts/system-deps.sh installs python3-websockets for /usr/bin/python3.
 */
const pythonWithWebsockets = ['python3', '/usr/bin/python3'].find(
  (python) => hasPython && spawnSync(python, ['-c', 'import websockets']).status === 0,
);

let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a peer command to its end: its exit code, stdout and stderr. */
async function runPeer(python: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const child = spawn(python, [PEER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit') as Promise<[number]>;
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = await exited;
  return { code, out, err };
}

/**
 * Serves `endpoint` with an echo (each echo a send that waits for acks where this listener's
 * are on), has the Python peer send `messages` and read the echoes, and checks it printed them
 * all and exited 0. Resolves with the ack mode of each accepted socket.
 */
async function echoThroughPeer(
  python: string,
  endpoint: string,
  options: Record<string, unknown>,
  messages: string[],
  ackTimeoutSeconds: number,
): Promise<{ server: Server; modes: string[] }> {
  const server = await listen(endpoint, options);
  cleanups.push(() => server.close());
  const seen: string[] = [];
  const modes: string[] = [];
  server.connectionHandler((socket) => {
    modes.push(socket.ackMode);
    socket.messageHandler((r) => {
      if (!r.ok) return;
      seen.push(text(r.message));
      void socket.sendMessage(r.message).catch(() => undefined);
    });
  });
  const peerArgs = ['send', server.endpoint, ...messages, '--replies', String(messages.length)];
  const { code, out, err } = await runPeer(python, [...peerArgs, '--ack-timeout', String(ackTimeoutSeconds)]);
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(out.trimEnd().split('\n')).toEqual(messages);
  expect(seen).toEqual(messages);
  return { server, modes };
}

function semaphoresFor(path: string): string[] {
  const escaped = path.replaceAll('%', '%25').replaceAll('_', '%5F').replaceAll('/', '_');
  return readdirSync('/dev/shm').filter((f) => f.startsWith(`sem.ipcez${escaped}.`));
}

describe.runIf(hasPython)(
  'the Python example peer (built on the Python binding) speaks the wire format and the ack protocol',
  { timeout: 30_000 },
  () => {
    it('sends to an ipcez listener and reads the echoes, with acks both ways', async () => {
      dir = mkdtempSync(join(tmpdir(), 'ipcez-py-'));
      const path = join(dir, 'node.sock');
      const messages = Array.from({ length: 50 }, (_, i) => `py-${i}-${'é'.repeat(i % 5)}`);
      // Each echo is an acked send: it resolves only once the Python side acked it.
      const { server, modes } = await echoThroughPeer('python3', path, local, messages, 5);
      // The Python binding speaks protocol v2: it found the listener's marker and said HELLO.
      expect(modes).toEqual(['v2']);
      // The listener's seed pair and v2 marker; the v2 client opened nothing.
      expect(semaphoresFor(path)).toHaveLength(3);
      await server.close();
      expect(semaphoresFor(path)).toEqual([]);
      expect(existsSync(path)).toBe(false);
    });

    it.each(['v2', 'seed'] as const)(
      'connects to a Python listener and every acked send is echoed (%s)',
      async (mode) => {
        dir = mkdtempSync(join(tmpdir(), 'ipcez-py-'));
        const path = join(dir, 'py.sock');
        // Pipelined acked sends to a sequential echo peer: the last send's ack waits for the
        // peer to get through every message before it, so the bound is generous.
        const count = 100;
        const child = spawn('python3', [PEER, 'listen', path, '--count', String(count)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const exited = once(child, 'exit') as Promise<[number]>;
        cleanups.push(() => {
          if (child.exitCode === null) child.kill('SIGKILL');
        });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
        expect(line).toBe(`listening ${path}`);
        if (mode === 'seed') {
          // Without the listener's v2 marker the client speaks the seed protocol, as with a
          // peer that implements only that: acks through the endpoint's named semaphores.
          const marker = semaphoresFor(path).find((f) => f.endsWith('.v2'));
          expect(marker).toBeDefined();
          rmSync(join('/dev/shm', marker!));
        }
        const socket: Socket = await connect(path, { ...local, ackTimeoutMs: 20_000 });
        cleanups.push(() => socket.disconnect());
        expect([socket.ackMode, socket.isAcked]).toEqual([mode, true]);
        const echoes: string[] = [];
        socket.messageHandler((r) => {
          if (r.ok) echoes.push(text(r.message));
        });
        const sent = Array.from({ length: count }, (_, i) => `node-${i}`);
        // Many sends in flight at once: every one must be acked by the Python reader.
        await Promise.all(sent.map((m) => socket.sendMessage(m)));
        await expect.poll(() => echoes.length, { timeout: 10_000 }).toBe(count);
        expect(echoes).toEqual(sent);
        const [code] = await exited;
        expect(err).toBe('');
        expect(code).toBe(0);
        // The Python listener unlinked its pair (and marker) and removed its socket file.
        expect(semaphoresFor(path)).toEqual([]);
        expect(existsSync(path)).toBe(false);
      },
    );

    describe('over WebSocket, acks with the ipcez.v2 subprotocol (docs/PROTOCOL.md §5.6)', () => {
      function python(): string {
        expect(
          pythonWithWebsockets,
          'no python3 here has the websockets package: run scripts/system-deps.sh',
        ).toBeDefined();
        return pythonWithWebsockets!;
      }

      it('a Python client with acks on talks v2 to a TypeScript listener, acks both ways', async () => {
        dir = mkdtempSync(join(tmpdir(), 'ipcez-py-'));
        // The listener's own `ack` is off (the WebSocket default): it acks what it reads all the
        // same, and its echoes do not wait.
        const messages = Array.from({ length: 50 }, (_, i) => `ws-py-${i}-${'é'.repeat(i % 3)}`);
        const { modes } = await echoThroughPeer(python(), 'ws://127.0.0.1:0/py', {}, messages, 10);
        expect(modes).toEqual(['v2']);
      });

      it('a TypeScript client with ack: true talks v2 to a Python listener; every acked send is echoed', async () => {
        dir = mkdtempSync(join(tmpdir(), 'ipcez-py-'));
        const count = 100;
        const child = spawn(python(), [PEER, 'listen', 'ws://127.0.0.1:0/py', '--count', String(count)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const exited = once(child, 'exit') as Promise<[number]>;
        cleanups.push(() => {
          if (child.exitCode === null) child.kill('SIGKILL');
        });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
        expect(line).toMatch(/^listening ws:\/\/127\.0\.0\.1:\d+\/py$/);
        const socket = await connect(line.slice('listening '.length), { ack: true, ackTimeoutMs: 20_000 });
        cleanups.push(() => socket.disconnect());
        expect([socket.ackMode, socket.isAcked]).toEqual(['v2', true]);
        const echoes: string[] = [];
        socket.messageHandler((r) => {
          if (r.ok) echoes.push(text(r.message));
        });
        const sent = Array.from({ length: count }, (_, i) => `node-ws-${i}`);
        // Many acked sends in flight: each resolves on the Python reader's "ack <n>"; the Python
        // listener's echoes are acked sends too, resolved by this side's acks.
        await Promise.all(sent.map((m) => socket.sendMessage(m)));
        await expect.poll(() => echoes.length, { timeout: 10_000 }).toBe(count);
        expect(echoes).toEqual(sent);
        const [code] = await exited;
        expect(err).toBe('');
        expect(code).toBe(0);
      });
    });
  },
);
