// @ipcez/ack and the libuv pool: `fs.promises.stat` latency and throughput while ack waits are
// outstanding on 8 endpoints, beside the same measurement with no wait outstanding, in the same
// run (rounds interleaved). The libuv pool (4 threads unless UV_THREADPOOL_SIZE says otherwise)
// also serves fs, dns, crypto and zlib: ack waits keep at most one native wait in flight for the
// whole process, so with 8 endpoints waiting the rest of the process keeps the other threads.
// Before that rule, each waiting endpoint held a pool thread in 100 ms slices: with 4 endpoints
// waiting, stat p90 went from about 0.02 ms to 100 ms.
//
// Linux and Windows only (named signals); elsewhere it prints why it is skipped.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSignalPair } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';
import { pick } from '../options.js';

const ENDPOINTS = 8;
const SEQUENTIAL = pick(2000, 200);
const PARALLEL_BATCHES = pick(200, 20);
const PARALLEL = 8;
const ROUNDS = pick(3, 1);

interface Figures {
  readonly p50: number;
  readonly p90: number;
  /** Stats per second with PARALLEL in flight. */
  readonly throughput: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

async function measure(file: string): Promise<Figures> {
  const times: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = performance.now();
    await stat(file);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const start = performance.now();
  for (let i = 0; i < PARALLEL_BATCHES; i++) {
    await Promise.all(Array.from({ length: PARALLEL }, () => stat(file)));
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    p50: percentile(times, 0.5),
    p90: percentile(times, 0.9),
    throughput: (PARALLEL_BATCHES * PARALLEL) / seconds,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export async function run(): Promise<void> {
  if (process.platform !== 'linux' && process.platform !== 'win32') {
    console.log(`skipped: named signals are only implemented on linux and win32, not ${process.platform}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ipcez-bench-pool-'));
  const file = join(dir, 'probe');
  writeFileSync(file, 'x');
  const pairs: SignalPair[] = [];
  try {
    for (let i = 0; i < ENDPOINTS; i++) {
      const endpoint = process.platform === 'win32' ? `ipcez-bench-pool-${process.pid}-${i}` : join(dir, `e${i}.sock`);
      pairs.push(await openSignalPair(endpoint, { role: 'listener' }));
    }
    const idle: Figures[] = [];
    const waiting: Figures[] = [];
    await measure(file); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      idle.push(await measure(file));
      // Every endpoint has a send waiting for its ack (none will come); the waits are released
      // (rejected) by aborting them after the measurement.
      const stop = new AbortController();
      const waits = pairs.map((pair) => pair.waitAcked(60_000, stop.signal).catch(() => undefined));
      waiting.push(await measure(file));
      stop.abort();
      await Promise.all(waits);
    }
    const row = (label: string, pick: (f: Figures) => number, unit: string, digits: number): void => {
      const base = median(idle.map(pick));
      const loaded = median(waiting.map(pick));
      console.log(
        `${label.padEnd(28)} idle ${base.toFixed(digits).padStart(9)} ${unit}   ${ENDPOINTS} endpoints waiting ${loaded
          .toFixed(digits)
          .padStart(9)} ${unit}   ratio ${(loaded / base).toFixed(2)}x`,
      );
    };
    console.log(
      `fs.promises.stat, ${ROUNDS} interleaved rounds, medians (UV_THREADPOOL_SIZE=${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'})`,
    );
    row('latency p50', (f) => f.p50, 'ms', 4);
    row('latency p90', (f) => f.p90, 'ms', 4);
    row(`throughput (${PARALLEL} in flight)`, (f) => f.throughput, '/s', 0);
    console.log('goal: latency ratios near 1x (before: p90 0.02 ms -> 100 ms with 4 endpoints waiting)');
  } finally {
    for (const pair of pairs) {
      pair.unlink();
      await pair.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
