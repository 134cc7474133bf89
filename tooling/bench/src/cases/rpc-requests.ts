// @ipcez/rpc requests per second against raw `sendMessage` ping-pong on the same transport, in
// the same run (issue #11), two processes (this one asks, a child process answers), over a Unix
// socket through the ipcez facade with acks off (so the figure is the JSON-RPC layer's cost):
//   - sequential: one request (or one raw message) in flight at a time, 64 B of payload;
//   - pipelined: WINDOW requests (or raw messages) in flight, each reply releasing the next.
// The raw side echoes the bytes; the rpc side answers `echo` with its params (a 64-character
// string in an array), so both carry about the same payload. Goal: rpc >= 0.7x raw. Rounds
// alternate raw and rpc, and each ratio is the median of per-round ratios (the machine is shared).
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createRpcConnection } from '@ipcez/rpc';
import type { RpcConnection } from '@ipcez/rpc';
import { connect } from 'ipcez';
import type { Socket } from 'ipcez';

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROUNDS = 5;
const SEQUENTIAL = 5_000;
const PIPELINED = 20_000;
const WINDOW = 64;

/** Serves `raw` (echo bytes) and `rpc` (JSON-RPC echo) on two sockets; prints "ready". */
const SERVER = `
import { listen } from 'ipcez';
import { createRpcConnection } from '@ipcez/rpc';
const [rawPath, rpcPath] = process.argv.slice(1);
const options = { target: 'local', os: 'linux', ack: false };
const raw = await listen(rawPath, options);
raw.connectionHandler((s) => s.messageHandler((r) => { if (r.ok) s.sendMessage(r.message).catch(() => {}); }));
const rpc = await listen(rpcPath, options);
rpc.connectionHandler((s) => createRpcConnection(s).onRequest('echo', (p) => p));
process.on('SIGTERM', () => { void Promise.all([raw.close(), rpc.close()]).then(() => process.exit(0)); });
process.stdout.write('ready\\n');
`;

type Child = ChildProcessByStdio<null, Readable, null>;

/** Raw round trips: resolves the waiter of the oldest outstanding message on each reply. */
function rawClient(socket: Socket): (message: Uint8Array) => Promise<void> {
  const waiters: (() => void)[] = [];
  socket.messageHandler((r) => {
    if (r.ok) waiters.shift()?.();
  });
  return (message) =>
    new Promise<void>((resolve, reject) => {
      waiters.push(resolve);
      socket.sendMessage(message).catch(reject);
    });
}

/** Round trips per second of `count` calls of `once`, `window` in flight. */
async function rate(count: number, window: number, once: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await once();
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  return count / ((performance.now() - start) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipcez-bench-rpc-'));
  const rawPath = path.join(dir, 'raw.sock');
  const rpcPath = path.join(dir, 'rpc.sock');
  const child: Child = spawn(process.execPath, ['--input-type=module', '-e', SERVER, rawPath, rpcPath], {
    cwd: benchDir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let rawSocket: Socket | undefined;
  let rpc: RpcConnection | undefined;
  try {
    await once(child.stdout, 'data');
    const options = { target: 'local', os: 'linux', ack: false } as const;
    rawSocket = await connect(rawPath, options);
    rpc = createRpcConnection(await connect(rpcPath, options));
    const rawOnce = rawClient(rawSocket);
    const payload = new Uint8Array(64).fill(0x61);
    const params = ['a'.repeat(64)];
    const rpcCall = rpc;
    const raw = (): Promise<void> => rawOnce(payload);
    const call = (): Promise<unknown> => rpcCall.request('echo', params);
    // Warm up both paths (JIT, socket buffers).
    await rate(2000, WINDOW, raw);
    await rate(2000, WINDOW, call);

    const rows: { name: string; raw: number[]; rpc: number[]; ratio: number[] }[] = [
      { name: `sequential (1 in flight, ${SEQUENTIAL})`, raw: [], rpc: [], ratio: [] },
      { name: `pipelined (${WINDOW} in flight, ${PIPELINED})`, raw: [], rpc: [], ratio: [] },
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [row, count, window] of [
        [rows[0]!, SEQUENTIAL, 1],
        [rows[1]!, PIPELINED, WINDOW],
      ] as const) {
        const rawFirst = round % 2 === 0;
        const a = rawFirst ? await rate(count, window, raw) : await rate(count, window, call);
        const b = rawFirst ? await rate(count, window, call) : await rate(count, window, raw);
        const [r, q] = rawFirst ? [a, b] : [b, a];
        row.raw.push(r);
        row.rpc.push(q);
        row.ratio.push(q / r);
      }
    }
    console.log('round trips/s over a Unix socket, acks off; goal: rpc >= 0.7x raw sendMessage ping-pong');
    console.log('case'.padEnd(36), 'raw/s'.padStart(10), 'rpc/s'.padStart(10), 'ratio'.padStart(7));
    for (const row of rows) {
      console.log(
        row.name.padEnd(36),
        Math.round(Math.max(...row.raw))
          .toString()
          .padStart(10),
        Math.round(Math.max(...row.rpc))
          .toString()
          .padStart(10),
        `${median(row.ratio).toFixed(2)}x`.padStart(7),
      );
    }
  } finally {
    await rpc?.close();
    await rawSocket?.disconnect();
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
