// @ipcez/transport-ws against raw `ws` (issue #4), measured in the same run, two processes
// each (this process sends, a child process receives):
//   - one-way throughput of 64 B, 64 KiB and 1 MiB binary messages, the sender keeping up to
//     1 MiB buffered (raw: ws.send, waiting on a send callback whenever ws.bufferedAmount
//     reaches 1 MiB; ipcez: connection.send, awaiting whenever bufferedAmount reaches its
//     1 MiB high-water mark);
//   - 64 B ping-pong latency, p50 and p99, against a raw ws echo, one raw and one ipcez round
//     trip in each iteration of one loop, alternating which goes first.
// Both sides run with permessage-deflate off. Goals: ipcez >= 0.9x raw throughput and
// <= 1.1x raw latency. Each figure is the best of ROUNDS runs (alternating raw and ipcez),
// so a busy machine inflates figures less than it would a single pass.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Connection } from '@ipcez/core';
import { connectWs } from '@ipcez/transport-ws';
import WebSocket from 'ws';
import { pick } from '../options.js';

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROUNDS = pick(2, 1);
const HIGH_WATER_MARK = 1024 * 1024;
const SIZES = [64, 64 * 1024, 1024 * 1024];
const COUNTS: Record<number, number> = pick(
  { 64: 200_000, [64 * 1024]: 4096, [1024 * 1024]: 256 },
  { 64: 10_000, [64 * 1024]: 256, [1024 * 1024]: 16 },
);
const PING_PONGS = pick(10_000, 300);
const WARMUP_PING_PONGS = pick(2000, 100);

/** Raw ws server: `sink N` counts N messages then answers one byte; `echo` echoes. Prints its port. */
const RAW_SERVER = `
import { WebSocketServer } from 'ws';
const [mode, count] = process.argv.slice(1);
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
wss.on('connection', (ws) => {
  let received = 0;
  const expected = Number(count);
  ws.on('message', mode === 'sink'
    ? () => { if (++received === expected) ws.send(Uint8Array.of(1)); }
    : (data) => ws.send(data));
  ws.on('close', () => wss.close());
});
wss.on('listening', () => process.stdout.write('ready ' + wss.address().port + '\\n'));
`;

/** ipcez server: the same two modes through @ipcez/transport-ws. */
const IPCEZ_SERVER = `
import { listenWs } from '@ipcez/transport-ws';
const [mode, count] = process.argv.slice(1);
const listener = await listenWs('ws://127.0.0.1:0/bench');
listener.connectionHandler((connection) => {
  let received = 0;
  const expected = Number(count);
  connection.messageHandler(mode === 'sink'
    ? (r) => { if (r.ok && ++received === expected) void connection.send(Uint8Array.of(1)); if (!r.ok) void listener.close(); }
    : (r) => { if (r.ok) connection.send(r.message).catch(() => {}); else void listener.close(); });
});
process.stdout.write('ready ' + listener.endpoint + '\\n');
`;

type Child = ChildProcessByStdio<null, Readable, null>;

async function startServer(script: string, mode: string, count: number): Promise<{ child: Child; address: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, mode, String(count)], {
    cwd: benchDir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const address = chunk.toString().trim().split(' ')[1]!;
  return { child, address: address.startsWith('ws://') ? address : `ws://127.0.0.1:${address}/bench` };
}

async function stop(child: Child): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

function payload(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = i & 0xff;
  return out;
}

async function rawOpen(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
  await once(ws, 'open');
  return ws;
}

async function rawClose(ws: WebSocket): Promise<void> {
  const closed = once(ws, 'close');
  ws.terminate();
  await closed;
}

/** MB/s of payload, raw ws. */
async function rawThroughput(size: number, count: number): Promise<number> {
  const { child, address } = await startServer(RAW_SERVER, 'sink', count);
  try {
    const ws = await rawOpen(address);
    const message = payload(size);
    const done = once(ws, 'message');
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      if (ws.bufferedAmount >= HIGH_WATER_MARK) {
        await new Promise<void>((resolve, reject) => {
          ws.send(message, (error) => {
            if (error) reject(error);
            else resolve();
          });
        });
      } else {
        ws.send(message);
      }
    }
    await done;
    const ms = performance.now() - start;
    await rawClose(ws);
    return (size * count) / 1e6 / (ms / 1000);
  } finally {
    await stop(child);
  }
}

/** Resolves with the next message a connection receives (one handler, reused). */
function nextMessages(connection: Connection): () => Promise<Uint8Array> {
  let waiter: ((m: Uint8Array) => void) | undefined;
  connection.messageHandler((r) => {
    if (r.ok && waiter) {
      const w = waiter;
      waiter = undefined;
      w(r.message);
    }
  });
  return () =>
    new Promise((resolve) => {
      waiter = resolve;
    });
}

/** MB/s of payload through ipcez. */
async function ipcezThroughput(size: number, count: number): Promise<number> {
  const { child, address } = await startServer(IPCEZ_SERVER, 'sink', count);
  try {
    const connection = await connectWs(address, { highWaterMark: HIGH_WATER_MARK, keepaliveIntervalMs: 0 });
    const next = nextMessages(connection);
    const message = payload(size);
    const done = next();
    const start = performance.now();
    let last: Promise<void> = Promise.resolve();
    for (let i = 0; i < count; i++) {
      last = connection.send(message);
      if (connection.bufferedAmount >= HIGH_WATER_MARK) await last;
    }
    await last;
    await done;
    const ms = performance.now() - start;
    connection.destroy();
    return (size * count) / 1e6 / (ms / 1000);
  } finally {
    await stop(child);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Round-trip µs of 64 B messages, sorted, raw ws echo and ipcez echo interleaved one round
 * trip each, so a busy machine slows both alike. Like the raw `ws.send`, the ipcez send is not
 * awaited: the figure is the round trip, not the write confirmation.
 */
async function pingPong(): Promise<{ raw: number[]; ipcez: number[] }> {
  const rawServer = await startServer(RAW_SERVER, 'echo', 0);
  const ipcezServer = await startServer(IPCEZ_SERVER, 'echo', 0);
  try {
    const ws = await rawOpen(rawServer.address);
    let wake: (() => void) | undefined;
    ws.on('message', () => {
      wake?.();
    });
    const connection = await connectWs(ipcezServer.address, { keepaliveIntervalMs: 0 });
    const next = nextMessages(connection);
    const message = payload(64);
    const raw: number[] = [];
    const ipcez: number[] = [];
    const rawRoundTrip = async (): Promise<number> => {
      const echoed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const start = performance.now();
      ws.send(message);
      await echoed;
      return (performance.now() - start) * 1000;
    };
    const ipcezRoundTrip = async (): Promise<number> => {
      const received = next();
      const start = performance.now();
      void connection.send(message);
      await received;
      return (performance.now() - start) * 1000;
    };
    for (let i = 0; i < WARMUP_PING_PONGS + PING_PONGS; i++) {
      // Alternate who goes first, so neither always runs right after the other.
      const [first, second] = i % 2 === 0 ? [rawRoundTrip, ipcezRoundTrip] : [ipcezRoundTrip, rawRoundTrip];
      const a = await first();
      const b = await second();
      if (i < WARMUP_PING_PONGS) continue;
      raw.push(i % 2 === 0 ? a : b);
      ipcez.push(i % 2 === 0 ? b : a);
    }
    await rawClose(ws);
    connection.destroy();
    return { raw: raw.sort((a, b) => a - b), ipcez: ipcez.sort((a, b) => a - b) };
  } finally {
    await stop(rawServer.child);
    await stop(ipcezServer.child);
  }
}

function label(size: number): string {
  return size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

async function hasBufferutil(): Promise<boolean> {
  try {
    // A variable, so TypeScript does not look for the (deliberately absent) package's types.
    const name = 'bufferutil';
    await import(name);
    return true;
  } catch {
    return false;
  }
}

/** Runs the ws cases and prints figures with ratios against raw ws. */
export async function run(): Promise<void> {
  console.log(`bufferutil installed: ${(await hasBufferutil()) ? 'yes' : 'no'} (ws uses it for masking when present)`);
  const rows: string[][] = [['case', 'raw ws', 'ipcez ws', 'ratio (goal)']];
  for (const size of SIZES) {
    const count = COUNTS[size]!;
    let raw = 0;
    let ipcez = 0;
    for (let round = 0; round < ROUNDS; round++) {
      raw = Math.max(raw, await rawThroughput(size, count));
      ipcez = Math.max(ipcez, await ipcezThroughput(size, count));
    }
    rows.push([
      `throughput ${label(size)} x ${count}`,
      `${raw.toFixed(1)} MB/s`,
      `${ipcez.toFixed(1)} MB/s`,
      `${(ipcez / raw).toFixed(2)}x (>= 0.9x)`,
    ]);
  }
  let raw: [number, number] = [Infinity, Infinity];
  let ipcez: [number, number] = [Infinity, Infinity];
  for (let round = 0; round < ROUNDS; round++) {
    const times = await pingPong();
    raw = [Math.min(raw[0], percentile(times.raw, 50)), Math.min(raw[1], percentile(times.raw, 99))];
    ipcez = [Math.min(ipcez[0], percentile(times.ipcez, 50)), Math.min(ipcez[1], percentile(times.ipcez, 99))];
  }
  rows.push([
    `ping-pong 64 B p50`,
    `${raw[0].toFixed(1)} us`,
    `${ipcez[0].toFixed(1)} us`,
    `${(ipcez[0] / raw[0]).toFixed(2)}x (<= 1.1x)`,
  ]);
  rows.push([
    `ping-pong 64 B p99`,
    `${raw[1].toFixed(1)} us`,
    `${ipcez[1].toFixed(1)} us`,
    `${(ipcez[1] / raw[1]).toFixed(2)}x (<= 1.1x)`,
  ]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
}
