import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { leftoverSemaphores } from './helpers/cli.js';
import { openSignalPair } from '@ipcez/ack';
import { connect, listen } from 'ipcez';
import type { MessageResult, Server, Socket } from 'ipcez';

const isWindows = process.platform === 'win32';
const local = isWindows ? ({ target: 'local', os: 'windows' } as const) : ({ target: 'local', os: 'linux' } as const);
const PEER = fileURLToPath(new URL('./fixtures/peer.mjs', import.meta.url));
const text = (m: Uint8Array): string => new TextDecoder().decode(m);

interface Variant {
  readonly name: string;
  readonly transport: 'unix' | 'pipe' | 'ws';
  readonly ack: boolean;
  endpoint(): string;
}

let dir: string | undefined;
function localEndpoint(): string {
  if (isWindows) return `ipcez-facade-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  dir ??= mkdtempSync(join(tmpdir(), 'ipcez-f-'));
  return join(dir, `${Math.random().toString(36).slice(2, 8)}.sock`);
}

const variants: Variant[] = [
  {
    name: isWindows ? 'named pipe with acks' : 'unix socket with acks',
    transport: isWindows ? 'pipe' : 'unix',
    ack: true,
    endpoint: localEndpoint,
  },
  {
    name: isWindows ? 'named pipe without acks' : 'unix socket without acks',
    transport: isWindows ? 'pipe' : 'unix',
    ack: false,
    endpoint: localEndpoint,
  },
  { name: 'websocket', transport: 'ws', ack: false, endpoint: () => 'ws://127.0.0.1:0/facade' },
];

const open: (Socket | Server)[] = [];
const children: ChildProcess[] = [];
const afterCleanups: (() => Promise<void>)[] = [];
afterAll(() => {
  expect(leftoverSemaphores('ipcez-f-')).toEqual([]);
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const o of open.splice(0).reverse()) await ('disconnect' in o ? o.disconnect() : o.close());
  for (const c of afterCleanups.splice(0)) await c();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function pair(v: Variant): Promise<{ server: Server; client: Socket; accepted: Socket }> {
  const opts = v.transport === 'ws' ? {} : { ...local, ack: v.ack };
  const server = await listen(v.endpoint(), opts);
  open.push(server);
  const acceptedP = new Promise<Socket>((resolve) => {
    server.connectionHandler(resolve);
  });
  const client = await connect(server.endpoint, opts);
  open.push(client);
  const accepted = await acceptedP;
  return { server, client, accepted };
}

function collect(socket: Socket): { results: MessageResult[]; next: (n: number) => Promise<void> } {
  const results: MessageResult[] = [];
  let wake: (() => void) | undefined;
  socket.messageHandler((r) => {
    results.push(r);
    wake?.();
  });
  return {
    results,
    async next(n) {
      while (results.length < n) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}

async function startPeer(args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const env = { ...process.env, ...local };
  const child = spawn(process.execPath, [PEER, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const rl = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([
    once(rl, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`peer exited with ${String(code)}`);
    }),
  ])) as [string];
  return { child, line };
}

/** The listening OS server handle (net, http) behind an endpoint, to make it fail on purpose. */
function listeningHandle(endpoint: string): EventEmitter {
  const handles = (process as unknown as { _getActiveHandles: () => unknown[] })._getActiveHandles();
  const port = endpoint.startsWith('ws') ? Number(new URL(endpoint).port) : undefined;
  const dirOf = endpoint.slice(0, endpoint.lastIndexOf('/') + 1);
  for (const handle of handles) {
    const server = handle as { address?: () => unknown; listening?: boolean } & EventEmitter;
    if (typeof server.address !== 'function' || server.listening !== true) continue;
    const address = server.address();
    if (
      port !== undefined
        ? (address as { port?: number } | null)?.port === port
        : address === endpoint || (typeof address === 'string' && address.startsWith(`${dirOf}.ipcez-`))
    ) {
      return server;
    }
  }
  throw new Error(`no listening handle for ${endpoint}`);
}

// Real sockets, child processes, and (on the Windows lane) wine: generous bounds stop hangs only.
describe.each(variants)('facade over $name', { timeout: 30_000 }, (v) => {
  it('reports the transport, the resolved endpoint and whether acks are on', async () => {
    const { server, client, accepted } = await pair(v);
    expect(client.transport).toBe(v.transport);
    expect(accepted.transport).toBe(v.transport);
    expect(server.transport).toBe(v.transport);
    expect(client.isAcked).toBe(v.ack);
    expect(server.isAcked).toBe(v.ack);
    expect(client.endpoint).toBe(server.endpoint);
    expect(client.state).toBe('open');
    expect(client.bufferedAmount).toBe(0);
  });

  it('delivers messages in order, then exactly one ConnectionLostError when the peer disconnects, then nothing', async () => {
    const { client, accepted } = await pair(v);
    const inbox = collect(accepted);
    const sends = Array.from({ length: 200 }, (_, i) => client.sendMessage(`m${i}`));
    await Promise.all(sends);
    await inbox.next(200);
    await client.disconnect();
    await inbox.next(201);
    await new Promise((r) => setTimeout(r, 50));
    expect(inbox.results.slice(0, 200).map((r) => (r.ok ? text(r.message) : 'ERR'))).toEqual(
      sends.map((_, i) => `m${i}`),
    );
    expect(inbox.results).toHaveLength(201);
    const last = inbox.results[200]!;
    expect(last.ok).toBe(false);
    expect(!last.ok && last.error.code).toBe('IPCEZ_ERR_CONNECTION_LOST');
  });

  it('keeps messages that arrive before a handler is set', async () => {
    const { client, accepted } = await pair(v);
    await client.sendMessage('early 1');
    await client.sendMessage(new Uint8Array([0, 1, 2]));
    await new Promise((r) => setTimeout(r, 50));
    const inbox = collect(accepted);
    await inbox.next(2);
    expect(inbox.results.map((r) => (r.ok ? Array.from(r.message) : null))).toEqual([
      Array.from(new TextEncoder().encode('early 1')),
      [0, 1, 2],
    ]);
  });

  it('sends strings as UTF-8 and supports async iteration and await using', async () => {
    const { client, accepted } = await pair(v);
    await client.sendMessage('héllo ✓');
    await client.sendMessage('');
    const got: string[] = [];
    for await (const m of accepted) {
      got.push(text(m));
      if (got.length === 2) break;
    }
    expect(got).toEqual(['héllo ✓', '']);
    {
      await using scoped = client;
      expect(scoped.state).toBe('open');
    }
    expect(client.state).toBe('closed');
  });

  it('makes disconnect idempotent and rejects later sends with ConnectionLostError', async () => {
    const { client } = await pair(v);
    const first = client.disconnect();
    expect(client.disconnect()).toBe(first);
    await first;
    await expect(client.sendMessage('late')).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
  });

  it('closes accepted sockets when the server closes, idempotently, and ends server iteration', async () => {
    const { server, client } = await pair(v);
    const inbox = collect(client);
    const closing = server.close();
    expect(server.close()).toBe(closing);
    await closing;
    await inbox.next(1);
    expect(inbox.results[0]).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_CONNECTION_LOST' } });
    await expect(client.sendMessage('after')).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
  });

  it('rejects connect with the abort reason when the signal is already aborted', async () => {
    const reason = new Error('changed my mind');
    const opts = v.transport === 'ws' ? {} : local;
    await expect(connect(v.endpoint(), { ...opts, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('rejects a message that is neither bytes nor a string, synchronously', async () => {
    const { client } = await pair(v);
    expect(() => client.sendMessage(42 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
  });

  it('rejects a connection handler that is not a function, synchronously', async () => {
    const server = await listen(v.endpoint(), v.transport === 'ws' ? {} : { ...local, ack: v.ack });
    open.push(server);
    expect(() => {
      server.connectionHandler('not a function' as unknown as () => void);
    }).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error);
  });

  it('describes a null-prototype object in the invalid-argument error instead of crashing', async () => {
    const { client } = await pair(v);
    expect(() => client.sendMessage(Object.create(null) as string)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
  });

  it('ends server iteration with the error of a listener that fails after it started, and releases the endpoint', async () => {
    const endpoint = v.endpoint();
    const server = await listen(endpoint, v.transport === 'ws' ? {} : { ...local, ack: v.ack });
    open.push(server);
    const injected = Object.assign(new Error('accept EMFILE (injected)'), { code: 'EMFILE', syscall: 'accept' });
    const handle = listeningHandle(server.endpoint);
    const iterating = (async () => {
      for await (const socket of server) open.push(socket);
    })();
    handle.emit('error', injected);
    const error = await iterating.then(
      () => undefined,
      (e: unknown) => e as { code?: string; cause?: unknown },
    );
    expect(error, 'iteration must end with the failure').toBeDefined();
    expect(error!.code).toBe('IPCEZ_ERR_IO');
    expect(error!.cause).toBe(injected);
    await expect.poll(() => server.isListening).toBe(false);
    if (!isWindows && v.transport !== 'ws') {
      await expect.poll(() => leftoverSemaphores(endpoint.slice(tmpdir().length + 1))).toEqual([]);
    }
  });

  it('rejects a send over the size limit with FrameTooLargeError and stays usable', async () => {
    const { client, accepted } = await pair(v);
    const inbox = collect(accepted);
    await expect(client.sendMessage(new Uint8Array(4 * 1024 * 1024 + 1))).rejects.toMatchObject({
      code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
      size: 4 * 1024 * 1024 + 1,
    });
    await client.sendMessage('still fine');
    await inbox.next(1);
    expect(inbox.results[0]!.ok && text(inbox.results[0]!.message)).toBe('still fine');
  });

  it('reports a client killed with SIGKILL as one ConnectionLostError, and later sends reject with it', async () => {
    const server = await listen(v.endpoint(), v.transport === 'ws' ? {} : { ...local, ack: v.ack });
    open.push(server);
    const acceptedP = new Promise<Socket>((resolve) => {
      server.connectionHandler(resolve);
    });
    const env = [server.endpoint, ...(v.ack || v.transport === 'ws' ? [] : ['--no-ack'])];
    const { child, line } = await startPeer(['connect', ...env]);
    expect(line).toBe('sent');
    const accepted = await acceptedP;
    const inbox = collect(accepted);
    await inbox.next(1);
    child.kill('SIGKILL');
    await inbox.next(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(inbox.results).toHaveLength(2);
    expect(inbox.results[0]!.ok && text(inbox.results[0]!.message)).toBe('hello from child');
    expect(inbox.results[1]).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_CONNECTION_LOST' } });
    await expect(accepted.sendMessage('to the dead')).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
  });

  it('reports a server killed with SIGKILL as one ConnectionLostError on the client', async () => {
    const args = ['listen', v.endpoint(), ...(v.ack || v.transport === 'ws' ? [] : ['--no-ack'])];
    const { child, line } = await startPeer(args);
    const endpoint = /^listening (.+)$/.exec(line)![1]!;
    if (v.transport !== 'ws') {
      // A listener killed with SIGKILL cannot unlink its signal pair (a restart would start it
      // fresh); remove it after the test as such a restart would.
      afterCleanups.push(async () => {
        const leftover = await openSignalPair(endpoint, { role: 'listener' });
        leftover.unlink();
        await leftover.close();
      });
    }
    const client = await connect(endpoint, v.transport === 'ws' ? {} : { ...local, ack: v.ack });
    open.push(client);
    const inbox = collect(client);
    await client.sendMessage('ping');
    await inbox.next(1);
    child.kill('SIGKILL');
    await inbox.next(2);
    expect(inbox.results[0]!.ok && text(inbox.results[0]!.message)).toBe('ping');
    expect(inbox.results[1]).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_CONNECTION_LOST' } });
    await expect(client.sendMessage('gone')).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
  });
});

describe('facade options', () => {
  it('refuses WebSocket-only options on a local endpoint, and subprotocols (ipcez sets them itself, for acks)', async () => {
    await expect(connect(localEndpoint(), { ...local, headers: { a: 'b' } })).rejects.toThrow(/WebSocket-only/);
    const subprotocols = { subprotocols: ['x'] } as Record<string, unknown>;
    await expect(connect('ws://127.0.0.1:1/x', subprotocols)).rejects.toMatchObject({ code: 'IPCEZ_ERR_INVALID_ARG' });
    await expect(listen('ws://127.0.0.1:0/x', subprotocols)).rejects.toMatchObject({ code: 'IPCEZ_ERR_INVALID_ARG' });
  });

  it('closes the server when the listen signal aborts after it is ready: socket file and signal pair removed, in order', async () => {
    const endpoint = localEndpoint();
    const controller = new AbortController();
    const server = await listen(endpoint, { ...local, signal: controller.signal });
    open.push(server);
    const client = await connect(server.endpoint, local);
    open.push(client);
    const inbox = collect(client);
    expect(server.isListening).toBe(true);
    controller.abort();
    await inbox.next(1);
    expect(inbox.results[0]).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_CONNECTION_LOST' } });
    await server.close();
    expect(server.isListening).toBe(false);
    if (!isWindows) {
      const { existsSync } = await import('node:fs');
      expect(existsSync(endpoint)).toBe(false);
      expect(leftoverSemaphores(endpoint.slice(tmpdir().length + 1))).toEqual([]);
    }
  });

  it('rejects listen with the abort reason when the signal is already aborted, leaving nothing behind', async () => {
    const endpoint = localEndpoint();
    const reason = new Error('no thanks');
    await expect(listen(endpoint, { ...local, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    if (!isWindows) {
      const { existsSync } = await import('node:fs');
      expect(existsSync(endpoint)).toBe(false);
    }
  });

  it('refuses a non-positive ackTimeoutMs', async () => {
    await expect(connect(localEndpoint(), { ...local, ackTimeoutMs: 0 })).rejects.toMatchObject({
      code: 'IPCEZ_ERR_INVALID_ARG',
    });
  });

  it('refuses to listen where a live server already answers, and leaves it working', async () => {
    const endpoint = localEndpoint();
    const server = await listen(endpoint, local);
    open.push(server);
    await expect(listen(endpoint, local)).rejects.toMatchObject({ code: 'IPCEZ_ERR_ENDPOINT_IN_USE' });
    // The refused listen probed the live server with a real connect: that is one accepted
    // socket that ends at once. Every accepted socket is watched; the real client's message
    // must arrive, acked, on one of them.
    const got: string[] = [];
    server.connectionHandler((socket) => {
      socket.messageHandler((r) => {
        if (r.ok) got.push(text(r.message));
      });
    });
    const client = await connect(server.endpoint, local);
    open.push(client);
    await client.sendMessage('still served, acks intact');
    await expect.poll(() => got).toEqual(['still served, acks intact']);
  });
});

describe.runIf(isWindows)('detection on Windows', { timeout: 30_000 }, () => {
  it('uses named pipes with os=windows, and with OS=Windows_NT alone', async () => {
    const savedTarget = process.env['target'];
    const savedOs = process.env['os'];
    try {
      process.env['target'] = 'local';
      process.env['os'] = 'windows';
      const a = await listen(localEndpoint());
      open.push(a);
      expect(a.transport).toBe('pipe');
      expect(a.endpoint).toMatch(/^\\\\\.\\pipe\\ipcez-facade-/);
      // Windows env names are case-insensitive: setting OS sets os.
      process.env['OS'] = 'Windows_NT';
      expect(process.env['os']).toBe('Windows_NT');
      const b = await listen(localEndpoint());
      open.push(b);
      expect(b.transport).toBe('pipe');
      const client = await connect(b.endpoint);
      open.push(client);
      expect(client.transport).toBe('pipe');
    } finally {
      process.env['target'] = savedTarget;
      process.env['OS'] = savedOs ?? 'Windows_NT';
    }
  });
});
