// @ipcez/ack (issue #5): acknowledged 64 B sends over a real Unix socket to a recipient in a
// second process, one at a time (latency) and 32 in flight (throughput), beside a raw
// baseline measured in the same run:
//   - raw: a hand-written frame (4-byte big-endian length + payload) written to the socket,
//     sem_post("data ready") and a koffi async sem_clockwait("data acked") round trip; its
//     recipient hand-parses frames and does sem_trywait(ready) + sem_post(acked) through koffi.
//   - acked: withAcks(createStreamConnection(socket)).send(); the recipient is
//     withAcks(createStreamConnection(socket)) with a message handler.
// Goal: acked p50/p99 latency <= 1.25x the raw baseline's.
//
// The raw and acked rounds alternate (ROUNDS times) so a busy machine affects both alike.
// Linux only (POSIX semaphores); elsewhere it prints why it is skipped.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { deriveSignalNames, openSignalPair, withAcks } from '@ipcez/ack';
import { createStreamConnection } from '@ipcez/core/stream';
import { pick } from '../options.js';

const RECIPIENT_FLAG = '--ack-bench-recipient';
const PAYLOAD_BYTES = 64;
const WARMUP = pick(300, 30);
const PER_ROUND = pick(2000, 100);
const ROUNDS = pick(3, 1);
const IN_FLIGHT = 32;

// ---- raw koffi semaphores (the baseline's own binding, independent of @ipcez/ack) ----------

interface RawSem {
  post(): void;
  tryTake(): boolean;
  wait(ms: number): Promise<boolean>;
  close(): void;
}

function rawSemaphores(): (name: string) => RawSem {
  const libc = koffi.load('libc.so.6');
  const sem = koffi.pointer(koffi.opaque());
  const timespec = koffi.struct({ tv_sec: 'long', tv_nsec: 'long' });
  const semOpen = libc.func('sem_open', sem, ['str', 'int', '...']);
  const semPost = libc.func('sem_post', 'int', [sem]);
  const semTrywait = libc.func('sem_trywait', 'int', [sem]);
  const semClose = libc.func('sem_close', 'int', [sem]);
  const semClockwait = libc.func('sem_clockwait', 'int', [sem, 'int', koffi.pointer(timespec)]);
  const clockGettime = libc.func('clock_gettime', 'int', ['int', koffi.out(koffi.pointer(timespec))]);
  return (name) => {
    const handle: unknown = semOpen(name, 0o100, 'uint32', 0o600, 'uint32', 0);
    if (handle === null) throw new Error(`sem_open ${name}: errno ${koffi.errno()}`);
    return {
      post: () => {
        semPost(handle);
      },
      tryTake: () => semTrywait(handle) === 0,
      wait: (ms) =>
        new Promise((resolve, reject) => {
          const now: { tv_sec?: number; tv_nsec?: number } = {};
          clockGettime(1, now);
          const nanos = (now.tv_nsec ?? 0) + ms * 1e6;
          const deadline = { tv_sec: (now.tv_sec ?? 0) + Math.floor(nanos / 1e9), tv_nsec: nanos % 1e9 };
          semClockwait.async(handle, 1, deadline, (error: unknown, rc: number) => {
            if (error !== null && error !== undefined) reject(new Error('sem_clockwait failed', { cause: error }));
            else resolve(rc === 0);
          });
        }),
      close: () => {
        semClose(handle);
      },
    };
  };
}

// ---- recipient process --------------------------------------------------------------------

async function recipient(mode: string, endpoint: string): Promise<void> {
  const names = deriveSignalNames(endpoint, 'linux');
  let server: net.Server;
  if (mode === 'raw') {
    const open = rawSemaphores();
    const ready = open(names.ready);
    const acked = open(names.acked);
    server = net.createServer((socket) => {
      let pending: Buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= 4) {
          const length = pending.readUInt32BE(0);
          if (pending.length < 4 + length) break;
          pending = pending.subarray(4 + length);
          ready.tryTake();
          acked.post();
        }
      });
    });
  } else {
    const pair = await openSignalPair(endpoint);
    server = net.createServer((socket) => {
      const connection = withAcks(createStreamConnection(socket, { transport: 'unix', endpoint }), pair);
      connection.messageHandler(() => undefined);
    });
  }
  server.listen(endpoint);
  await once(server, 'listening');
  process.stdout.write('ready\n');
  // Runs until the parent closes stdin.
  await once(createInterface({ input: process.stdin }), 'close');
  process.exit(0);
}

// ---- sender (the benchmark) ---------------------------------------------------------------

function frame(payload: Uint8Array): Buffer {
  const bytes = Buffer.allocUnsafe(4 + payload.length);
  bytes.writeUInt32BE(payload.length, 0);
  bytes.set(payload, 4);
  return bytes;
}

async function startRecipient(mode: 'raw' | 'acked', endpoint: string): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), RECIPIENT_FLAG, mode, endpoint], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  if (line !== 'ready') throw new Error(`recipient said ${line}`);
  return async () => {
    child.stdin.end();
    if (child.exitCode === null) await once(child, 'exit');
  };
}

interface Sample {
  readonly latencies: number[];
  elapsedMs: number;
  count: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export async function run(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log(`skipped: POSIX named semaphores are benchmarked on linux only (this is ${process.platform})`);
    return;
  }
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ipcez-')));
  const rawEndpoint = join(dir, 'raw.sock');
  const ackedEndpoint = join(dir, 'acked.sock');
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    // Both pairs start fresh, as a listener would start them.
    const rawPair = await openSignalPair(rawEndpoint, { role: 'listener' });
    const ackedPair = await openSignalPair(ackedEndpoint, { role: 'listener' });
    cleanups.push(async () => {
      rawPair.unlink();
      ackedPair.unlink();
      await Promise.all([rawPair.close(), ackedPair.close()]);
    });
    cleanups.push(await startRecipient('raw', rawEndpoint));
    cleanups.push(await startRecipient('acked', ackedEndpoint));

    // Raw sender.
    const open = rawSemaphores();
    const rawReady = open(rawPair.names.ready);
    const rawAcked = open(rawPair.names.acked);
    cleanups.push(() => {
      rawReady.close();
      rawAcked.close();
    });
    const rawSocket = net.connect(rawEndpoint);
    await once(rawSocket, 'connect');
    rawSocket.setNoDelay(true);
    cleanups.push(() => {
      rawSocket.destroy();
    });
    const rawSend = async (payload: Uint8Array): Promise<void> => {
      rawReady.post();
      rawSocket.write(frame(payload));
      if (!(await rawAcked.wait(5000))) throw new Error('raw ack timed out');
    };

    // Acked sender.
    const ackedSocket = net.connect(ackedEndpoint);
    await once(ackedSocket, 'connect');
    const clientPair = await openSignalPair(ackedEndpoint);
    const acked = withAcks(
      createStreamConnection(ackedSocket, { transport: 'unix', endpoint: ackedEndpoint }),
      clientPair,
    );
    cleanups.push(async () => {
      await acked.close();
      await clientPair.close();
    });
    const ackedSend = (payload: Uint8Array): Promise<void> => acked.send(payload);

    const payload = new Uint8Array(PAYLOAD_BYTES).fill(7);
    const sequential = async (send: (p: Uint8Array) => Promise<void>, n: number, into?: Sample): Promise<void> => {
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await send(payload);
        into?.latencies.push(performance.now() - t0);
      }
      if (into) {
        into.elapsedMs += performance.now() - start;
        into.count += n;
      }
    };
    const pipelined = async (send: (p: Uint8Array) => Promise<void>, n: number, into: Sample): Promise<void> => {
      const start = performance.now();
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < n) {
          next++;
          await send(payload);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      into.elapsedMs += performance.now() - start;
      into.count += n;
    };

    await sequential(rawSend, WARMUP);
    await sequential(ackedSend, WARMUP);
    const raw: Sample = { latencies: [], elapsedMs: 0, count: 0 };
    const ack: Sample = { latencies: [], elapsedMs: 0, count: 0 };
    const ackPipelined: Sample = { latencies: [], elapsedMs: 0, count: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      await sequential(rawSend, PER_ROUND, raw);
      await sequential(ackedSend, PER_ROUND, ack);
      await pipelined(ackedSend, PER_ROUND, ackPipelined);
    }

    const rows = [
      { name: 'raw frame + sem_post/sem_clockwait (1 in flight)', sample: raw },
      { name: '@ipcez/ack withAcks send (1 in flight)', sample: ack },
      { name: `@ipcez/ack withAcks send (${IN_FLIGHT} in flight)`, sample: ackPipelined },
    ];
    const rawSorted = [...raw.latencies].sort((a, b) => a - b);
    const rawP50 = percentile(rawSorted, 50);
    const rawP99 = percentile(rawSorted, 99);
    const rawRate = (raw.count / raw.elapsedMs) * 1000;
    console.log(`${PAYLOAD_BYTES} B messages, ${ROUNDS} x ${PER_ROUND} per case, recipient in a second process`);
    console.log(
      `${'case'.padEnd(52)} ${'sends/s'.padStart(9)} ${'x raw'.padStart(6)} ${'p50 µs'.padStart(8)} ${'x raw'.padStart(6)} ${'p99 µs'.padStart(8)} ${'x raw'.padStart(6)}`,
    );
    for (const { name, sample } of rows) {
      const sorted = [...sample.latencies].sort((a, b) => a - b);
      const rate = (sample.count / sample.elapsedMs) * 1000;
      const p50 = sorted.length > 0 ? percentile(sorted, 50) : Number.NaN;
      const p99 = sorted.length > 0 ? percentile(sorted, 99) : Number.NaN;
      const cell = (value: number, digits: number): string => (Number.isNaN(value) ? '-' : value.toFixed(digits));
      console.log(
        `${name.padEnd(52)} ${rate.toFixed(0).padStart(9)} ${(rate / rawRate).toFixed(2).padStart(6)} ` +
          `${cell(p50 * 1000, 1).padStart(8)} ${cell(p50 / rawP50, 2).padStart(6)} ` +
          `${cell(p99 * 1000, 1).padStart(8)} ${cell(p99 / rawP99, 2).padStart(6)}`,
      );
    }
    const ackSorted = [...ack.latencies].sort((a, b) => a - b);
    const p50Ratio = percentile(ackSorted, 50) / rawP50;
    console.log(`goal: acked p50 <= 1.25x raw: ${p50Ratio <= 1.25 ? 'met' : 'NOT met'} (${p50Ratio.toFixed(2)}x)`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === RECIPIENT_FLAG) await recipient(process.argv[3] ?? '', process.argv[4] ?? '');
