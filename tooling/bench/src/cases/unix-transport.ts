// @ipcez/transport-unix against raw node:net with hand-written framing (issue #3), measured in
// the same run, two processes each (this process sends, a child process receives):
//   - one-way throughput of 64 B, 64 KiB and 4 MiB messages with many sends in flight;
//     baselines: raw one-write-per-message (a prebuilt frame, drain respected), and for 64 B
//     raw writes batched into 64 KiB buffers;
//   - 64 B ping-pong latency, p50 and p99, against a raw echo with the same framing.
// Goals: 64 B >= 0.8x raw batched; 4 MiB >= 1.0x raw one-write-per-message; ping-pong p50
// <= 1.15x raw. The machine this runs on is shared, so: every throughput run warms up first;
// the figures are the best of ROUNDS runs; each ratio is the median of per-round ratios (a
// round runs raw and ipcez back to back, alternating who goes first); ping-pong alternates
// raw and ipcez round trips against two live echo servers.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Connection } from '@ipcez/core';
import { connectUnix } from '@ipcez/transport-unix';
import { pick } from '../options.js';

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROUNDS = pick(7, 1);
/** Messages per timed phase (each run also sends as many, untimed, to warm up). */
const COUNTS = pick(
  { 64: 300_000, [64 * 1024]: 1536, [4 * 1024 * 1024]: 24 },
  { 64: 20_000, [64 * 1024]: 128, [4 * 1024 * 1024]: 4 },
) as Record<number, number>;
const PING_PONGS = pick(10_000, 300);
const PING_PONG_ROUNDS = pick(2, 1);

/**
 * Raw node:net server, hand-written framing (the compiled frame-parser.ts; the script runs with
 * the package directory as its cwd): `sink N` answers one byte after every N frames; `echo`
 * echoes frames.
 */
const RAW_SERVER = `
import net from 'node:net';
import { frameParser } from './dist/libraries/frame-parser.js';
const [file, mode, count] = process.argv.slice(1);
const server = net.createServer((socket) => {
  let received = 0;
  const expected = Number(count);
  socket.on('data', frameParser(mode === 'sink'
    ? () => { if (++received % expected === 0) socket.write(Buffer.of(1)); }
    : (payload) => { const head = Buffer.alloc(4); head.writeUInt32BE(payload.length); socket.write(Buffer.concat([head, payload])); }));
  socket.on('error', () => {});
  socket.on('close', () => { server.close(); });
});
server.listen(file, () => process.stdout.write('ready\\n'));
`;

/** ipcez server: the same two modes through @ipcez/transport-unix (the answer is a message). */
const IPCEZ_SERVER = `
import { listenUnix } from '@ipcez/transport-unix';
const [file, mode, count] = process.argv.slice(1);
const listener = await listenUnix(file);
listener.connectionHandler((connection) => {
  let received = 0;
  const expected = Number(count);
  connection.messageHandler(mode === 'sink'
    ? (r) => { if (r.ok && ++received % expected === 0) void connection.send(Uint8Array.of(1)); if (!r.ok) void listener.close(); }
    : (r) => { if (r.ok) connection.send(r.message).catch(() => {}); else void listener.close(); });
});
process.stdout.write('ready\\n');
`;

type Child = ChildProcessByStdio<null, Readable, null>;

async function startServer(script: string, file: string, mode: string, count: number): Promise<Child> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, file, mode, String(count)], {
    cwd: benchDir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(child.stdout, 'data');
  return child;
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

function frameOf(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + message.length);
  out.writeUInt32BE(message.length, 0);
  out.set(message, 4);
  return out;
}

async function rawConnect(file: string): Promise<net.Socket> {
  const socket = net.connect(file);
  await once(socket, 'connect');
  return socket;
}

/**
 * Runs a throughput phase twice, `count` messages each: the first warms both processes up
 * (JIT, allocator, socket buffers) and is not timed; the second is. `phase` sends `count`
 * messages and resolves when the receiver has confirmed them all. Returns MB/s of payload.
 */
async function warmThenTime(size: number, count: number, phase: () => Promise<void>): Promise<number> {
  await phase();
  const start = performance.now();
  await phase();
  const ms = performance.now() - start;
  return (size * count) / 1e6 / (ms / 1000);
}

/** MB/s of payload, raw, one write of a prebuilt frame per message, drain respected. */
async function rawPerMessage(file: string, size: number, count: number): Promise<number> {
  const child = await startServer(RAW_SERVER, file, 'sink', count);
  try {
    const socket = await rawConnect(file);
    const frame = frameOf(payload(size));
    const result = await warmThenTime(size, count, async () => {
      const done = once(socket, 'data');
      for (let i = 0; i < count; i++) {
        if (!socket.write(frame)) await once(socket, 'drain');
      }
      await done;
    });
    socket.destroy();
    return result;
  } finally {
    await stop(child);
  }
}

/** MB/s of payload, raw, frames packed into 64 KiB buffers (one copy each), drain respected. */
async function rawBatched(file: string, size: number, count: number): Promise<number> {
  const child = await startServer(RAW_SERVER, file, 'sink', count);
  try {
    const socket = await rawConnect(file);
    const message = payload(size);
    const result = await warmThenTime(size, count, async () => {
      const done = once(socket, 'data');
      let batch = Buffer.allocUnsafe(64 * 1024);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        if (offset + 4 + size > batch.length) {
          const full = batch.subarray(0, offset);
          batch = Buffer.allocUnsafe(64 * 1024);
          offset = 0;
          if (!socket.write(full)) await once(socket, 'drain');
        }
        batch.writeUInt32BE(size, offset);
        batch.set(message, offset + 4);
        offset += 4 + size;
      }
      socket.write(batch.subarray(0, offset));
      await done;
    });
    socket.destroy();
    return result;
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

/** MB/s of payload through ipcez, every send in flight up to the high-water mark. */
async function ipcezThroughput(file: string, size: number, count: number): Promise<number> {
  const child = await startServer(IPCEZ_SERVER, file, 'sink', count);
  try {
    // Default options: up to highWaterMark (1 MiB) of sends in flight.
    const connection = await connectUnix(file);
    const next = nextMessages(connection);
    const message = payload(size);
    const result = await warmThenTime(size, count, async () => {
      const done = next();
      // Sends are not awaited, except when the queue reaches its high-water mark: the ipcez
      // analogue of write() returning false and waiting for 'drain'.
      let last: Promise<void> = Promise.resolve();
      for (let i = 0; i < count; i++) {
        last = connection.send(message);
        if (connection.bufferedAmount >= connection.highWaterMark) await last;
      }
      await last;
      await done;
    });
    await connection.close();
    return result;
  } finally {
    await stop(child);
  }
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/**
 * Round-trip times (µs) of 64 B messages, raw and ipcez, measured alternately (one raw round
 * trip, one ipcez round trip, ...) against two echo servers running at the same time, so both
 * see the same machine load, CPU placement and warm-up. The first WARM_UP of each are dropped.
 */
async function pingPong(rawFile: string, ipcezFile: string): Promise<{ raw: number[]; ipcez: number[] }> {
  const WARM_UP = pick(2000, 100);
  const rawChild = await startServer(RAW_SERVER, rawFile, 'echo', 0);
  const ipcezChild = await startServer(IPCEZ_SERVER, ipcezFile, 'echo', 0);
  try {
    const socket = await rawConnect(rawFile);
    const frame = frameOf(payload(64));
    let resolveEcho: (() => void) | undefined;
    let pending = 0;
    socket.on('data', (chunk: Buffer) => {
      pending -= chunk.length; // the echo is exactly one frame of 68 bytes
      if (pending === 0) resolveEcho?.();
    });
    const connection = await connectUnix(ipcezFile);
    const next = nextMessages(connection);
    const message = payload(64);
    const raw: number[] = [];
    const ipcez: number[] = [];
    for (let i = 0; i < PING_PONGS + WARM_UP; i++) {
      const echoed = new Promise<void>((resolve) => {
        resolveEcho = resolve;
      });
      pending = frame.length;
      let start = performance.now();
      socket.write(frame);
      await echoed;
      if (i >= WARM_UP) raw.push((performance.now() - start) * 1000);

      const received = next();
      start = performance.now();
      void connection.send(message);
      await received;
      if (i >= WARM_UP) ipcez.push((performance.now() - start) * 1000);
    }
    socket.destroy();
    await connection.close();
    return { raw: raw.sort((a, b) => a - b), ipcez: ipcez.sort((a, b) => a - b) };
  } finally {
    await stop(rawChild);
    await stop(ipcezChild);
  }
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits).padStart(10);
}

/** Prints the unix transport figures beside the raw node:net baselines and their ratios. */
export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipcez-bench-'));
  let n = 0;
  const file = (): string => path.join(dir, `b${n++}.sock`);
  try {
    console.log(
      'one-way throughput, MB/s of payload (best of %d, after a warm-up), two processes; ratios are the median of ' +
        'per-round ratios (each round measures both sides back to back, so they share the machine load)',
      ROUNDS,
    );
    console.log(
      `${'size'.padEnd(8)}${'ipcez'.padStart(10)}${'raw 1/msg'.padStart(10)}${'raw 64K'.padStart(10)}` +
        `${'vs 1/msg'.padStart(10)}${'vs 64K'.padStart(10)}  goal`,
    );
    for (const size of [64, 64 * 1024, 4 * 1024 * 1024]) {
      const count = COUNTS[size]!;
      const ipcez: number[] = [];
      const perMessage: number[] = [];
      const batched: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate who goes first, so no side systematically gets the quieter moment.
        if (r % 2 === 1) ipcez.push(await ipcezThroughput(file(), size, count));
        perMessage.push(await rawPerMessage(file(), size, count));
        if (size === 64) batched.push(await rawBatched(file(), size, count));
        if (r % 2 === 0) ipcez.push(await ipcezThroughput(file(), size, count));
      }
      const vsPerMessage = median(ipcez.map((v, r) => v / perMessage[r]!));
      const vsBatched = size === 64 ? median(ipcez.map((v, r) => v / batched[r]!)) : Number.NaN;
      const label = size === 64 ? '64 B' : size === 64 * 1024 ? '64 KiB' : '4 MiB';
      const goal =
        size === 64
          ? `>= 0.80x raw 64K: ${vsBatched >= 0.8 ? 'met' : 'MISSED'}`
          : size === 4 * 1024 * 1024
            ? `>= 1.00x raw 1/msg: ${vsPerMessage >= 1 ? 'met' : 'MISSED'}`
            : '';
      console.log(
        `${label.padEnd(8)}${fmt(Math.max(...ipcez))}${fmt(Math.max(...perMessage))}` +
          (size === 64 ? fmt(Math.max(...batched)) : '-'.padStart(10)) +
          `${fmt(vsPerMessage, 2)}${size === 64 ? fmt(vsBatched, 2) : '-'.padStart(10)}  ${goal}`,
      );
    }

    let rawTimes: number[] = [];
    let ipcezTimes: number[] = [];
    for (let r = 0; r < PING_PONG_ROUNDS; r++) {
      const { raw, ipcez: ours } = await pingPong(file(), file());
      if (rawTimes.length === 0 || percentile(raw, 50) < percentile(rawTimes, 50)) rawTimes = raw;
      if (ipcezTimes.length === 0 || percentile(ours, 50) < percentile(ipcezTimes, 50)) ipcezTimes = ours;
    }
    const p50 = percentile(ipcezTimes, 50) / percentile(rawTimes, 50);
    console.log(
      `\n64 B ping-pong round trip, µs (${PING_PONGS} round trips each, alternating raw and ipcez, best of ${PING_PONG_ROUNDS})`,
    );
    console.log(`${''.padEnd(8)}${'ipcez'.padStart(10)}${'raw'.padStart(10)}${'ratio'.padStart(10)}  goal`);
    console.log(
      `${'p50'.padEnd(8)}${fmt(percentile(ipcezTimes, 50))}${fmt(percentile(rawTimes, 50))}${fmt(p50, 2)}  ` +
        `<= 1.15x raw: ${p50 <= 1.15 ? 'met' : 'MISSED'}`,
    );
    console.log(
      `${'p99'.padEnd(8)}${fmt(percentile(ipcezTimes, 99))}${fmt(percentile(rawTimes, 99))}` +
        fmt(percentile(ipcezTimes, 99) / percentile(rawTimes, 99), 2),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
