import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, listen } from 'ipcez';
import { createRpcConnection, ResponseError } from '@ipcez/rpc';
import { local } from './helpers.js';

// A second, independent JSON-RPC 2.0 implementation: Python, standard library only, speaking
// raw JSON over ipcez frames (4-byte big-endian length + payload) on a Unix socket, no acks.
const PEER = fileURLToPath(new URL('fixtures/jsonrpc_peer.py', import.meta.url));
const hasPython = process.platform === 'linux' && spawnSync('python3', ['--version']).status === 0;

let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

function runPython(
  mode: 'server' | 'client',
  path: string,
): { lines: string[]; ready: Promise<void>; exited: Promise<number | null> } {
  const child = spawn('python3', [PEER, mode, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  let onReady: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'ready') onReady?.();
    else lines.push(line);
  });
  const exited = (once(child, 'exit') as Promise<[number | null]>).then(([code]) => {
    if (code !== 0) throw new Error(`python exited with ${String(code)}: ${stderr}`);
    return code;
  });
  return { lines, ready, exited };
}

describe.runIf(hasPython)('@ipcez/rpc against an independent Python JSON-RPC peer', { timeout: 20_000 }, () => {
  it('as a client of the Python server: many requests in flight, errors, notifications, a request back', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipcez-rpc-py-'));
    const path = join(dir, 'py.sock');
    const python = runPython('server', path);
    await python.ready;
    const socket = await connect(path, { ...local, ack: false });
    const rpc = createRpcConnection(socket);
    rpc.onRequest('ping', (params) => ({ pong: params }));

    const sums = await Promise.all(Array.from({ length: 30 }, (_, i) => rpc.request('add', [i, i, 1])));
    expect(sums).toEqual(Array.from({ length: 30 }, (_, i) => 2 * i + 1));
    expect(await rpc.request('echo', { nested: ['é', 1, null] })).toEqual({ nested: ['é', 1, null] });
    const failure = await rpc.request('fail', ['why']).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ResponseError);
    expect(failure).toMatchObject({ rpcCode: 42, message: 'it failed', data: ['why'] });
    await expect(rpc.request('unknown')).rejects.toMatchObject({ rpcCode: -32601 });
    // Python requests back (string id "py-1") before it answers.
    expect(await rpc.request('callback', ['hi'])).toEqual({ 'node said': { pong: ['hi'] } });
    await rpc.notify('tell', { n: 1 });
    await rpc.close();
    await python.exited;
    expect(python.lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { notification: 'tell', params: { n: 1 } },
    ]);
  });

  it('as the server of the Python client: replies, errors, parse errors, invalid requests, batches', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipcez-rpc-py-'));
    const path = join(dir, 'node.sock');
    const server = await listen(path, { ...local, ack: false });
    cleanups.push(() => server.close());
    const logged: unknown[] = [];
    server.connectionHandler((socket) => {
      const rpc = createRpcConnection(socket);
      rpc.onRequest('add', (params) => (params as number[]).reduce((a, b) => a + b, 0));
      rpc.onRequest('greet', async (params) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return `hello ${(params as { name: string }).name}`;
      });
      rpc.onRequest('boom', () => {
        throw new Error('boom failed');
      });
      rpc.onNotification('log', (params) => logged.push(params));
    });
    const python = runPython('client', path);
    await python.exited;
    const replies = python.lines.map((line) => JSON.parse(line) as unknown);
    expect(replies).toEqual([
      { jsonrpc: '2.0', id: 1, result: 6 },
      { jsonrpc: '2.0', id: 'two', result: 'hello py' },
      { jsonrpc: '2.0', id: 3, error: { code: -32601, message: 'Method not found: nope' } },
      { jsonrpc: '2.0', id: 4, error: { code: -32603, message: 'boom failed' } },
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.any(String) as unknown } },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String) as unknown } },
      [
        { jsonrpc: '2.0', id: 5, result: 30 },
        { jsonrpc: '2.0', id: 6, error: { code: -32601, message: 'Method not found: nope' } },
        { jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String) as unknown } },
      ],
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String) as unknown } },
    ]);
    expect(logged).toEqual([['from python'], ['in a batch']]);
  });
});
